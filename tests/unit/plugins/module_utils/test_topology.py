from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology import topology_rules

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
