"""Labels as neutron tags, and neutron's security group rules in the collection's shape."""

from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.network import (
    EXPLICIT_EGRESS, rule_body, visible_rules,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.tags import (
    CIDR_TAG, check_labels, labels_of, own_tag, tag_filter, tags_for,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import normalize_rule


def test_labels_round_trip_through_tags_beside_own_and_foreign_tags():
    tags = tags_for({'run-id': 'r1', 'managed-by': 'cloudops.multicloud'}, {CIDR_TAG: '10.0.0.0/16'}, keep=['legacy'])
    assert tags == sorted(['run-id=r1', 'managed-by=cloudops.multicloud', CIDR_TAG + '=10.0.0.0/16', 'legacy'])
    assert labels_of(tags) == {'run-id': 'r1', 'managed-by': 'cloudops.multicloud'}
    assert own_tag(tags, CIDR_TAG) == '10.0.0.0/16'
    assert tag_filter({'run-id': 'r1', 'a': 'b'}) == 'a=b,run-id=r1'


@pytest.mark.parametrize('labels, message', [
    ({'a': 1}, 'labels.a: label values are strings'),
    ({'a=b': 'c'}, 'labels.a=b: a label key may not contain "="'),
    ({'a': 'x,y'}, 'labels.a: neutron tags may not contain ","'),
    ({'a': 'x' * 300}, 'labels.a: the neutron tag "key=value" is at most 255 characters'),
    ({CIDR_TAG: 'x'}, 'labels.%s: keys starting with cloudops.multicloud/ are kept by the collection' % CIDR_TAG),
])
def test_bad_labels_name_the_label(labels, message):
    with pytest.raises(CloudError) as info:
        check_labels(labels)
    assert str(info.value).startswith(message)


def test_metadata_labels_take_what_tags_cannot():
    assert check_labels({'a=b': 'x,y'}, metadata=True) == {'a=b': 'x,y'}
    with pytest.raises(CloudError, match='at most 255'):
        check_labels({'a': 'x' * 256}, metadata=True)


def raw(direction, ethertype='IPv4', **fields):
    return dict({'id': direction + ethertype + str(sorted(fields.items())), 'direction': direction,
                 'ethertype': ethertype, 'protocol': None, 'port_range_min': None, 'port_range_max': None,
                 'remote_ip_prefix': None, 'remote_group_id': None, 'description': ''}, **fields)


def test_a_new_group_shows_no_rules_and_its_own_remote_group_by_name():
    defaults = [raw('egress'), raw('egress', 'IPv6')]
    assert visible_rules(defaults, {}) == []
    ssh = raw('ingress', protocol='tcp', port_range_min=22, port_range_max=22, remote_ip_prefix='10.0.0.0/24')
    peers = raw('ingress', protocol='icmp', remote_group_id='g1')
    assert visible_rules(defaults + [ssh, peers], {'g1': 'web'}) == [
        normalize_rule({'protocol': 'tcp', 'port': 22, 'remote_cidr': '10.0.0.0/24'}),
        normalize_rule({'protocol': 'icmp', 'remote_group': 'web'})]


def test_egress_rules_replace_the_default_and_an_explicit_allow_all_shows():
    explicit = rule_body(normalize_rule({'direction': 'egress'}), 'g', {})
    assert explicit['description'] == EXPLICIT_EGRESS
    dns = raw('egress', protocol='udp', port_range_min=53, port_range_max=53, remote_ip_prefix='0.0.0.0/0')
    assert visible_rules([raw('egress'), dns], {}) == [
        normalize_rule({'direction': 'egress'}),
        normalize_rule({'direction': 'egress', 'protocol': 'udp', 'port': 53})]
    assert visible_rules([raw('egress', description=EXPLICIT_EGRESS, remote_ip_prefix='0.0.0.0/0')], {}) == [
        normalize_rule({'direction': 'egress'})]


def test_rule_bodies_carry_what_neutron_needs():
    assert rule_body(normalize_rule({'protocol': 'tcp', 'port': '80-81', 'remote_group': 'web'}), 'g', {'web': 'g2'}) == {
        'security_group_id': 'g', 'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': 'tcp',
        'port_range_min': 80, 'port_range_max': 81, 'remote_group_id': 'g2'}
    assert rule_body(normalize_rule({'protocol': 'any'}), 'g', {}) == {
        'security_group_id': 'g', 'direction': 'ingress', 'ethertype': 'IPv4', 'remote_ip_prefix': '0.0.0.0/0'}
