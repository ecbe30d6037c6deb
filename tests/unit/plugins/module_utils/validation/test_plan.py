"""The validation plan: flows, expected verdicts from declared security groups, path classes, MTUs."""

from __future__ import annotations

import re

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.plan import validation_plan

TOPOLOGY = {
    'networks': [{'name': 'front', 'cidr': '10.10.1.0/24'}, {'name': 'back', 'cidr': '10.10.2.0/24', 'mtu': 1400}],
    'routers': [{'name': 'edge', 'interfaces': ['front', 'back'], 'external': True}],
    'security_groups': [{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 5432, 'remote': 'front'}, {'proto': 'icmp'}]}],
    'servers': [
        {'name': 'web', 'network': 'front', 'count': 2, 'floating_ip': True},
        {'name': 'db', 'network': 'back', 'security_groups': ['db']},
    ],
    'expect': [
        {'from': 'web', 'to': 'db', 'proto': 'tcp', 'port': 5432, 'verdict': 'allow'},
        {'from': 'web', 'to': 'db', 'proto': 'tcp', 'port': 22, 'verdict': 'deny'},
    ],
}


def server(name, network, address, public=None):
    return {'id': 'id-' + name, 'name': name, 'networks': [{'network': network, 'address': address}],
            'private_ip': address, 'public_ip': public}


SERVERS = [server('web-1', 'front', '10.10.1.2', '198.18.0.2'), server('web-2', 'front', '10.10.1.3', '198.18.0.3'),
           server('db', 'back', '10.10.2.2')]


def plan(topology=None, servers=None, outside='198.18.0.1'):
    return validation_plan(topology or TOPOLOGY, SERVERS if servers is None else servers, outside)


def by_id(flows):
    return {f['id']: f for f in flows}


def test_declared_flows_expand_over_count_groups_and_come_first():
    flows = plan()['flows']
    assert [f['id'] for f in flows[:4]] == ['web-1->db tcp/5432', 'web-2->db tcp/5432', 'web-1->db tcp/22', 'web-2->db tcp/22']
    assert flows[0]['expected'] == 'allow' and flows[2]['expected'] == 'deny'
    assert flows[0]['source'] == 'declared' and flows[0]['address'] == '10.10.2.2'


def test_mesh_covers_every_ordered_pair_with_verdicts_from_the_declared_groups():
    flows = by_id(plan()['flows'])
    mesh = [f for f in flows.values() if f['source'] == 'mesh']
    assert len(mesh) == 6
    assert flows['web-1->db icmp']['expected'] == 'allow'      # db admits icmp from anywhere
    assert flows['db->web-1 icmp']['expected'] == 'allow'      # web has no group: open
    assert flows['web-1->web-2 icmp']['path'] == 'l2' and flows['web-1->db icmp']['path'] == 'l3'


def test_a_group_without_the_rule_denies_in_the_mesh():
    topology = dict(TOPOLOGY, security_groups=[{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 5432}]}])
    assert by_id(plan(topology)['flows'])['web-1->db icmp']['expected'] == 'deny'
    assert by_id(plan(topology)['flows'])['web-1->db icmp']['mtu'] is None


def test_remote_group_and_cidr_rules_match_the_source():
    topology = dict(TOPOLOGY, security_groups=[
        {'name': 'db', 'rules': [{'proto': 'icmp', 'remote': 'app'}]},
        {'name': 'app', 'rules': [{'proto': 'icmp', 'remote': '10.10.1.3/32'}]},
    ], servers=[
        {'name': 'web', 'network': 'front', 'count': 2, 'security_groups': ['app']},
        {'name': 'db', 'network': 'back', 'security_groups': ['db']},
    ], expect=[])
    flows = by_id(plan(topology)['flows'])
    assert flows['web-1->db icmp']['expected'] == 'allow'
    assert flows['db->web-1 icmp']['expected'] == 'deny'
    assert flows['web-1->web-2 icmp']['expected'] == 'deny'    # app admits only 10.10.1.3, which is web-2
    assert flows['web-2->web-1 icmp']['expected'] == 'allow'


