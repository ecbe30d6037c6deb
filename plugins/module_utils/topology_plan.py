# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A whole topology on one cloud in one provider session: list each kind once, plan every
resource (create, update, replace, delete, unchanged), check the plan as one batch, apply it.

Only resources labelled with the run's id are the topology's; everything else on the cloud is
left alone and never matched.
"""

from __future__ import annotations

import datetime
import hashlib
import itertools
import json
from dataclasses import asdict, dataclass, field

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import MANAGED_BY
from ansible_collections.cloudops.multicloud.plugins.module_utils.routers import desired_router
from ansible_collections.cloudops.multicloud.plugins.module_utils.security_groups import desired_security_group
from ansible_collections.cloudops.multicloud.plugins.module_utils.servers import (
    COMPARED, check_networks, normalize_networks, server_names,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import (
    RUN_ID_LABEL, labels_match, plan_update,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology import topology_rules

# Dependency order: a kind needs only the kinds before it. Deletes go the other way.
ORDER = ('network', 'subnet', 'security_group', 'router', 'server', 'floating_ip')
ACTIONS = ('create', 'update', 'replace', 'delete', 'unchanged')
PLAN_FORMAT = 1
# Record fields that say nothing about the resource's configuration.
VOLATILE = {'connection', 'created'}


@dataclass
class Step:
    """One resource's part of a plan. ``desired`` is what a create sends, ``changes`` what an
    update sends, ``before`` the record as the plan found it."""
    action: str
    kind: str
    name: str
    desired: dict = None
    changes: dict = None
    before: dict = None
    reason: str = None
    power: str = None

    def to_dict(self):
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass
class Plan:
    run_id: str
    cloud: str
    fingerprint: str
    steps: list = field(default_factory=list)

    def counts(self):
        counts = {action: 0 for action in ACTIONS}
        for step in self.steps:
            counts[step.action] += 1
        return counts

    @property
    def changes(self):
        return [step for step in self.steps if step.action != 'unchanged']

    def to_dict(self):
        return {'format': PLAN_FORMAT, 'run_id': self.run_id, 'cloud': self.cloud, 'fingerprint': self.fingerprint,
                'made': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
                'counts': self.counts(), 'steps': [step.to_dict() for step in self.steps]}


def plan_from_dict(data, where='apply_plan'):
    """A plan read back from its JSON file, refusing what is not one of ours in one line."""
    if not isinstance(data, dict) or data.get('format') != PLAN_FORMAT:
        raise CloudError('%s: not a topology plan of format %d' % (where, PLAN_FORMAT))
    for key in ('run_id', 'cloud', 'fingerprint', 'steps'):
        if key not in data:
            raise CloudError('%s: the plan has no %s' % (where, key))
    steps = []
    for index, step in enumerate(data['steps']):
        if not isinstance(step, dict) or step.get('action') not in ACTIONS or step.get('kind') not in ORDER:
            raise CloudError('%s: steps[%d] is not a plan step' % (where, index))
        steps.append(Step(**{key: step.get(key) for key in Step.__dataclass_fields__}))
    return Plan(data['run_id'], data['cloud'], data['fingerprint'], steps)


def deletion(kind, record, reason=None):
    """The step that deletes ``record``, named as people know it (a floating IP by its address)."""
    return Step('delete', kind, record.get('name') or record.get('address'), before=record, reason=reason)


def run_labels(run_id, extra=None):
    """The labels every resource of the run carries; the run id and managed-by cannot be overridden."""
    return dict(extra or {}, **{'managed-by': MANAGED_BY, RUN_ID_LABEL: run_id})


def list_run(provider, run_id):
    """{kind: {name: record dict}} of the run's resources, each kind listed once. Floating IPs are
    keyed by the server they are attached to (None: attached to none)."""
    match = {RUN_ID_LABEL: run_id}
    state = {}
    for kind in ORDER:
        records = [r.to_dict() for r in provider.list(kind) if labels_match(r.labels, match)]
        by_name = {}
        for record in records:
            key = record.get('server') if kind == 'floating_ip' else record['name']
            if kind == 'floating_ip' and (key is None or key in by_name):
                key = '%s#%s' % (key or '', record['id'])  # unattached, or a second one: never declared
            elif key in by_name:
                raise CloudError('name: %d objects of kind %s are named %r in run %s'
                                 % (sum(1 for r in records if r['name'] == key), kind, key, run_id))
            by_name[key] = record
        state[kind] = by_name
    return state


def fingerprint(state):
    """A digest of what the plan was made from: any change to the run's resources changes it."""
    canonical = {kind: sorted(({k: v for k, v in record.items() if k not in VOLATILE} for record in records.values()),
                              key=lambda r: r['id'])
                 for kind, records in state.items()}
    return 'sha256:' + hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()


