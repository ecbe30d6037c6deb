# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run against its baseline, per path class: flows that passed and now fail, p99 RTT up, throughput
down, path MTU lower. Each comparison is a check of kind ``regression``."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import percentile

PATHS = ('l2', 'l3', 'north-south')
# Chosen from the lab's run-to-run noise (benchmarks/regression_noise.py): no false alarm in 20
# clean runs, while a rate cap or a lost rule still shows.
DEFAULTS = {
    'rtt_p99_ratio': 3.0,        # p99 RTT above baseline x ratio ...
    'rtt_p99_margin_ms': 10.0,   # ... and more than this above it
    'throughput_ratio': 0.25,    # mean throughput below baseline x ratio
    'path_mtu': True,            # any path MTU lower than the baseline's
}
KIND = 'regression'


def regression_thresholds(declared, where='regressions'):
    """The topology's ``regressions`` over the defaults; one line naming the key when it is wrong."""
    declared = declared or {}
    if not isinstance(declared, dict):
        raise CloudError('%s: expected a mapping, got %r' % (where, declared))
    unknown = set(declared) - set(DEFAULTS)
    if unknown:
        raise CloudError('%s.%s: not a regression threshold (%s)' % (where, sorted(unknown)[0], ', '.join(sorted(DEFAULTS))))
    thresholds = dict(DEFAULTS, **declared)
    for key in ('rtt_p99_ratio', 'rtt_p99_margin_ms', 'throughput_ratio'):
        value = thresholds[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise CloudError('%s.%s: %r is not a number of at least 0' % (where, key, value))
    if not thresholds['throughput_ratio'] <= 1:
        raise CloudError('%s.throughput_ratio: %r is above 1; it is the share of the baseline throughput a run must '
                         'keep' % (where, thresholds['throughput_ratio']))
    if not isinstance(thresholds['path_mtu'], bool):
        raise CloudError('%s.path_mtu: %r is not true or false' % (where, thresholds['path_mtu']))
    return thresholds


def _values(samples, metric, path):
    return sorted(float(s['value']) for s in samples or []
                  if s['metric'] == metric and (s.get('labels') or {}).get('path') == path)


def _check(name, expected, observed, reason, labels, explanation=None):
    check = {'name': name, 'kind': KIND, 'expected': expected, 'observed': observed,
             'verdict': 'fail' if reason else 'pass', 'reason': reason or '', 'labels': labels}
    if explanation:
        check['explanation'] = explanation
    return check


def regressions(report, baseline, thresholds=None):
    """Regression checks of ``report`` against ``baseline`` (the store's record of an earlier run:
    run_id, finished, checks, samples), or [] without one."""
    if not baseline:
        return []
    thresholds = regression_thresholds(thresholds)
    since = 'run %s of %s' % (baseline['run_id'], baseline.get('finished') or baseline.get('started') or 'unknown time')
    checks = []
    for path in PATHS:
        labels = {'path': path, 'baseline': baseline['run_id']}
        checks += _reachability(report, baseline, path, labels, since)
        checks += _latency(report, baseline, path, labels, thresholds, since)
        checks += _throughput(report, baseline, path, labels, thresholds, since)
        if thresholds['path_mtu']:
            checks += _path_mtu(report, baseline, path, labels, since)
    return checks


def _reachability(report, baseline, path, labels, since):
    before = {c['name']: c for c in baseline.get('checks') or []
              if c['kind'] in ('reachability', 'floating_ip') and (c.get('labels') or {}).get('path') == path}
    now = {c['name']: c for c in report['checks']
           if c['kind'] in ('reachability', 'floating_ip') and (c.get('labels') or {}).get('path') == path}
    compared = sorted(name for name in now if before.get(name, {}).get('verdict') == 'pass')
    if not compared:
        return []
    lost = [now[name] for name in compared if now[name]['verdict'] == 'fail']
    reason = '; '.join('%s passed in %s and fails now: %s' % (c['name'], since, c['reason']) for c in lost)
    explanation = {'checks': [c['name'] for c in lost],
                   'evidence': [e for c in lost for e in (c.get('explanation') or {}).get('evidence') or []]}
    return [_check('regression reach %s' % path, '%d flows that passed still pass' % len(compared),
                   '%d fail' % len(lost), reason, labels, explanation if lost else None)]


def _latency(report, baseline, path, labels, thresholds, since):
    now, before = _values(report.get('samples'), 'rtt_ms', path), _values(baseline.get('samples'), 'rtt_ms', path)
    if not now or not before:
        return []
    current, base = round(percentile(now, 0.99), 4), round(percentile(before, 0.99), 4)
    limit = max(base * thresholds['rtt_p99_ratio'], base + thresholds['rtt_p99_margin_ms'])
    reason = None
    if current > base * thresholds['rtt_p99_ratio'] and current - base > thresholds['rtt_p99_margin_ms']:
        reason = 'p99 RTT on %s paths is %g ms, %g ms in %s: more than %g x and %g ms above it' % (
            path, current, base, since, thresholds['rtt_p99_ratio'], thresholds['rtt_p99_margin_ms'])
    return [_check('regression rtt_ms p99 %s' % path, '<= %g ms' % round(limit, 4), current, reason,
                   dict(labels, metric='rtt_ms', baseline_value=base))]


def _throughput(report, baseline, path, labels, thresholds, since):
    checks = []
    for metric in ('tcp_gbps', 'udp_gbps'):
        now, before = _values(report.get('samples'), metric, path), _values(baseline.get('samples'), metric, path)
        if not now or not before:
            continue
        current, base = round(sum(now) / len(now), 4), round(sum(before) / len(before), 4)
        floor = base * thresholds['throughput_ratio']
        reason = None
        if current < floor:
            reason = '%s throughput on %s paths is %g Gbit/s, %g Gbit/s in %s: below %g x of it' % (
                metric.split('_', maxsplit=1)[0].upper(), path, current, base, since, thresholds['throughput_ratio'])
        checks.append(_check('regression %s %s' % (metric, path), '>= %g Gbit/s' % round(floor, 4), current, reason,
                             dict(labels, metric=metric, baseline_value=base)))
    return checks


def _pair_mtus(samples, path):
    return {(s['labels'].get('src'), s['labels'].get('dst')): s['value'] for s in samples or []
            if s['metric'] == 'path_mtu' and (s.get('labels') or {}).get('path') == path}


def _path_mtu(report, baseline, path, labels, since):
    now, before = _pair_mtus(report.get('samples'), path), _pair_mtus(baseline.get('samples'), path)
    pairs = sorted(set(now) & set(before))
    if not pairs:
        return []
    lower = [(pair, now[pair], before[pair]) for pair in pairs if now[pair] < before[pair]]
    reason = '; '.join('%s->%s is %d, %d in %s' % (src, dst, mtu, was, since) for (src, dst), mtu, was in lower)
    return [_check('regression path_mtu %s' % path, 'no path MTU lower than in the baseline',
                   '%d of %d lower' % (len(lower), len(pairs)), reason, dict(labels, metric='path_mtu'))]