def test_egress_rules_restrict_the_source():
    topology = dict(TOPOLOGY, security_groups=[{'name': 'db', 'rules': [
        {'proto': 'icmp'}, {'proto': 'tcp', 'port': 443, 'direction': 'egress'}]}], expect=[])
    flows = by_id(plan(topology)['flows'])
    assert flows['db->web-1 icmp']['expected'] == 'deny'
    assert flows['web-1->db icmp']['expected'] == 'allow'


def test_expected_path_mtu_is_the_smallest_declared_on_the_path():
    flows = by_id(plan()['flows'])
    assert flows['web-1->web-2 icmp']['mtu'] == 1500
    assert flows['web-1->db icmp']['mtu'] == 1400
    assert flows['db->web-1 icmp']['mtu'] == 1400
    assert plan()['mtu_max'] == 1500


def test_probes_group_targets_by_source():
    probes = {p['src']: p['targets'] for p in plan()['probes']}
    assert sorted(probes) == ['db', 'web-1', 'web-2']
    assert {'name': 'web-1->db tcp/5432', 'address': '10.10.2.2', 'proto': 'tcp', 'port': 5432,
            'expect': 'db'} in probes['web-1']


def test_tcp_and_udp_targets_expect_their_destination_and_icmp_expects_nobody():
    topology = dict(TOPOLOGY, expect=TOPOLOGY['expect'] + [{'from': 'db', 'to': 'web', 'proto': 'udp', 'port': 53}])
    targets = [t for p in plan(topology)['probes'] for t in p['targets']]
    flows = by_id(plan(topology)['flows'])
    assert targets and all(t['expect'] == (None if t['proto'] == 'icmp' else flows[t['name']]['dst']) for t in targets)
    udp = {t['name']: t['expect'] for t in targets if t['proto'] == 'udp'}
    assert udp == {'db->web-1 udp/53': 'web-1', 'db->web-2 udp/53': 'web-2'}


def test_listeners_cover_allowed_and_denied_ports_and_the_probe_port():
    listeners = plan()['listeners']
    assert listeners == [{'host': 'db', 'identity': {'name': 'db', 'id': 'id-db'},
                          'listen': [{'proto': 'tcp', 'port': 22}, {'proto': 'tcp', 'port': 5432},
                                     {'proto': 'tcp', 'port': 5999}]},
                         {'host': 'web-1', 'identity': {'name': 'web-1', 'id': 'id-web-1'},
                          'listen': [{'proto': 'tcp', 'port': 5999}]},
                         {'host': 'web-2', 'identity': {'name': 'web-2', 'id': 'id-web-2'},
                          'listen': [{'proto': 'tcp', 'port': 5999}]}]


def test_every_server_answers_on_the_probe_port_with_its_identity():
    # Nothing probes web-1 or web-2 on tcp without floating IPs; they still answer, so that traffic
    # misdirected to them is named.
    topology = dict(TOPOLOGY, security_groups=[], expect=[])
    servers = SERVERS[:2] + [dict(SERVERS[2], id=None)]
    listeners = plan(topology, servers, outside=None)['listeners']
    assert [(entry['host'], entry['identity'], entry['listen']) for entry in listeners] == [
        ('db', {'name': 'db', 'id': None}, [{'proto': 'tcp', 'port': 5999}]),
        ('web-1', {'name': 'web-1', 'id': 'id-web-1'}, [{'proto': 'tcp', 'port': 5999}]),
        ('web-2', {'name': 'web-2', 'id': 'id-web-2'}, [{'proto': 'tcp', 'port': 5999}])]


def test_throughput_pairs_only_where_the_groups_let_iperf3_through():
    pairs = plan()['throughput']
    assert [(p['path'], p['src'], p['dst'], p['proto']) for p in pairs] == [
        ('l2', 'web-1', 'web-2', 'tcp'), ('l2', 'web-1', 'web-2', 'udp'), ('l3', 'db', 'web-1', 'tcp'),
        ('l3', 'db', 'web-1', 'udp'), ('north-south', 'outside', 'web-1', 'tcp'), ('north-south', 'outside', 'web-1', 'udp')]
    assert pairs[4]['address'] == '198.18.0.2'


