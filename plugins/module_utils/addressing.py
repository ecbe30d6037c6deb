# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 subnet checks and address allocation."""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


def parse_cidr(cidr, field='cidr'):
    """A subnet CIDR with host bits clear and room for a gateway and at least one host."""
    try:
        network = ipaddress.IPv4Network(str(cidr), strict=True)
    except ValueError as exc:
        raise CloudError('%s: %r is not a valid IPv4 network (%s)' % (field, cidr, exc))
    if network.prefixlen > 29:
        raise CloudError('%s: %s is too small; use a /29 or larger' % (field, cidr))
    return network


def check_no_overlap(network, others, field='cidr'):
    """others: {label: cidr}. Refuse a subnet that overlaps any of them."""
    for label, other in others.items():
        if network.overlaps(ipaddress.IPv4Network(other)):
            raise CloudError('%s: %s overlaps %s (%s)' % (field, network, label, other))


def gateway_for(network, gateway_ip=None, field='gateway_ip'):
    if gateway_ip is None:
        return str(next(network.hosts()))
    try:
        address = ipaddress.IPv4Address(gateway_ip)
    except ValueError:
        raise CloudError('%s: %r is not an IPv4 address' % (field, gateway_ip))
    if address not in network or address in (network.network_address, network.broadcast_address):
        raise CloudError('%s: %s is not a host address of %s' % (field, gateway_ip, network))
    return str(address)


def allocate(network, used, wanted=None, field='fixed_ip', first_host=1):
    """Return a free host address of network, `wanted` if given. ``used`` is a set of strings."""
    if wanted is not None:
        try:
            address = ipaddress.IPv4Address(wanted)
        except ValueError:
            raise CloudError('%s: %r is not an IPv4 address' % (field, wanted))
        if address not in network or address in (network.network_address, network.broadcast_address):
            raise CloudError('%s: %s is not a host address of %s' % (field, wanted, network))
        if str(address) in used:
            raise CloudError('%s: %s is already in use' % (field, wanted))
        return str(address)
    for index, address in enumerate(network.hosts()):
        if index + 1 >= first_host and str(address) not in used:
            return str(address)
    raise CloudError('%s: no free address is left in %s' % (field, network))
