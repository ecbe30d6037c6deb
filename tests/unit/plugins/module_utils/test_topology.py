from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology import check_topology, topology_rules

NETWORKS = [{'name': 'front', 'cidr': '10.10.1.0/24'}]


def test_remote_network_cidr_group_and_any():
    rules = [{'proto': 'tcp', 'port': 5432, 'remote': 'front'}, {'proto': 'icmp'},
             {'proto': 'udp', 'port': '53', 'remote': '192.0.2.0/24'}, {'proto': 'tcp', 'remote': 'web'}]
    assert topology_rules(rules, NETWORKS) == [
        {'protocol': 'tcp', 'direction': 'ingress', 'port': '5432', 'remote_cidr': '10.10.1.0/24'},
        {'protocol': 'icmp', 'direction': 'ingress'},
        {'protocol': 'udp', 'direction': 'ingress', 'port': '53', 'remote_cidr': '192.0.2.0/24'},
        {'protocol': 'tcp', 'direction': 'ingress', 'remote_group': 'web'}]


def test_unknown_key_is_named():
    with pytest.raises(CloudError, match=r'^rules\[0\].protocol: not a topology rule key'):
        topology_rules([{'protocol': 'tcp'}], NETWORKS)


SPEC = {
    'run_id': 'demo-1',
    'networks': [{'name': 'front', 'cidr': '10.10.1.0/24'}, {'name': 'back', 'cidr': '10.10.2.0/24', 'mtu': 1400}],
    'routers': [{'name': 'edge', 'interfaces': ['front', 'back'], 'external': True}],
    'security_groups': [{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 5432, 'remote': 'front'}]}],
    'servers': [{'name': 'web', 'network': 'front', 'count': 2}, {'name': 'db', 'network': 'back', 'security_groups': ['db']}],
}


def test_a_good_topology_passes_unchanged():
    assert check_topology(SPEC) is SPEC


@pytest.mark.parametrize('change, message', [
    ({'run_id': 'a b'}, "run_id: required, letters, digits"),
    ({'colour': 1}, 'topology.colour: not a topology key'),
    ({'networks': [{'name': 'front', 'cidr': '10.10.1.1/24'}]}, 'networks[0].cidr: '),
    ({'networks': [{'name': 'front', 'cidr': '10.10.1.0/24', 'mtu': 100}]}, 'networks[0].mtu: 100 is not a number in 576-9216'),
    ({'networks': [{'name': 'a', 'cidr': '10.0.0.0/24'}, {'name': 'a', 'cidr': '10.0.1.0/24'}]}, "networks[1].name: 'a' is declared twice"),
    ({'routers': [{'name': 'edge', 'interfaces': ['middle']}]}, "routers[0].interfaces[0]: 'middle' is not a network"),
    ({'servers': [{'name': 'web', 'network': 'middle'}]}, "servers[0].network: 'middle' is not a network of the topology"),
    ({'servers': [{'name': 'web'}]}, 'servers[0].network: every server needs a network'),
    ({'servers': [{'name': 'web', 'network': 'front', 'count': 0}]}, 'servers[0].count: 0 is not a whole number'),
    ({'servers': [{'name': 'web', 'network': 'front', 'security_groups': ['app']}]},
     "servers[0].security_groups[0]: 'app' is not a security group"),
    ({'servers': [{'name': 'web', 'network': 'front', 'flavor': 'x'}]}, 'servers[0].flavor: not a key of servers'),
    ({'security_groups': [{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 'x'}]}]}, 'security_groups[0].rules[0].port'),
])
def test_bad_topologies_name_the_field(change, message):
    with pytest.raises(CloudError) as caught:
        check_topology(dict(SPEC, **change))
    assert str(caught.value).startswith(message), str(caught.value)
