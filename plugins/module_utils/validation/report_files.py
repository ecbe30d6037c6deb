# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a report from a validation_report task's options and write its files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile

from ansible.module_utils.ansible_release import __version__ as ansible_version

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.configuration import Configuration
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.history import (
    changes_since, topology_key, trend_point,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.html_report import render_html
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.junit import render_junit
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.metrics import (
    grouping_of, push_metrics, render_prometheus_text, write_metrics_file,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.regressions import (
    regression_thresholds, regressions,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report import build_report, summarize_checks
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.results_store import StoreError, open_store

FILE_NAMES = {'json': 'report.json', 'junit': 'junit.xml', 'html': 'report.html'}
RENDERERS = {
    'json': lambda report: json.dumps(report, indent=2, sort_keys=False) + '\n',
    'junit': render_junit,
    'html': render_html,
}
PLAN_KEYS = ('flows', 'floating_ips', 'security_group_changes')
SERVER_KEYS = ('name', 'status', 'networks', 'private_ip', 'public_ip', 'security_groups')


def _run_section(run):
    for key in ('id', 'cloud'):
        if not run.get(key):
            raise CloudError('run.%s: required' % key)
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    section = {'id': str(run['id']), 'cloud': str(run['cloud']), 'started': run.get('started') or now,
               'finished': run.get('finished') or now, 'data_plane': bool(run.get('data_plane', True)),
               'data_plane_reason': run.get('data_plane_reason') or None, 'access': run.get('access') or None,
               'topology': run.get('topology') or {},
               'servers': [{key: server.get(key) for key in SERVER_KEYS} for server in run.get('servers') or []]}
    for server in section['servers']:
        server['networks'] = [nic['network'] if isinstance(nic, dict) else nic for nic in server['networks'] or []]
        server['security_groups'] = list(server['security_groups'] or [])
    section['versions'] = dict({'ansible_core': ansible_version, 'python': platform.python_version()},
                               **(run.get('versions') or {}))
    section['topology_key'] = topology_key(section['topology'])
    return section


def _atomic_write(path, text):
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.%s.' % os.path.basename(path))
    with os.fdopen(handle, 'w', encoding='utf-8') as stream:
        stream.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def _configuration(params, run):
    """The cloud's configuration of the run, to explain verdicts with, or None."""
    if params.get('configuration') is None:
        return None
    return Configuration(params['configuration'], outside_address=params.get('outside_address'),
                         groupless_open=params.get('groupless_open', True))


def _with_history(report, params, write):
    """Compare ``report`` with its baseline in the store (regression checks, trend points, what
    changed) and record it there when ``write``. Returns the store's complaint, or None: the
    report itself is written either way."""
    run = report['run']
    try:
        thresholds = regression_thresholds((run['topology'] or {}).get('regressions'), 'topology.regressions')
        with open_store(params['store']) as store:
            baseline = store.baseline(run['topology_key'], run['cloud'], params.get('baseline') or 'last-pass')
            recent = store.recent_runs(run['topology_key'], run['cloud'], params.get('trend_runs') or 20)
            report['checks'] += regressions(report, baseline, thresholds)
            report['summary'] = summarize_checks(report['checks'])
            report['baseline'] = {k: baseline[k] for k in ('run_id', 'finished', 'verdict')} if baseline else None
            report['history'] = {'runs': [trend_point(r) for r in recent] + [trend_point(report)],
                                 'changes': changes_since(baseline, report)}
            if write:
                store.record_run(report)
    except StoreError as exc:
        return str(exc)
    return None


def _export_metrics(report, params):
    """The run's metrics to a node_exporter textfile and a Pushgateway; returns what went wrong, or None."""
    text = render_prometheus_text(report)
    try:
        if params.get('metrics_file'):
            write_metrics_file(params['metrics_file'], text)
        if params.get('pushgateway_url'):
            push_metrics(params['pushgateway_url'], text, grouping=grouping_of(report))
    except CloudError as exc:
        return str(exc)
    return None


def write_report(params, write=True):
    """(report, {format: path}, problem); files are written only when ``write``. ``problem`` is the
    one line of a store or metrics failure that happened after the report itself was made."""
    plan = params['plan']
    missing = [k for k in PLAN_KEYS if k not in plan]
    if missing:
        raise CloudError('plan.%s: required; pass the validation_plan filter\'s result' % missing[0])
    if len(params['loss_band']) != 2 or not 0 <= params['loss_band'][0] <= params['loss_band'][1] <= 100:
        raise CloudError('loss_band: expected [low, high] percent with low <= high, got %r' % (params['loss_band'],))
    run = _run_section(params['run'])
    evidence = 'configuration' if not run['data_plane'] and params.get('configuration') is not None else 'packets'
    run['evidence'] = evidence
    report = build_report(run, plan, probes=params['probes'],
                          throughput=params['throughput'], floating_ips=params['floating_ips'],
                          security_group_changes=params['security_group_changes'], sla=params['sla'],
                          loss_band=params['loss_band'], kinds=tuple(params['checks']),
                          unreachable=params.get('unreachable'), configuration=_configuration(params, run),
                          evidence=evidence)
    problem = _with_history(report, params, write) if params.get('store') else None
    dest = params['dest']
    files = {fmt: os.path.join(dest, FILE_NAMES[fmt]) for fmt in params['formats']}
    if write:
        try:
            os.makedirs(dest, exist_ok=True)
            for fmt, path in files.items():
                _atomic_write(path, RENDERERS[fmt](report))
        except OSError as exc:
            raise CloudError('dest: cannot write the report into %s: %s' % (dest, exc.strerror or exc))
        problem = problem or _export_metrics(report, params)
    return report, files, problem