def test_floating_ips_from_outside():
    assert plan()['floating_ips'] == [
        {'server': 'web-1', 'address': '198.18.0.2', 'proto': 'tcp', 'port': 5999, 'id': 'outside->web-1 tcp/5999',
         'expect': 'web-1', 'expected': 'allow', 'declared': True},
        {'server': 'web-2', 'address': '198.18.0.3', 'proto': 'tcp', 'port': 5999, 'id': 'outside->web-2 tcp/5999',
         'expect': 'web-2', 'expected': 'allow', 'declared': True}]
    assert plan(outside=None)['floating_ips'] == []


def test_a_floating_ip_on_the_wrong_server_is_two_findings():
    # web-2's address moved to db: web-2 lacks the address it was declared with, db must not be reachable.
    servers = [SERVERS[0], dict(SERVERS[1], public_ip=None), dict(SERVERS[2], public_ip='198.18.0.3')]
    entries = {e['server']: e for e in plan(servers=servers)['floating_ips']}
    assert entries['web-2']['address'] is None and entries['web-2']['expected'] == 'allow'
    assert entries['db']['address'] == '198.18.0.3' and entries['db']['expected'] == 'deny'
    assert entries['db']['declared'] is False and entries['db']['proto'] == 'icmp'


def test_a_floating_ip_behind_a_group_without_the_probe_port_is_pinged():
    topology = dict(TOPOLOGY, servers=[{'name': 'web', 'network': 'front', 'floating_ip': True, 'security_groups': ['db']}],
                    expect=[])
    [fip] = plan(topology, [server('web', 'front', '10.10.1.2', '198.18.0.2')])['floating_ips']
    assert (fip['proto'], fip['port'], fip['expect'], fip['expected']) == ('icmp', None, None, 'allow')


def test_security_group_change_opens_a_port_the_group_denies():
    assert plan()['security_group_changes'] == [{
        'group': 'db', 'src': 'web-1', 'dst': 'db', 'address': '10.10.2.2', 'port': 5999,
        'rule': {'protocol': 'tcp', 'port': '5999', 'remote_cidr': '10.10.1.2/32'}}]


def test_unprovisioned_servers_are_left_out():
    flows = plan(servers=SERVERS[:1])['flows']
    assert flows == []


def test_outside_as_a_declared_source():
    topology = dict(TOPOLOGY, expect=[{'from': 'outside', 'to': 'web', 'proto': 'tcp', 'port': 80, 'verdict': 'allow'}])
    flows = by_id(plan(topology)['flows'])
    assert flows['outside->web-1 tcp/80']['address'] == '198.18.0.2'
    assert flows['outside->web-1 tcp/80']['path'] == 'north-south'


@pytest.mark.parametrize('entry, message', [
    ({'from': 'web', 'to': 'nowhere'}, "expect[0].to: 'nowhere' is neither a server nor a server group"),
    ({'from': 'web', 'to': 'db', 'proto': 'sctp'}, "expect[0].proto: 'sctp' is not one of icmp, tcp, udp"),
    ({'from': 'web', 'to': 'db', 'proto': 'tcp'}, 'expect[0].port: tcp needs a port in 1-65535, got None'),
    ({'from': 'web', 'to': 'db', 'port': 22}, 'expect[0].port: icmp takes no port'),
    ({'from': 'web', 'to': 'db', 'verdict': 'maybe'}, "expect[0].verdict: 'maybe' is not one of allow, deny"),
    ({'from': 'web', 'to': 'db', 'colour': 'red'}, 'expect[0].colour: not an expectation key'),
    ({'from': 'web', 'to': 'outside'}, 'expect[0].to: the outside vantage can only be a source'),
])
def test_bad_expectations_name_the_field(entry, message):
    with pytest.raises(CloudError, match=re.escape(message)):
        plan(dict(TOPOLOGY, expect=[entry]))