def declared(spec, labels, network_mtu=True):
    """[(kind, name, desired)] of the topology, in dependency order. ``desired`` is a dict, or a
    function of the current record to one (security groups and routers merge with what exists)."""
    networks = spec.get('networks') or []
    servers = spec.get('servers') or []
    resources = []
    for network in networks:
        mtu = network.get('mtu') if network_mtu else None
        resources.append(('network', network['name'], {'mtu': mtu, 'cidr': network.get('cidr'), 'labels': labels}))
    for network in networks:
        resources.append(('subnet', network['name'], {'network': network['name'], 'cidr': network.get('cidr'),
                                                      'gateway_ip': None, 'labels': labels}))
    for group in spec.get('security_groups') or []:
        resources.append(('security_group', group['name'], _group_desired(group, networks, servers, labels)))
    for router in spec.get('routers') or []:
        resources.append(('router', router['name'], desired_router(
            router.get('interfaces') or [], 'external' if router.get('external') else None, labels)))
    for server in servers:
        desired = {'image': server.get('image'), 'size': server.get('size'),
                   'networks': normalize_networks(server.get('networks') or [server['network']]),
                   'security_groups': server.get('security_groups'), 'key_name': server.get('key'),
                   'user_data': server.get('user_data'), 'labels': labels}
        for name in server_names(server['name'], server.get('count')):
            resources.append(('server', name, desired))
    for server in servers:
        if server.get('floating_ip'):
            for name in server_names(server['name'], server.get('count')):
                resources.append(('floating_ip', name, {'server': name, 'labels': labels}))
    return resources


def _group_desired(group, networks, servers, labels):
    fields = desired_security_group(group.get('description'), topology_rules(group.get('rules'), networks), True,
                                    labels)
    # Where groups belong to a network (EC2: a VPC), a group goes in the network of its servers.
    network = next((s.get('network') or (s.get('networks') or [None])[0] for s in servers
                    if group['name'] in (s.get('security_groups') or [])), None)

    def desired(current):
        wanted = fields(current)
        if network and (current is None or current.get('network') is not None):
            wanted['network'] = network
        return wanted
    return desired


def _server_step(record, desired, provider):
    wanted = {key: desired[key] for key in COMPARED}
    if wanted['image'] is not None and wanted['image'] == record.get('image_id'):
        wanted['image'] = record['image']
    if record.get('key_name') is None and not provider.reports_key_name:
        wanted['key_name'] = None
    try:
        check_networks(record, desired['networks'])
        changes = plan_update('server', record, wanted)
    except CloudError as exc:
        return Step('replace', 'server', record['name'], desired=desired, before=record, reason=str(exc))
    power = 'start' if record.get('status') not in ('ACTIVE', 'BUILD') else None
    if changes or power:
        return Step('update', 'server', record['name'], changes=changes or None, before=record, power=power,
                    reason='server %r is %s' % (record['name'], record.get('status')) if power else None)
    return Step('unchanged', 'server', record['name'], before=record)


def make_plan(provider, spec, run_id, labels, state=None, network_mtu=True, lease=None):
    """The plan that makes the run's resources what ``spec`` declares; ``state`` as list_run gives it.
    ``lease`` ({expires-at: ...}) labels what the plan creates; what exists keeps its own."""
    state = list_run(provider, run_id) if state is None else state
    steps, wanted = [], {kind: set() for kind in ORDER}
    for kind, name, desired in declared(spec, labels, network_mtu):
        wanted[kind].add(name)
        current = state[kind].get(name)
        if callable(desired):
            desired = desired(current)
        if current is None:
            steps.append(Step('create', kind, name, desired=desired))
        elif kind == 'server':
            steps.append(_server_step(current, desired, provider))
        else:
            try:
                changes = plan_update(kind, current, desired)
            except CloudError as exc:
                steps.append(Step('replace', kind, name, desired=desired, before=current, reason=str(exc)))
                continue
            steps.append(Step('update' if changes else 'unchanged', kind, name, changes=changes or None,
                              before=current))
    _moved_floating_ips(steps, state)
    for step in steps:
        if lease and step.action in ('create', 'replace'):
            step.desired = dict(step.desired, labels=dict(step.desired['labels'], **lease))
    for kind in ORDER:
        for name, record in state[kind].items():
            if name not in wanted[kind] and not any(s.kind == kind and s.before is record for s in steps):
                steps.append(deletion(kind, record, 'not declared by the topology'))
    return Plan(run_id, provider.cloud, fingerprint(state), steps)


