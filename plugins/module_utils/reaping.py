# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The reaper: on every cloud of a clouds file, delete the collection's resources whose lease
has ended, dependents first, and say per cloud what went."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.leases import EXPIRES_LABEL, expired
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import MANAGED_BY
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import RUN_ID_LABEL
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology_plan import (
    ORDER, Plan, apply_plan, checkable_steps, deletion,
)

# Key pairs depend on nothing and nothing on them once their servers are gone.
KINDS = ORDER + ('keypair',)


def expired_records(provider, now):
    """{kind: [record dicts]} of what the collection made on this cloud and whose lease ended by ``now``."""
    found = {}
    for kind in KINDS:
        found[kind] = [r.to_dict() for r in provider.list(kind)
                       if (r.labels or {}).get('managed-by') == MANAGED_BY and expired(r.labels, now)]
    return found


def reap_cloud(provider, now, check_mode=False):
    """Delete (in check mode, only list) one cloud's expired resources; returns its summary."""
    found = expired_records(provider, now)
    steps = [deletion(kind, record) for kind in ORDER for record in found[kind]]
    plan = Plan(None, provider.cloud, None, steps)
    keypairs = found['keypair']
    provider.check_many(checkable_steps(plan, provider.checks_whole_batches)
                        + [('delete', 'keypair', record, None) for record in keypairs])
    if not check_mode:
        apply_plan(provider, plan)
        provider.delete_many('keypair', keypairs)
    listed = [{'kind': kind, 'name': record.get('name') or record.get('address'), 'id': record['id'],
               'run_id': (record.get('labels') or {}).get(RUN_ID_LABEL),
               'expires_at': record['labels'][EXPIRES_LABEL]} for kind in KINDS for record in found[kind]]
    return {'cloud': provider.cloud, 'expired': listed, 'deleted': 0 if check_mode else len(listed),
            'runs': sorted({entry['run_id'] for entry in listed if entry['run_id']}), 'error': None}


def reap_clouds(providers, now, check_mode=False):
    """(summaries, failed cloud names): each cloud on its own, so one that fails does not stop the rest.

    ``providers`` is {cloud: a function that connects to it}."""
    summaries, failed = [], []
    for cloud, connect in providers.items():
        try:
            summaries.append(reap_cloud(connect(), now, check_mode))
        except CloudError as exc:
            failed.append(cloud)
            summaries.append({'cloud': cloud, 'expired': [], 'deleted': 0, 'runs': [], 'error': str(exc)})
    return summaries, failed


def summary_lines(summaries, check_mode=False):
    """One line per cloud, as a person reads it in a job's output."""
    lines = []
    for summary in summaries:
        if summary['error']:
            lines.append('%s: not reaped: %s' % (summary['cloud'], summary['error']))
        elif not summary['expired']:
            lines.append('%s: nothing has expired' % summary['cloud'])
        else:
            lines.append('%s: %d expired resources of runs %s %s' % (
                summary['cloud'], len(summary['expired']), ', '.join(summary['runs']) or '(none)',
                'would be deleted' if check_mode else 'deleted'))
    return lines
