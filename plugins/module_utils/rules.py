# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security group rules: one normalized shape for every provider."""

from __future__ import annotations

import ipaddress

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

PROTOCOLS = ('tcp', 'udp', 'icmp', 'any')
DIRECTIONS = ('ingress', 'egress')


def parse_port(value, where):
    """'22' / 22 / '8000-8100' -> (min, max)."""
    if value is None or value == '':
        return None, None
    text = str(value)
    low, sep, high = text.partition('-')
    try:
        low = int(low)
        high = int(high) if sep else low
    except ValueError:
        raise CloudError('%s.port: %r is not a port or a "low-high" range' % (where, value))
    if not (1 <= low <= high <= 65535):
        raise CloudError('%s.port: %r is outside 1-65535 or its low end is above its high end'
                         % (where, value))
    return low, high


def normalize_rule(rule, where='rules[0]'):
    """Validate a user rule and return its canonical dict."""
    protocol = (rule.get('protocol') or 'any').lower()
    if protocol not in PROTOCOLS:
        raise CloudError('%s.protocol: %r is not one of %s' % (where, protocol, ', '.join(PROTOCOLS)))
    direction = rule.get('direction') or 'ingress'
    if direction not in DIRECTIONS:
        raise CloudError('%s.direction: %r is not one of ingress, egress' % (where, direction))
    port_min, port_max = parse_port(rule.get('port'), where)
    if port_min is not None and protocol not in ('tcp', 'udp'):
        raise CloudError('%s.port: only tcp and udp rules take a port, this rule is %s' % (where, protocol))
    remote_cidr = rule.get('remote_cidr')
    remote_group = rule.get('remote_group')
    if remote_cidr and remote_group:
        raise CloudError('%s: give remote_cidr or remote_group, not both' % where)
    if remote_cidr:
        try:
            remote_cidr = str(ipaddress.IPv4Network(remote_cidr, strict=False))
        except ValueError:
            raise CloudError('%s.remote_cidr: %r is not an IPv4 CIDR' % (where, remote_cidr))
    elif not remote_group:
        remote_cidr = '0.0.0.0/0'
    return {
        'direction': direction,
        'protocol': protocol,
        'port_min': port_min,
        'port_max': port_max,
        'remote_cidr': remote_cidr,
        'remote_group': remote_group or None,
    }


def normalize_rules(rules):
    normalized = []
    for index, rule in enumerate(rules or []):
        canonical = normalize_rule(rule, 'rules[%d]' % index)
        if canonical not in normalized:
            normalized.append(canonical)
    return normalized


def desired_rules(current_rules, wanted_rules, purge):
    """With purge, exactly the wanted rules; without, the current ones plus the wanted."""
    if purge:
        return list(wanted_rules)
    merged = list(current_rules or [])
    merged.extend(r for r in wanted_rules if r not in merged)
    return merged