def _moved_floating_ips(steps, state):
    """A run's floating IP on a server that should have none, while a server that should has none:
    the address moved, and moving it back is an update."""
    spare = [record for key, record in state['floating_ip'].items()
             if not any(s.kind == 'floating_ip' and s.name == key and s.action != 'create' for s in steps)]
    for step in steps:
        if step.kind == 'floating_ip' and step.action == 'create' and spare:
            record = spare.pop(0)
            step.action, step.before = 'update', record
            step.changes = {'server': step.name}
            step.reason = 'floating IP %s is on %s, declared on %s' % (record['address'], record.get('server') or 'no server',
                                                                       step.name)
            step.desired = None


def teardown_plan(provider, run_id, state=None):
    """Every resource of the run, deleted."""
    state = list_run(provider, run_id) if state is None else state
    steps = [deletion(kind, record) for kind in ORDER for record in state[kind].values()]
    return Plan(run_id, provider.cloud, fingerprint(state), steps)


def batch_steps(plan):
    """The plan as provider.check_many steps: deletes (dependents first), then creates and updates
    in dependency order, servers of one desired shape in one create."""
    batch = []
    for kind in reversed(ORDER):
        deleted = [s.before for s in plan.steps if s.kind == kind and s.action in ('delete', 'replace')]
        if kind == 'security_group':
            # A group that is another's remote group cannot go while that rule stands: empty them first.
            batch += [('update', kind, record, {'rules': []}) for record in deleted
                      if any(rule.get('remote_group') for rule in record.get('rules') or [])]
        batch += [('delete', kind, record, None) for record in deleted]
    for kind in ORDER:
        creates = [s for s in plan.steps if s.kind == kind and s.action in ('create', 'replace')]
        for desired, names in _grouped(creates):
            batch.append(('create', kind, [None] if kind == 'floating_ip' else names, desired))
        for step in plan.steps:
            if step.kind == kind and step.action == 'update':
                if step.changes:
                    batch.append(('update', kind, step.before, step.changes))
                if step.power:
                    batch.append(('action', kind, step.before, step.power))
    return batch


def references(kind, desired):
    """(kind, name) of the objects a create or update of ``kind`` names."""
    desired = desired or {}
    if kind == 'subnet':
        return {('network', desired.get('network'))}
    if kind == 'router':
        return {('subnet', name) for name in desired.get('interfaces') or []}
    if kind == 'security_group':
        return {('network', desired.get('network'))} | {
            ('security_group', rule.get('remote_group')) for rule in desired.get('rules') or [] if rule.get('remote_group')}
    if kind == 'server':
        return {('network', n['name']) for n in desired.get('networks') or []} | {
            ('security_group', g) for g in desired.get('security_groups') or []}
    if kind == 'floating_ip':
        return {('server', desired.get('server'))}
    return set()


def checkable_steps(plan, whole=False):
    """The batch steps that can be checked before anything is applied. A provider that checks a batch
    as a whole (``whole``: each step sees the ones before it) takes them all; others only creates and
    updates that name nothing the plan creates, and deletes of what nothing the plan deletes depends
    on; the rest are checked by the provider as they are applied."""
    batch = batch_steps(plan)
    if whole:
        return batch
    created = {(s.kind, s.name) for s in plan.steps if s.action in ('create', 'replace')}
    deleted = {s.kind for s in plan.steps if s.action in ('delete', 'replace')}

    def before_its_dependents_go(kind):
        return any(later in deleted for later in ORDER[ORDER.index(kind) + 1:])
    return [(op, kind, target, arg) for op, kind, target, arg in batch
            if not (op in ('create', 'update') and references(kind, arg) & created)
            and not (op == 'delete' and before_its_dependents_go(kind))]


def _grouped(steps):
    """[(desired, [names])]: steps with equal desired fields together, in first-seen order."""
    groups = {}
    for step in steps:
        key = json.dumps(step.desired, sort_keys=True, default=str)
        groups.setdefault(key, (step.desired, []))[1].append(step.name)
    return list(groups.values())


def apply_plan(provider, plan):
    """Carry out a checked plan: one bulk call per kind and shape where the provider batches."""
    for (op, kind), steps in itertools.groupby(batch_steps(plan), key=lambda step: step[:2]):
        steps = list(steps)
        if op == 'delete':
            provider.delete_many(kind, [target for _op, _kind, target, _arg in steps])
            continue
        for _op, _kind, target, arg in steps:
            if op == 'create' and kind == 'floating_ip':
                provider.create(kind, None, arg)
            elif op == 'create':
                provider.create_many(kind, target, arg)
            elif op == 'update':
                provider.update(kind, target, arg)
            else:
                provider.server_action(target, arg)


