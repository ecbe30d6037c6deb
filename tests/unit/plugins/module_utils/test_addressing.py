from __future__ import annotations

import ipaddress

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.addressing import allocate, check_no_overlap, gateway_for, parse_cidr
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


@pytest.mark.parametrize('cidr, message', [
    ('10.0.0.1/24', "cidr: '10.0.0.1/24' is not a valid IPv4 network (10.0.0.1/24 has host bits set)"),
    ('300.1.1.0/24', "cidr: '300.1.1.0/24' is not a valid IPv4 network"),
    ('10.0.0.0/30', 'cidr: 10.0.0.0/30 is too small; use a /29 or larger'),
])
def test_invalid_cidr(cidr, message):
    with pytest.raises(CloudError) as info:
        parse_cidr(cidr)
    assert str(info.value).startswith(message)


def test_overlap_names_the_other():
    with pytest.raises(CloudError, match=r"^cidr: 10.0.0.0/16 overlaps subnet 'a' \(10.0.3.0/24\)$"):
        check_no_overlap(ipaddress.IPv4Network('10.0.0.0/16'), {"subnet 'a'": '10.0.3.0/24'})


def test_gateway_and_allocation():
    net = ipaddress.IPv4Network('10.0.0.0/29')
    assert gateway_for(net) == '10.0.0.1'
    with pytest.raises(CloudError, match='gateway_ip: 10.0.0.7 is not a host address'):
        gateway_for(net, '10.0.0.7')
    used = {'10.0.0.1', '10.0.0.2'}
    assert allocate(net, used) == '10.0.0.3'
    assert allocate(net, used, '10.0.0.6') == '10.0.0.6'
    with pytest.raises(CloudError, match='fixed_ip: 10.0.0.2 is already in use'):
        allocate(net, used, '10.0.0.2')
    with pytest.raises(CloudError, match='no free address is left'):
        allocate(net, {'10.0.0.%d' % i for i in range(1, 7)})
