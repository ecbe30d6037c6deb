# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A validation report as Prometheus metrics: OpenMetrics or text-format exposition, a textfile
collector file, a push to a Pushgateway.

node_exporter's textfile collector and the Pushgateway both read the Prometheus text format 0.0.4
(prometheus/common's expfmt.TextParser), so the file and the push carry that format; the
OpenMetrics rendering (``# UNIT``, ``# EOF``) is for consumers that ask for OpenMetrics.
Every family is a gauge without timestamps: both readers reject client-side timestamps.
"""

from __future__ import annotations

import base64
import datetime
import http.client
import math
import random
import re
import time
import urllib.error
import urllib.parse

from ansible.module_utils.urls import ConnectionError as UrlsConnectionError, open_url

from ansible_collections.cloudops.multicloud.plugins.module_utils.atomic_files import write_atomically
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, redact

PREFIX = 'cloudops_validation_'
TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
# Summary keys of report['stats'] as quantile label values: min and max are the 0 and 1 quantiles.
QUANTILES = (('min', '0'), ('p50', '0.5'), ('p90', '0.9'), ('p99', '0.99'), ('max', '1'))
LATENCY_METRICS = (('rtt_ms', 'rtt', 'ICMP round trip'), ('tcp_connect_ms', 'tcp_connect', 'TCP connect time'))
LABEL_NAME = re.compile(r'^[a-zA-Z_][a-zA-Z0-9_]*$')


class Family:
    """One metric family: a gauge with its unit, help and samples {((label, value), ...): value}."""

    def __init__(self, name, unit, help_text):
        self.name = PREFIX + name
        self.unit = unit
        self.help = help_text
        self.samples = {}

    def add(self, labels, value):
        if value is not None:
            self.samples[tuple(labels.items())] = float(value)


def topology_of(report):
    return str(report.get('run', {}).get('topology_key') or 'unnamed')


def grouping_of(report):
    """The Pushgateway grouping key of a run: a later run of the same cloud and topology replaces it."""
    run = report.get('run', {})
    return {'cloud': str(run.get('cloud') or ''), 'topology': topology_of(report)}


def _timestamp(value):
    """Unix seconds of an ISO 8601 time ('...Z' included), or None when there is none to read."""
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace('Z', '+00:00'))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _run_families(report, base):
    run = report.get('run', {})
    summary = report.get('summary', {})
    checks = report.get('checks') or []
    passed = Family('passed', None, 'Whether the validation run passed: 1 when every check passed, else 0.')
    passed.add(base, 1 if summary.get('verdict') == 'pass' else 0)
    total = Family('checks', None, 'Checks the run judged.')
    total.add(base, summary.get('checks', len(checks)))
    checks_passed = Family('checks_passed', None, 'Checks that passed.')
    checks_passed.add(base, summary.get('passed', sum(1 for c in checks if c.get('verdict') == 'pass')))
    checks_failed = Family('checks_failed', None, 'Checks that failed.')
    checks_failed.add(base, summary.get('failed', sum(1 for c in checks if c.get('verdict') == 'fail')))
    by_kind = Family('kind_checks_failed', None, 'Checks that failed, per kind of check.')
    kinds = {kind: counts.get('failed', 0) for kind, counts in (summary.get('by_kind') or {}).items()}
    for check in checks:
        kinds.setdefault(check.get('kind'), 0)
    for kind in sorted(k for k in kinds if k):
        by_kind.add(dict(base, kind=kind), kinds[kind])
    each = Family('check_passed', None, 'Whether one check passed: 1 or 0.')
    verdicts = {}
    for check in checks:
        key = (str(check.get('name')), str(check.get('kind')))
        # A name judged twice passes only if it passed both times.
        verdicts[key] = min(verdicts.get(key, 1), 1 if check.get('verdict') == 'pass' else 0)
    for (name, kind), value in sorted(verdicts.items()):
        each.add(dict(base, check=name, kind=kind), value)
    regressions = Family('regressions', None, 'Regression checks that failed.')
    regressions.add(base, sum(1 for c in checks if c.get('kind') == 'regression' and c.get('verdict') == 'fail'))
    started, finished = _timestamp(run.get('started')), _timestamp(run.get('finished'))
    start = Family('run_start_timestamp_seconds', 'seconds', 'When the run started, in Unix seconds.')
    start.add(base, started)
    finish = Family('run_finish_timestamp_seconds', 'seconds', 'When the run finished, in Unix seconds.')
    finish.add(base, finished)
    duration = Family('run_duration_seconds', 'seconds', 'How long the run took.')
    duration.add(base, finished - started if started is not None and finished is not None else None)
    return [passed, total, checks_passed, checks_failed, by_kind, each, regressions, start, finish, duration]


def _latency_families(report, base):
    families = []
    for metric, name, what in LATENCY_METRICS:
        per_path = {}
        for entry in report.get('stats') or []:
            if entry.get('metric') == metric and entry.get('count'):
                per_path.setdefault(str(entry.get('labels', {}).get('path')), []).append(entry)
        quantiles = Family(name + '_seconds', 'seconds', '%s per path class: the fastest probe (quantile 0), '
                           "the slowest pair's p50, p90 and p99, the slowest probe (1)." % what)
        mean = Family(name + '_mean_seconds', 'seconds', '%s per path class, the mean of every probe.' % what)
        count = Family(name + '_probes', None, '%s probes per path class.' % what)
        for path in sorted(per_path):
            pairs = per_path[path]
            labels = dict(base, path=path)
            for key, quantile in QUANTILES:
                values = [p[key] for p in pairs if p.get(key) is not None]
                # The worst pair's quantile is what an SLA on the class must hold for; min keeps the best.
                value = (min if key == 'min' else max)(values) if values else None
                quantiles.add(dict(labels, quantile=quantile), value / 1000.0 if value is not None else None)
            weighted = [(p['avg'], p['count']) for p in pairs if p.get('avg') is not None]
            probes = sum(n for _avg, n in weighted)
            # The mean of the pairs' means weighted by their probes: the mean over every probe.
            mean.add(labels, sum(avg * n for avg, n in weighted) / probes / 1000.0 if probes else None)
            count.add(labels, sum(p['count'] for p in pairs))
        families += [quantiles, mean, count]
    return families


def _sample_families(report, base):
    throughput = Family('throughput_bits_per_second', 'bits_per_second', 'Throughput per path class and protocol, '
                        'the mean of its measurements (as the SLA stat avg judges it).')
    mtu = Family('path_mtu_bytes', 'bytes', 'Path MTU per server pair.')
    loss = Family('udp_loss_ratio', 'ratio', 'UDP loss at the highest rate kept within the loss band, per server pair.')
    rates, mtus, losses = {}, {}, {}
    for sample in report.get('samples') or []:
        metric, value, labels = sample.get('metric'), sample.get('value'), sample.get('labels') or {}
        if value is None:
            continue
        pair = (str(labels.get('src')), str(labels.get('dst')), str(labels.get('path')))
        if metric in ('tcp_gbps', 'udp_gbps'):
            rates.setdefault((str(labels.get('path')), metric.split('_')[0]), []).append(float(value) * 1e9)
        elif metric == 'path_mtu':
            # Several probes of one pair: the path carries only the smallest.
            mtus[pair] = min(mtus.get(pair, value), value)
        elif metric == 'udp_loss_pct':
            losses[pair] = max(losses.get(pair, value), value)
    for (path, proto), values in sorted(rates.items()):
        throughput.add(dict(base, path=path, proto=proto), sum(values) / len(values))
    for (src, dst, path), value in sorted(mtus.items()):
        mtu.add(dict(base, src=src, dst=dst, path=path), value)
    for (src, dst, path), value in sorted(losses.items()):
        loss.add(dict(base, src=src, dst=dst, path=path), value / 100.0)
    return [throughput, mtu, loss]


def metric_families(report):
    """The report's metric families in a fixed order, each with its samples sorted by label values."""
    run = report.get('run', {})
    base = {'run_id': str(run.get('id') or ''), 'cloud': str(run.get('cloud') or ''), 'topology': topology_of(report)}
    families = _run_families(report, base) + _latency_families(report, base) + _sample_families(report, base)
    return [family for family in families if family.samples]


def _escape(value):
    return str(value).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')


def _number(value):
    if math.isnan(value):
        return 'NaN'
    if math.isinf(value):
        return '+Inf' if value > 0 else '-Inf'
    # 15 significant digits: every decimal the report holds, without the noise of ms -> s.
    return '%.15g' % value


def _lines(family):
    for labels, value in sorted(family.samples.items(), key=lambda item: [v for _k, v in item[0]]):
        pairs = ','.join('%s="%s"' % (name, _escape(label)) for name, label in labels)
        yield '%s{%s} %s' % (family.name, pairs, _number(value))


def render_prometheus_text(report):
    """The Prometheus text exposition format 0.0.4: what node_exporter's textfile collector and the Pushgateway read."""
    lines = []
    for family in metric_families(report):
        lines += ['# HELP %s %s' % (family.name, family.help), '# TYPE %s gauge' % family.name]
        lines += _lines(family)
    return '\n'.join(lines) + '\n'


def render_openmetrics(report):
    """OpenMetrics 1.0.0 text (application/openmetrics-text; version=1.0.0), with each family's unit and the
    closing ``# EOF``: the same samples as the text format."""
    lines = []
    for family in metric_families(report):
        lines += ['# HELP %s %s' % (family.name, family.help), '# TYPE %s gauge' % family.name]
        if family.unit:
            lines.append('# UNIT %s %s' % (family.name, family.unit))
        lines += _lines(family)
    return '\n'.join(lines + ['# EOF']) + '\n'


def write_metrics_file(path, text):
    """Write ``text`` to ``path`` at once, as node_exporter's textfile collector needs (it reads only
    ``*.prom``, so the temporary is never read)."""
    write_atomically(path, text, 'metrics_file')


def _segment(name, value):
    """One '/<name>/<value>' of a grouping key; a value with '/' or an empty one goes as base64."""
    if not LABEL_NAME.match(name) or name.startswith('__'):
        raise CloudError('grouping: %r is not a label name' % name)
    value = str(value)
    if '/' in value or not value:
        encoded = base64.urlsafe_b64encode(value.encode('utf-8')).decode('ascii').rstrip('=') or '='
        return '/%s@base64/%s' % (name, encoded)
    return '/%s/%s' % (name, urllib.parse.quote(value, safe=''))


def _without_credentials(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition('@')[2]))


def group_url(url, job='cloudops_validation', grouping=None):
    """The URL of a Pushgateway group, /metrics/job/<job>/<label>/<value>..., without credentials."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
        parts = parts._replace(scheme='')
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise CloudError('pushgateway_url: %s is not an http(s) URL' % _without_credentials(url))
    if not job:
        raise CloudError('job: required, the Pushgateway files every push under one')
    host = '[%s]' % parts.hostname if ':' in parts.hostname else parts.hostname
    path = parts.path.rstrip('/') + '/metrics' + _segment('job', job)
    path += ''.join(_segment(name, value) for name, value in sorted((grouping or {}).items()))
    return urllib.parse.urlunsplit((parts.scheme, '%s:%d' % (host, port) if port else host, path, '', ''))


def _reason(exc):
    """One line saying why a request failed, and whether sending it again may help."""
    if isinstance(exc, urllib.error.HTTPError):
        body = exc.read(500).decode('utf-8', 'replace').strip().splitlines()
        reason = 'HTTP %d %s' % (exc.code, exc.reason) + (': ' + body[0] if body else '')
        return reason, exc.code >= 500
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    reason = getattr(cause, 'strerror', None) or ''.join(str(cause).splitlines()[:1]) or type(cause).__name__
    return reason, isinstance(cause, (ConnectionError, TimeoutError))


def push_metrics(url, text, job='cloudops_validation', grouping=None, timeout=10, retries=2, delay=0.5):
    """PUT ``text`` (Prometheus text format) to the Pushgateway at ``url``, replacing the group
    ``job`` + ``grouping`` ({label: value}); basic auth from user:password in ``url``.
    A 5xx, a refused or reset connection or a timeout is retried ``retries`` times with backoff
    (a PUT may be repeated). Returns {url, status, attempts}; the url never carries credentials."""
    target = group_url(url, job, grouping)
    parts = urllib.parse.urlsplit(url)
    username = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password or '')
    attempt = 0
    while True:
        attempt += 1
        try:
            response = open_url(target, data=text.encode('utf-8'), method='PUT', timeout=timeout,
                                headers={'Content-Type': TEXT_CONTENT_TYPE}, url_username=username,
                                url_password=password, force_basic_auth=bool(username))
            with response:
                status = response.status
            if 200 <= status < 300:
                return {'url': target, 'status': status, 'attempts': attempt}
            reason, transient = 'HTTP %d %s' % (status, response.reason), False
        except (urllib.error.URLError, OSError, http.client.HTTPException, UrlsConnectionError) as exc:
            reason, transient = _reason(exc)
        if not transient or attempt > retries:
            after = ' (after %d attempts)' % attempt if attempt > 1 else ''
            message = 'pushgateway_url: cannot push to %s: %s%s' % (target, reason, after)
            raise CloudError(redact(message, [parts.password, password]))
        time.sleep(delay * 2 ** (attempt - 1) * random.uniform(0.8, 1.2))
