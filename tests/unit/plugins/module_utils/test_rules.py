from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import desired_rules, normalize_rule, normalize_rules


def test_defaults_and_port_range():
    assert normalize_rule({'protocol': 'TCP', 'port': '8000-8100'}) == {
        'direction': 'ingress', 'protocol': 'tcp', 'port_min': 8000, 'port_max': 8100,
        'remote_cidr': '0.0.0.0/0', 'remote_group': None}
    assert normalize_rule({'protocol': 'udp', 'port': 53, 'remote_cidr': '10.0.0.7/24'})['remote_cidr'] == '10.0.0.0/24'


@pytest.mark.parametrize('rule, message', [
    ({'protocol': 'gre'}, "rules[0].protocol: 'gre' is not one of tcp, udp, icmp, any"),
    ({'protocol': 'tcp', 'port': '90-80'}, "rules[0].port: '90-80' is outside 1-65535"),
    ({'protocol': 'tcp', 'port': 'ssh'}, "rules[0].port: 'ssh' is not a port"),
    ({'protocol': 'icmp', 'port': 22}, 'rules[0].port: only tcp and udp rules take a port'),
    ({'remote_cidr': '10.0.0.0/8', 'remote_group': 'x'}, 'rules[0]: give remote_cidr or remote_group, not both'),
    ({'remote_cidr': 'nowhere'}, "rules[0].remote_cidr: 'nowhere' is not an IPv4 CIDR"),
    ({'direction': 'inbound'}, "rules[0].direction: 'inbound' is not one of ingress, egress"),
])
def test_bad_rules_name_the_field(rule, message):
    with pytest.raises(CloudError) as info:
        normalize_rule(rule)
    assert str(info.value).startswith(message)


def test_duplicates_collapse_and_purge():
    wanted = normalize_rules([{'protocol': 'icmp'}, {'protocol': 'icmp'}])
    assert len(wanted) == 1
    existing = normalize_rules([{'protocol': 'tcp', 'port': 22}])
    assert desired_rules(existing, wanted, purge=True) == wanted
    assert desired_rules(existing, wanted, purge=False) == existing + wanted