# ---------------------------------------------------------------------------------------------- mesh modes
MESH_TOPOLOGY = {
    'name': 'mesh-test',
    'networks': [{'name': 'a', 'cidr': '10.20.1.0/24'}, {'name': 'b', 'cidr': '10.20.2.0/24'}],
    'routers': [{'name': 'r', 'interfaces': ['a', 'b']}],
    'servers': [{'name': 'x', 'network': 'a', 'count': 4}, {'name': 'y', 'network': 'b', 'count': 4}],
}
MESH_SERVERS = ([server('x-%d' % i, 'a', '10.20.1.%d' % (i + 10)) for i in range(1, 5)]
                + [server('y-%d' % i, 'b', '10.20.2.%d' % (i + 10)) for i in range(1, 5)])


def mesh_pairs(rendered):
    return [(f['src'], f['dst']) for f in rendered['flows'] if f['source'] == 'mesh']


def test_full_mesh_probes_every_ordered_pair():
    rendered = validation_plan(MESH_TOPOLOGY, MESH_SERVERS)
    assert len(mesh_pairs(rendered)) == 8 * 7
    assert rendered['mesh'] == {'mode': 'full', 'peers': None, 'seed': None, 'pairs': 56}


def test_sampled_mesh_probes_k_peers_per_server_the_same_every_run():
    first = validation_plan(MESH_TOPOLOGY, MESH_SERVERS, mesh='sampled', mesh_peers=3)
    again = validation_plan(MESH_TOPOLOGY, list(reversed(MESH_SERVERS)), mesh='sampled', mesh_peers=3)
    pairs = mesh_pairs(first)
    assert pairs == mesh_pairs(again)
    assert len(pairs) == 8 * 3 and len(set(pairs)) == len(pairs)
    for name in [s['name'] for s in MESH_SERVERS]:
        assert len([p for p in pairs if p[0] == name]) == 3
        assert (name, name) not in pairs
    assert first['mesh'] == {'mode': 'sampled', 'peers': 3, 'seed': 'mesh-test', 'pairs': 24}
    probed = {(p['src'], t['name'].split('->')[1].split(' ')[0]) for p in first['probes'] for t in p['targets']}
    assert probed == set(pairs)


def test_sampled_mesh_depends_on_the_topology_name():
    other = dict(MESH_TOPOLOGY, name='another')
    assert (mesh_pairs(validation_plan(MESH_TOPOLOGY, MESH_SERVERS, mesh='sampled', mesh_peers=2))
            != mesh_pairs(validation_plan(other, MESH_SERVERS, mesh='sampled', mesh_peers=2)))


def test_sampled_mesh_with_more_peers_than_servers_is_the_full_mesh():
    rendered = validation_plan(MESH_TOPOLOGY, MESH_SERVERS, mesh='sampled', mesh_peers=50)
    assert sorted(mesh_pairs(rendered)) == sorted(mesh_pairs(validation_plan(MESH_TOPOLOGY, MESH_SERVERS)))


def test_partitioned_mesh_probes_one_pair_per_path_class_each_way():
    rendered = validation_plan(MESH_TOPOLOGY, MESH_SERVERS, mesh='partitioned')
    flows = [f for f in rendered['flows'] if f['source'] == 'mesh']
    assert sorted((f['path'], f['src'], f['dst']) for f in flows) == [
        ('l2', 'x-1', 'x-2'), ('l2', 'x-2', 'x-1'), ('l3', 'x-1', 'y-1'), ('l3', 'y-1', 'x-1')]
    assert rendered['mesh']['pairs'] == 4


def test_declared_flows_are_probed_whatever_the_mesh():
    rendered = validation_plan(TOPOLOGY, SERVERS, '198.18.0.1', mesh='partitioned')
    assert {f['id'] for f in rendered['flows'] if f['source'] == 'declared'} == {
        f['id'] for f in plan()['flows'] if f['source'] == 'declared'}
    assert rendered['mesh']['mode'] == 'partitioned'


@pytest.mark.parametrize('mesh, peers, message', [
    ('star', 3, "mesh: 'star' is not one of full, sampled, partitioned"),
    ('sampled', 0, 'mesh_peers: a sampled mesh needs a whole number of peers of at least 1, got 0'),
])
def test_a_mesh_that_cannot_be_planned_is_named(mesh, peers, message):
    with pytest.raises(CloudError, match=re.escape(message)):
        validation_plan(MESH_TOPOLOGY, MESH_SERVERS, mesh=mesh, mesh_peers=peers)