def refuse_if_changed(plan, state):
    """apply_plan's guard: the cloud must still be as the plan found it."""
    now = fingerprint(state)
    if now != plan.fingerprint:
        raise CloudError('apply_plan: the resources of run %s changed since the plan was made (%s, now %s); '
                         'make a new plan' % (plan.run_id, plan.fingerprint[:19], now[:19]))


def drift_of(plan):
    """[{kind, name, drift, detail}] for every step of an audit plan that is not unchanged."""
    words = {'create': 'missing', 'update': 'differs', 'replace': 'differs', 'delete': 'not declared'}
    found = []
    for step in plan.changes:
        detail = step.reason or ''
        if step.action == 'update' and step.changes and step.kind != 'floating_ip':
            detail = '; '.join(filter(None, [_describe_changes(step.before, step.changes), step.reason]))
        elif step.action == 'create':
            detail = '%s %s is declared and does not exist' % (step.kind.replace('_', ' '), step.name)
        elif step.action == 'delete':
            detail = 'labelled with run %s, not declared by the topology' % plan.run_id
        found.append({'kind': step.kind, 'name': step.name, 'drift': words[step.action], 'detail': detail})
    return found


def drift_checks(plan):
    """The audit as report checks: one per declared or labelled resource, failing where it drifted."""
    drifted = {(d['kind'], d['name']): d for d in drift_of(plan)}
    checks = []
    for step in plan.steps:
        drift = drifted.get((step.kind, step.name))
        checks.append({'name': 'drift %s %s' % (step.kind, step.name), 'kind': 'drift',
                       'verdict': 'fail' if drift else 'pass',
                       'detail': '%s: %s' % (drift['drift'], drift['detail']) if drift else 'as declared'})
    return checks


def _describe_changes(before, changes):
    parts = []
    for key, want in sorted(changes.items()):
        have = (before or {}).get(key)
        if key == 'rules':
            parts.append(_rules_delta(have or [], want or []))
        elif key == 'labels':
            differing = ['%s=%s' % (k, v) for k, v in sorted(want.items()) if (have or {}).get(k) != v]
            parts.append('labels %s' % ', '.join(differing))
        elif isinstance(want, list) and all(isinstance(item, str) for item in want + list(have or [])):
            missing, extra = sorted(set(want) - set(have or [])), sorted(set(have or []) - set(want))
            parts.append('%s: %s' % (key, ', '.join(['%s missing' % m for m in missing] + ['%s extra' % e for e in extra])))
        else:
            parts.append('%s %s, declared %s' % (key, _short(have), _short(want)))
    return '; '.join(parts)


def _rule_text(rule):
    port = '' if rule.get('port_min') is None else '/%s' % (
        rule['port_min'] if rule['port_min'] == rule['port_max'] else '%s-%s' % (rule['port_min'], rule['port_max']))
    remote = rule.get('remote_cidr') or 'group %s' % rule.get('remote_group')
    return '%s %s%s from %s' % (rule.get('direction', 'ingress'), rule.get('protocol'), port, remote)


def _rules_delta(have, want):
    have_text = {_rule_text(r) for r in have}
    want_text = {_rule_text(r) for r in want}
    parts = ['rule %s added' % r for r in sorted(have_text - want_text)]
    parts += ['rule %s removed' % r for r in sorted(want_text - have_text)]
    return ', '.join(parts) or 'rules reordered'


def _short(value):
    text = json.dumps(value, sort_keys=True, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + '...'


SYMBOLS = {'create': '+', 'update': '~', 'replace': '-/+', 'delete': '-', 'unchanged': ' '}


def render_plan(plan):
    """The plan as a person reads it before approving: one line per resource, details indented."""
    lines = ['Plan for run %s on %s (%s):' % (plan.run_id, plan.cloud, plan.fingerprint[:19])]
    for step in plan.steps:
        lines.append('%3s %s %s' % (SYMBOLS[step.action], step.kind, step.name))
        if step.action == 'create':
            lines += ['      %s: %s' % (k, ', '.join(_rule_text(r) for r in v) if k == 'rules' else _short(v))
                      for k, v in sorted(step.desired.items()) if v is not None and k != 'labels']
        elif step.action == 'update':
            if step.changes:
                lines.append('      ' + _describe_changes(step.before, step.changes))
            if step.power:
                lines.append('      %s the server' % step.power)
        elif step.reason:
            lines.append('      ' + step.reason)
    counts = plan.counts()
    lines.append('%d to create, %d to update, %d to replace, %d to delete, %d unchanged.' % tuple(
        counts[a] for a in ACTIONS))
    return '\n'.join(lines) + '\n'
