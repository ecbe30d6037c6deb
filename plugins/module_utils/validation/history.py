# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run among the earlier runs of its topology and cloud: which topology it is, the trend points
the report charts, and what changed since its baseline."""

from __future__ import annotations

import hashlib
import json

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import percentile

PATHS = ('l2', 'l3', 'north-south')
# What makes two runs the same topology: everything but the run id and the cloud it ran on.
NOT_THE_TOPOLOGY = ('run_id', 'cloud')


def topology_key(topology):
    """The topology's ``name`` when it has one, else a digest of its spec."""
    topology = topology or {}
    if topology.get('name'):
        return str(topology['name'])
    spec = {k: v for k, v in topology.items() if k not in NOT_THE_TOPOLOGY}
    return 'sha256:' + hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode('utf-8')).hexdigest()[:16]


def _by_path(samples, metric, reduce):
    values = {}
    for sample in samples or []:
        path = (sample.get('labels') or {}).get('path')
        if sample['metric'] == metric and path in PATHS and sample.get('value') is not None:
            values.setdefault(path, []).append(float(sample['value']))
    return {path: round(reduce(sorted(found)), 4) for path, found in values.items()}


def trend_point(run):
    """One run as the trend charts plot it: verdict and counts, p99 RTT and mean throughput per path
    class, and passed/total checks per path class. ``run`` is a stored run or a report."""
    summary = run.get('summary') or {}
    section = run.get('run') or {}
    by_path = {}
    for check in run.get('checks') or []:
        path = (check.get('labels') or {}).get('path')
        if path in PATHS and check['kind'] != 'regression':
            counts = by_path.setdefault(path, [0, 0])
            counts[0] += check['verdict'] == 'pass'
            counts[1] += 1
    return {
        'run_id': run.get('run_id') or section.get('id'),
        'finished': run.get('finished') or section.get('finished'),
        'verdict': run.get('verdict') or summary.get('verdict'),
        'checks': summary.get('checks', len(run.get('checks') or [])),
        'passed': summary.get('passed'),
        'failed': summary.get('failed'),
        'rtt_p99_ms': _by_path(run.get('samples'), 'rtt_ms', lambda v: percentile(v, 0.99)),
        'tcp_gbps': _by_path(run.get('samples'), 'tcp_gbps', lambda v: sum(v) / len(v)),
        'udp_gbps': _by_path(run.get('samples'), 'udp_gbps', lambda v: sum(v) / len(v)),
        'passed_by_path': by_path,
    }


def changes_since(baseline, report):
    """The checks whose verdict differs from the baseline's, appeared or disappeared, by name."""
    if not baseline:
        return []
    before = {c['name']: c for c in baseline.get('checks') or [] if c['kind'] != 'regression'}
    now = {c['name']: c for c in report['checks'] if c['kind'] != 'regression'}
    changed = []
    for name in sorted(set(before) | set(now)):
        was, is_now = before.get(name), now.get(name)
        if was and is_now and was['verdict'] == is_now['verdict']:
            continue
        changed.append({'check': name, 'kind': (is_now or was)['kind'], 'before': was['verdict'] if was else None,
                        'now': is_now['verdict'] if is_now else None, 'reason': (is_now or {}).get('reason') or ''})
    return changed
