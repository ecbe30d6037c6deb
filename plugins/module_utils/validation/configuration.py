# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a cloud's own configuration says of a flow: the path it takes (a shared network, a router
joining two, a floating IP behind a router's external gateway), the security group rules on both
ends, and the MTU of each hop, with the evidence in words.

The records are what the providers list (cloud_info's ``configuration``), so the judgement is made
from the cloud as it is, not from the topology as it was declared.
"""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.policy import (
    admitting_rule, describe_rule, describe_traffic,
)

OUTSIDE = 'outside'
DEFAULT_MTU = 1500


class Finding:
    """The configuration's verdict on a flow, the path MTU it implies, and why."""

    def __init__(self, verdict, evidence, path_mtu=None):
        self.verdict = verdict
        self.evidence = evidence
        self.path_mtu = path_mtu

    def to_dict(self):
        return {'configuration': self.verdict, 'evidence': list(self.evidence), 'path_mtu': self.path_mtu}


class Configuration:
    def __init__(self, records, outside_address=None, groupless_open=True):
        records = records or {}
        self.outside_address = outside_address
        self.groupless_open = groupless_open
        self.networks = {n['name']: n for n in records.get('network') or []}
        self.subnet_network = {s['name']: s['network'] for s in records.get('subnet') or []}
        self.routers = sorted(records.get('router') or [], key=lambda r: r['name'])
        self.groups = {}
        for group in records.get('security_group') or []:
            self.groups.setdefault(group['name'], []).append(group)
        self.servers = {s['name']: s for s in records.get('server') or []}
        self.floating_ips = records.get('floating_ip') or []

    # ------------------------------------------------------------------ pieces
    def _mtu(self, network):
        return int((self.networks.get(network) or {}).get('mtu') or DEFAULT_MTU)

    def _nics(self, server):
        return [nic for nic in server.get('networks') or [] if isinstance(nic, dict) and nic.get('network')]

    def _address_on(self, server, network):
        return next((nic.get('address') for nic in self._nics(server) if nic['network'] == network), None)

    def _groups_of(self, server):
        """{name: rules} of the server's groups; where names repeat across networks (EC2's VPCs), the
        group of the server's own network."""
        networks = [nic['network'] for nic in self._nics(server)]
        chosen = {}
        for name in server.get('security_groups') or []:
            candidates = self.groups.get(name) or [{}]
            group = next((g for g in candidates if g.get('network') in networks), candidates[0])
            chosen[name] = group.get('rules') or []
        return chosen

    def _router_networks(self, router):
        return {self.subnet_network.get(subnet, subnet) for subnet in router.get('interfaces') or []}

    def _floating_ip_of(self, server):
        return next((f for f in self.floating_ips if f.get('server') in (server['name'], server.get('id'))), None)

    # ------------------------------------------------------------------ path
    def _path(self, src, dst):
        """(reachable, network the destination is reached on, networks on the path, evidence)."""
        if src is None:
            return self._path_from_outside(dst)
        src_nets = [nic['network'] for nic in self._nics(src)]
        dst_nets = [nic['network'] for nic in self._nics(dst)]
        shared = [n for n in src_nets if n in dst_nets]
        if shared:
            return True, shared[0], [shared[0]], ['%s and %s share network %s' % (src['name'], dst['name'], shared[0])]
        for router in self.routers:
            joined = self._router_networks(router)
            src_leg = next((n for n in src_nets if n in joined), None)
            dst_leg = next((n for n in dst_nets if n in joined), None)
            if src_leg and dst_leg:
                return True, dst_leg, [src_leg, dst_leg], ['router %s joins %s and %s' % (router['name'], src_leg, dst_leg)]
        legs = ['%s on %s' % (r['name'], ', '.join(sorted(self._router_networks(r))) or 'no network')
                for r in self.routers]
        return False, None, [], ['no router joins %s (%s) and %s (%s)%s' % (
            src['name'], ', '.join(src_nets) or 'no network', dst['name'], ', '.join(dst_nets) or 'no network',
            ': routers %s' % '; '.join(legs) if legs else ': the run has no router')]

    def _path_from_outside(self, dst):
        fip = self._floating_ip_of(dst)
        if fip is None:
            taken = [f for f in self.floating_ips if f.get('server')]
            note = '; its floating IPs are with %s' % ', '.join(
                sorted('%s (%s)' % (f['server'], f['address']) for f in taken)) if taken else ''
            return False, None, [], ['%s has no floating IP%s' % (dst['name'], note)]
        network = next((nic['network'] for nic in self._nics(dst) if nic.get('address') == fip.get('fixed_address')),
                       None) or next((nic['network'] for nic in self._nics(dst)), None)
        gateway = next((r for r in self.routers if r.get('external_network') and network in self._router_networks(r)),
                       None)
        evidence = ['floating IP %s is associated with %s (%s)' % (fip['address'], dst['name'], fip.get('fixed_address'))]
        if gateway is None:
            return False, network, [], evidence + ['no router with an external gateway has an interface on %s' % network]
        return True, network, [network], evidence + ['router %s has an external gateway and an interface on %s'
                                                     % (gateway['name'], network)]

    # ------------------------------------------------------------------ groups
    def _filtered(self, server, direction, proto, port, peer_address, peer_groups, peer_name):
        """(admitted, evidence) of ``server``'s groups for the traffic in ``direction``."""
        groups = self._groups_of(server)
        verdict, match = admitting_rule(groups, direction, proto, port, peer_address, peer_groups, self.groupless_open)
        traffic = '%s %s %s %s' % (direction, describe_traffic(proto, port), 'from' if direction == 'ingress' else 'to',
                                   peer_name if peer_address is None else '%s (%s)' % (peer_name, peer_address))
        if not groups:
            state = 'open' if verdict == 'allow' else 'closed'
            return verdict == 'allow', ['%s has no security group, and groupless servers are %s here' % (server['name'], state)]
        if match:
            group, rule = match
            return True, ['security group %s of %s admits %s by rule %s'
                          % (group, server['name'], traffic, describe_rule(rule))]
        if verdict == 'allow':
            return True, []  # open egress: nothing worth saying
        held = ['%s: %s' % (name, ', '.join(describe_rule(r) for r in rules if r['direction'] == direction) or
                            'no %s rule' % direction) for name, rules in sorted(groups.items())]
        return False, ['no security group of %s admits %s (%s)' % (server['name'], traffic, '; '.join(held))]

    # ------------------------------------------------------------------ a flow
    def flow(self, src_name, dst_name, proto, port=None):
        """The Finding for ``src_name`` -> ``dst_name`` (``outside`` for the outside vantage)."""
        dst = self.servers.get(dst_name)
        if dst is None:
            return Finding('deny', ['%s does not exist on the cloud' % dst_name])
        src = None if src_name == OUTSIDE else self.servers.get(src_name)
        if src_name != OUTSIDE and src is None:
            return Finding('deny', ['%s does not exist on the cloud' % src_name])
        reachable, network, hops, evidence = self._path(src, dst)
        if not reachable:
            return Finding('deny', evidence)
        mtu = min([self._mtu(n) for n in hops] + ([DEFAULT_MTU] if src is None else []))
        if src is None:
            ingress_ok, said = self._filtered(dst, 'ingress', proto, port, self.outside_address, (), OUTSIDE)
            evidence += said
        else:
            src_address = self._address_on(src, network) or (self._nics(src) or [{}])[0].get('address')
            dst_address = self._address_on(dst, network)
            egress_ok, said = self._filtered(src, 'egress', proto, port, dst_address, dst.get('security_groups'),
                                             dst['name'])
            evidence += said
            ingress_ok, said = self._filtered(dst, 'ingress', proto, port, src_address, src.get('security_groups'),
                                              src['name'])
            evidence += said if egress_ok else []
            ingress_ok = ingress_ok and egress_ok
        if proto == 'icmp':
            evidence.append('path MTU %d: %s' % (mtu, ' -> '.join('%s (%d)' % (n, self._mtu(n)) for n in hops)))
        return Finding('allow' if ingress_ok else 'deny', evidence, mtu)
