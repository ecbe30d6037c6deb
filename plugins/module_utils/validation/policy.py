# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What security group rules admit: one reading for the declared groups of a topology and for the
groups a cloud actually holds."""

from __future__ import annotations

import ipaddress


def rule_admits(rule, direction, proto, port, peer_address, peer_groups):
    """Whether a normalized rule admits ``proto``/``port`` in ``direction`` from (or to) a peer with
    ``peer_address`` that belongs to ``peer_groups``; a peer without an address (outside, unknown)
    is admitted only by rules open to everyone."""
    if rule['direction'] != direction or rule['protocol'] not in ('any', proto):
        return False
    if port is not None and rule['port_min'] is not None and not rule['port_min'] <= port <= rule['port_max']:
        return False
    if rule['remote_group']:
        return rule['remote_group'] in (peer_groups or ())
    if peer_address is None:
        return rule['remote_cidr'] == '0.0.0.0/0'
    return ipaddress.IPv4Address(peer_address) in ipaddress.IPv4Network(rule['remote_cidr'])


def admitting_rule(groups, direction, proto, port, peer_address, peer_groups, groupless_open=True):
    """(verdict, (group, rule) or None): how a server in ``groups`` ({name: rules}) treats the traffic.

    A server without groups admits everything where the cloud leaves groupless servers open; egress
    is open unless one of its groups has an egress rule.
    """
    if not groups:
        return ('allow' if groupless_open else 'deny'), None
    if direction == 'egress' and not any(r['direction'] == 'egress' for rules in groups.values() for r in rules):
        return 'allow', None
    for name in sorted(groups):
        for rule in groups[name]:
            if rule_admits(rule, direction, proto, port, peer_address, peer_groups):
                return 'allow', (name, rule)
    return 'deny', None


def describe_rule(rule):
    """'tcp/5432 from 10.10.1.0/24', 'icmp from group web', 'any to 0.0.0.0/0'."""
    what = rule['protocol']
    if rule['port_min'] is not None:
        ports = rule['port_min'] if rule['port_min'] == rule['port_max'] else '%s-%s' % (rule['port_min'], rule['port_max'])
        what = '%s/%s' % (what, ports)
    peer = 'group %s' % rule['remote_group'] if rule['remote_group'] else rule['remote_cidr']
    return '%s %s %s' % (what, 'from' if rule['direction'] == 'ingress' else 'to', peer)


def describe_traffic(proto, port):
    return proto if port is None else '%s/%s' % (proto, port)
