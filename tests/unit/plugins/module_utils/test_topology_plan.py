"""Planning a whole topology: what is planned from a listing, the order it is carried out in, the
plan file's round trip, drift wording and the fingerprint."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology_plan import (
    ORDER, Plan, Step, batch_steps, declared, drift_of, fingerprint, make_plan, plan_from_dict, render_plan,
    run_labels,
)

SPEC = {
    'run_id': 'r1',
    'networks': [{'name': 'front', 'cidr': '10.0.1.0/24'}, {'name': 'back', 'cidr': '10.0.2.0/24', 'mtu': 1400}],
    'routers': [{'name': 'edge', 'interfaces': ['front', 'back'], 'external': True}],
    'security_groups': [{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 5432, 'remote': 'front'}]}],
    'servers': [{'name': 'web', 'network': 'front', 'count': 2, 'floating_ip': True},
                {'name': 'db', 'network': 'back', 'security_groups': ['db']}],
}
LABELS = run_labels('r1')


class Listing:
    """A provider as far as planning reads one: no listing is needed when the state is given."""
    cloud = 'lab'
    reports_key_name = True


def empty():
    return {kind: {} for kind in ORDER}


def applied_state():
    """The listing of a cloud on which SPEC was applied as planned."""
    state = empty()
    for index, (kind, name, desired) in enumerate(declared(SPEC, LABELS)):
        fields = desired(None) if callable(desired) else dict(desired)
        record = dict(fields, id='id-%d' % index, name=name)
        if kind == 'server':
            record.update(status='ACTIVE', image='lab-host', size='lab.small', security_groups=fields['security_groups'] or [],
                          networks=[{'network': n['name'], 'subnet': n['name'], 'address': '10.0.0.%d' % index}
                                    for n in fields['networks']])
        if kind == 'floating_ip':
            record.update(address='198.18.0.%d' % index)
        if kind == 'router':
            record.update(interfaces=['front', 'back'], external_network='external')
        state[kind][name] = record
    return state


def test_a_new_topology_is_all_creates_in_dependency_order_with_counted_servers():
    plan = make_plan(Listing(), SPEC, 'r1', LABELS, empty())
    assert [(s.action, s.kind, s.name) for s in plan.steps] == [
        ('create', 'network', 'front'), ('create', 'network', 'back'), ('create', 'subnet', 'front'),
        ('create', 'subnet', 'back'), ('create', 'security_group', 'db'), ('create', 'router', 'edge'),
        ('create', 'server', 'web-1'), ('create', 'server', 'web-2'), ('create', 'server', 'db'),
        ('create', 'floating_ip', 'web-1'), ('create', 'floating_ip', 'web-2')]
    group = plan.steps[4].desired
    assert group['rules'][0]['remote_cidr'] == '10.0.1.0/24' and group['network'] == 'back'
    assert plan.steps[1].desired['mtu'] == 1400
    assert make_plan(Listing(), SPEC, 'r1', LABELS, empty(), network_mtu=False).steps[1].desired['mtu'] is None


def test_servers_of_one_shape_are_one_bulk_create_after_what_they_need():
    batch = batch_steps(make_plan(Listing(), SPEC, 'r1', LABELS, empty()))
    creates = [(op, kind, target) for op, kind, target, _desired in batch]
    assert creates == [('create', 'network', ['front']), ('create', 'network', ['back']),
                       ('create', 'subnet', ['front']), ('create', 'subnet', ['back']),
                       ('create', 'security_group', ['db']), ('create', 'router', ['edge']),
                       ('create', 'server', ['web-1', 'web-2']), ('create', 'server', ['db']),
                       ('create', 'floating_ip', [None]), ('create', 'floating_ip', [None])]
    assert [desired['server'] for op, kind, _t, desired in batch if kind == 'floating_ip'] == ['web-1', 'web-2']


def test_an_applied_topology_plans_nothing_and_its_fingerprint_ignores_what_is_not_configuration():
    state = applied_state()
    plan = make_plan(Listing(), SPEC, 'r1', LABELS, state)
    assert plan.changes == [] and plan.counts()['unchanged'] == 11
    assert batch_steps(plan) == []
    moved = copy.deepcopy(state)
    moved['server']['db']['connection'] = {'pid': 4242}
    assert fingerprint(moved) == fingerprint(state)
    moved['server']['db']['status'] = 'SHUTOFF'
    assert fingerprint(moved) != fingerprint(state)


def test_drift_is_planned_as_updates_replacements_and_deletes():
    state = applied_state()
    state['server']['db']['status'] = 'SHUTOFF'
    state['server']['web-2']['networks'] = [{'network': 'back', 'subnet': 'back', 'address': '10.0.2.9'}]
    state['router']['edge']['interfaces'] = ['front']
    state['network']['stray'] = {'id': 'x', 'name': 'stray', 'labels': LABELS}
    plan = make_plan(Listing(), SPEC, 'r1', LABELS, state)
    changed = {(s.kind, s.name): s for s in plan.changes}
    assert sorted(changed) == [('network', 'stray'), ('router', 'edge'), ('server', 'db'), ('server', 'web-2')]
    assert changed[('server', 'db')].power == 'start' and changed[('server', 'db')].changes is None
    assert changed[('server', 'web-2')].action == 'replace' and changed[('server', 'web-2')].reason.startswith('networks:')
    assert changed[('router', 'edge')].changes == {'interfaces': ['front', 'back']}
    batch = [(op, kind, target['name'] if isinstance(target, dict) else target) for op, kind, target, _arg in batch_steps(plan)]
    # Deletes first, dependents before what they depend on; a replacement is a delete and a create.
    assert batch == [('delete', 'server', 'web-2'), ('delete', 'network', 'stray'), ('update', 'router', 'edge'),
                     ('create', 'server', ['web-2']), ('action', 'server', 'db')]
    drift = {(d['kind'], d['name']): d['detail'] for d in drift_of(plan)}
    assert drift[('router', 'edge')] == 'interfaces: back missing'
    assert drift[('network', 'stray')] == 'labelled with run r1, not declared by the topology'


def test_a_group_that_is_a_remote_group_is_emptied_before_the_groups_go():
    group = {'id': 'g1', 'name': 'ssh', 'rules': [{'protocol': 'tcp', 'remote_group': 'bastion'}]}
    bastion = {'id': 'g2', 'name': 'bastion', 'rules': [{'protocol': 'tcp', 'remote_cidr': '0.0.0.0/0'}]}
    plan = Plan('r1', 'lab', 'sha256:0', [Step('delete', 'security_group', 'ssh', before=group),
                                          Step('delete', 'security_group', 'bastion', before=bastion)])
    assert [(op, target['name'], arg) for op, _kind, target, arg in batch_steps(plan)] == [
        ('update', 'ssh', {'rules': []}), ('delete', 'ssh', None), ('delete', 'bastion', None)]


def test_a_plan_file_round_trips_and_anything_else_is_refused_in_one_line():
    plan = make_plan(Listing(), SPEC, 'r1', LABELS, empty())
    again = plan_from_dict(plan.to_dict())
    assert [s.to_dict() for s in again.steps] == [s.to_dict() for s in plan.steps]
    assert (again.run_id, again.cloud, again.fingerprint) == ('r1', 'lab', plan.fingerprint)
    for bad, message in (([], 'not a topology plan of format 1'), ({'format': 2}, 'not a topology plan of format 1'),
                         (dict(plan.to_dict(), fingerprint=None, steps=[{'action': 'explode', 'kind': 'network'}]),
                          r'steps\[0\] is not a plan step')):
        with pytest.raises(CloudError, match='^apply_plan: ' + message):
            plan_from_dict(bad)


def test_the_plan_reads_as_a_person_approves_it():
    state = applied_state()
    state['security_group']['db']['rules'] = [{'direction': 'ingress', 'protocol': 'tcp', 'port_min': 22,
                                               'port_max': 22, 'remote_cidr': '0.0.0.0/0', 'remote_group': None}]
    del state['server']['web-2']
    text = render_plan(make_plan(Listing(), SPEC, 'r1', LABELS, state))
    assert '  ~ security_group db\n      rule ingress tcp/22 from 0.0.0.0/0 added, ' \
           'rule ingress tcp/5432 from 10.0.1.0/24 removed\n' in text
    assert '  + server web-2\n      networks: [{"name": "front"}]\n' in text
    assert text.endswith('1 to create, 1 to update, 0 to replace, 0 to delete, 9 unchanged.\n')
