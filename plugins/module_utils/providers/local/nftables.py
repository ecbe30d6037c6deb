# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Security groups and NAT as nftables rulesets. Each ruleset replaces its table atomically."""

from __future__ import annotations

SG_TABLE = 'inet cloudops_sg'
NAT_TABLE = 'ip cloudops_nat'


def _replace(table, body):
    """Create-then-delete makes the delete safe when the table is absent; all one transaction."""
    text = 'table %s\ndelete table %s\n' % (table, table)
    if body is not None:
        text += 'table %s {\n%s}\n' % (table, body)
    return text


def _match(rule, peer, members):
    """nft match for one rule; None when a remote group has no members (matches nothing)."""
    parts = []
    if rule['remote_group']:
        if not members:
            return None
        parts.append('ip %s { %s }' % (peer, ', '.join(sorted(members))))
    elif rule['remote_cidr'] and rule['remote_cidr'] != '0.0.0.0/0':
        parts.append('ip %s %s' % (peer, rule['remote_cidr']))
    protocol = rule['protocol']
    if protocol in ('tcp', 'udp'):
        if rule['port_min'] is None:
            parts.append('meta l4proto %s' % protocol)
        elif rule['port_min'] == rule['port_max']:
            parts.append('%s dport %d' % (protocol, rule['port_min']))
        else:
            parts.append('%s dport %d-%d' % (protocol, rule['port_min'], rule['port_max']))
    elif protocol == 'icmp':
        parts.append('meta l4proto icmp')
    else:
        parts.append('meta nfproto ipv4')
    return ' '.join(parts) + ' accept'


def security_ruleset(rules, group_members):
    """Rules of all a server's groups -> its ruleset. None rules: no groups, no filtering.

    Ingress is denied unless a rule allows it; egress is allowed unless some group has
    egress rules, and then only what they allow. Replies to allowed flows pass (stateful).
    """
    if rules is None:
        return _replace(SG_TABLE, None)
    ingress = [r for r in rules if r['direction'] == 'ingress']
    egress = [r for r in rules if r['direction'] == 'egress']
    lines = ['  chain ingress {', '    type filter hook input priority filter; policy drop;',
             '    ct state established,related accept', '    ct state invalid drop',
             '    iifname "lo" accept']
    for rule in ingress:
        match = _match(rule, 'saddr', group_members.get(rule['remote_group'], ()))
        if match:
            lines.append('    ' + match)
    lines += ['  }', '  chain egress {',
              '    type filter hook output priority filter; policy %s;' % ('drop' if egress else 'accept'),
              '    ct state established,related accept', '    oifname "lo" accept']
    for rule in egress:
        match = _match(rule, 'daddr', group_members.get(rule['remote_group'], ()))
        if match:
            lines.append('    ' + match)
    lines.append('  }')
    return _replace(SG_TABLE, '\n'.join(lines) + '\n')


def nat_ruleset(gateway_if, gateway_address, internal_cidrs, floating):
    """Router NAT: floating: [(floating, fixed)]. SNAT to the gateway address for the rest."""
    if not gateway_if:
        return _replace(NAT_TABLE, None)
    lines = ['  chain prerouting {', '    type nat hook prerouting priority dstnat; policy accept;']
    lines += ['    ip daddr %s dnat to %s' % (fip, fixed) for fip, fixed in sorted(floating)]
    lines += ['  }', '  chain postrouting {', '    type nat hook postrouting priority srcnat; policy accept;']
    lines += ['    oifname "%s" ip saddr %s snat to %s' % (gateway_if, fixed, fip)
              for fip, fixed in sorted(floating)]
    if internal_cidrs:
        lines.append('    oifname "%s" ip saddr { %s } snat to %s'
                     % (gateway_if, ', '.join(sorted(internal_cidrs)), gateway_address))
    lines.append('  }')
    return _replace(NAT_TABLE, '\n'.join(lines) + '\n')
