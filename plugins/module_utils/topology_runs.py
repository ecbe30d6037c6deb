# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the topology module does with its options: plan, keep or read a plan file, check,
apply, audit; the module itself only declares them."""

from __future__ import annotations

import json

from ansible_collections.cloudops.multicloud.plugins.module_utils.atomic_files import write_atomically
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.leases import DEFAULT_LEASE, EXPIRES_LABEL, expires_at, parse_lease
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import RUN_ID_LABEL
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology import check_topology
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology_plan import (
    apply_plan, checkable_steps, drift_checks, drift_of, list_run, make_plan, plan_from_dict, refuse_if_changed,
    render_plan, run_labels, teardown_plan,
)


def _read_plan(path):
    try:
        with open(path, encoding='utf-8') as handle:
            return plan_from_dict(json.load(handle))
    except OSError as exc:
        raise CloudError('apply_plan: cannot read %s: %s' % (path, exc.strerror))
    except ValueError as exc:
        raise CloudError('apply_plan: %s is not JSON: %s' % (path, exc))


def _check_labels(labels):
    for key, value in (labels or {}).items():
        if not isinstance(value, str):
            raise CloudError('labels.%s: label values are strings, got %r' % (key, value))


def _spec(params):
    """(topology, run id) from the options, refused in one line before anything is listed."""
    topology = params.get('topology')
    if topology is not None:
        try:
            check_topology(topology)
        except CloudError as exc:
            raise CloudError('topology.%s' % exc)
    run_id = params.get('run_id') or (topology or {}).get('run_id')
    if not run_id:
        raise CloudError('run_id: required, or the topology\'s run_id')
    if topology is not None and str(topology['run_id']) != run_id:
        raise CloudError('run_id: %r is not the topology\'s run_id %r' % (run_id, topology['run_id']))
    if topology is None and params['state'] != 'absent':
        raise CloudError('topology: required with state=%s, unless apply_plan is given' % params['state'])
    return topology, str(run_id)


def _network_mtu(provider, topology):
    """Whether declared MTUs are sent: clouds that fix network MTUs themselves refuse them."""
    if not any(n.get('mtu') for n in topology.get('networks') or []):
        return True
    return provider.describe().get('capabilities', {}).get('network_mtu', True)


def _lease(params, topology, provider):
    """{expires-at: ...} for what the plan creates: the option, else the topology's, else the cloud's, else 4h."""
    for field, value in (('lease', params.get('lease')), ('topology.lease', topology.get('lease')),
                         ('clouds file %s.lease' % provider.cloud, provider.settings.get('lease'))):
        if value is not None:
            seconds = parse_lease(value, field)
            break
    else:
        seconds = parse_lease(DEFAULT_LEASE)
    return {EXPIRES_LABEL: expires_at(seconds)} if seconds else None


def run_topology(provider, params, check_mode=False):
    _check_labels(params.get('labels'))
    if params.get('lease') is not None:
        parse_lease(params['lease'])
    if params.get('apply_plan'):
        if params['state'] != 'present':
            raise CloudError('apply_plan: applies with state=present only, got state=%s' % params['state'])
        plan = _read_plan(params['apply_plan'])
        if plan.cloud != provider.cloud:
            raise CloudError('apply_plan: the plan is for cloud %s, not %s' % (plan.cloud, provider.cloud))
        provider.run_scope = plan.run_id
        state = list_run(provider, plan.run_id)
        refuse_if_changed(plan, state)
    else:
        topology, run_id = _spec(params)
        provider.run_scope = run_id  # the names the topology gives are its run's
        state = list_run(provider, run_id)
        if params['state'] == 'absent':
            plan = teardown_plan(provider, run_id, state)
        else:
            plan = make_plan(provider, topology, run_id, run_labels(run_id, params.get('labels')), state,
                             network_mtu=_network_mtu(provider, topology), lease=_lease(params, topology, provider))
        if params.get('plan_file'):
            kept = json.dumps(plan.to_dict(), indent=2, sort_keys=True, default=str) + '\n'
            write_atomically(params['plan_file'], kept, 'plan_file')
    result = {'plan': [step.to_dict() for step in plan.steps], 'counts': plan.counts(),
              'fingerprint': plan.fingerprint, 'diff': {'prepared': render_plan(plan)}, 'drift': [], 'checks': []}
    if params['state'] == 'audit':
        result['drift'], result['checks'] = drift_of(plan), drift_checks(plan)
        after = state
        if params['fail_on_drift'] and result['drift']:
            listed = '; '.join('%s %s %s' % (d['kind'], d['name'], d['drift']) for d in result['drift'])
            raise CloudError('drift: %d resources of run %s differ from the topology: %s'
                             % (len(result['drift']), plan.run_id, listed), **_outputs(result, after))
        return dict(_outputs(result, after), changed=False)
    provider.check_many(checkable_steps(plan, provider.checks_whole_batches))
    # Check mode returns the resources as they are; the plan says what would become of them.
    after = state
    if check_mode:
        return dict(_outputs(result, after), changed=bool(plan.changes))
    try:
        if plan.changes:
            apply_plan(provider, plan)
            after = list_run(provider, plan.run_id)
    except CloudError as exc:
        # What exists is still the run's: teardown by run id finds it, and the manifest says what it is.
        written = _write_manifest(params.get('manifest_file'), provider, plan.run_id)
        raise CloudError('%s (run %s is partly applied; its resources carry its labels)' % (exc, plan.run_id),
                         **dict(exc.details, manifest=written))
    result['manifest'] = _write_manifest(params.get('manifest_file'), provider, plan.run_id)
    return dict(_outputs(result, after), changed=bool(plan.changes))


def _write_manifest(path, provider, run_id):
    """manifest.json: everything labelled with the run id (key pairs too), as cloud_info lists it."""
    if not path:
        return None
    resources = provider.labelled({RUN_ID_LABEL: run_id})
    text = json.dumps({'run_id': run_id, 'cloud': provider.cloud, 'resources': resources}, indent=4, sort_keys=True)
    write_atomically(path, text + '\n', 'manifest_file')
    return path


def _outputs(result, state):
    """The result with the run's resources, and its servers sorted by name."""
    servers = sorted(state['server'].values(), key=lambda s: s['name'])
    return dict(result, resources=state, servers=servers)
