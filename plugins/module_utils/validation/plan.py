# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to probe, from where, and what each probe should find, given a topology and its servers.

The expected verdicts come from the declaration (the topology's security groups and
``expect`` list), never from what the cloud reports, so a cloud that drifted is caught.
"""

from __future__ import annotations

import random

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import normalize_rule
from ansible_collections.cloudops.multicloud.plugins.module_utils.servers import server_names
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology import topology_rules
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.policy import admitting_rule
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.history import topology_key

OUTSIDE = 'outside'
DEFAULT_MTU = 1500
PROTOS = ('icmp', 'tcp', 'udp')
VERDICTS = ('allow', 'deny')
EXPECT_KEYS = {'from', 'to', 'proto', 'port', 'verdict'}
MESH_MODES = ('full', 'sampled', 'partitioned')


class Member:
    """A provisioned server as the plan sees it: declared groups and networks, real addresses."""

    def __init__(self, name, group, spec, server):
        self.name = name
        self.id = server.get('id')
        self.group = group
        self.networks = list(spec.get('networks') or [spec['network']])
        self.security_groups = list(spec.get('security_groups') or [])
        self.addresses = {}
        for nic in server.get('networks') or []:
            self.addresses.setdefault(nic['network'], nic['address'])
        self.private_ip = server.get('private_ip') or next(iter(self.addresses.values()), None)
        self.public_ip = server.get('public_ip')
        self.floating_ip = bool(spec.get('floating_ip'))

    def address_on(self, network):
        return self.addresses.get(network)


class Plan:
    def __init__(self, topology, servers, outside_address=None, throughput_port=5201,
                 probe_port=5999, mesh='full', mesh_peers=3):
        if mesh not in MESH_MODES:
            raise CloudError('mesh: %r is not one of %s' % (mesh, ', '.join(MESH_MODES)))
        if mesh == 'sampled' and (not isinstance(mesh_peers, int) or isinstance(mesh_peers, bool) or mesh_peers < 1):
            raise CloudError('mesh_peers: a sampled mesh needs a whole number of peers of at least 1, got %r'
                             % (mesh_peers,))
        self.topology = topology or {}
        self.mesh = mesh
        self.mesh_peers = mesh_peers
        self.outside_address = outside_address
        self.throughput_port = throughput_port
        self.probe_port = probe_port
        self.mtus = {n['name']: int(n.get('mtu') or DEFAULT_MTU) for n in self.topology.get('networks') or []}
        self.groups = self._security_groups()
        self.declared_groups = {s.get('name') for s in self.topology.get('servers') or []}
        self.members, self.by_group = self._members(servers)

    # ------------------------------------------------------------------ inputs
    def _security_groups(self):
        groups = {}
        networks = self.topology.get('networks') or []
        for index, group in enumerate(self.topology.get('security_groups') or []):
            where = 'security_groups[%d]' % index
            try:
                rules = topology_rules(group.get('rules'), networks)
                groups[group['name']] = [normalize_rule(r, '%s.rules[%d]' % (where, i)) for i, r in enumerate(rules)]
            except CloudError as exc:
                raise CloudError('%s: %s' % (where, exc))
        return groups

    def _members(self, servers):
        by_name = {s['name']: s for s in servers or []}
        members, by_group = {}, {}
        for index, spec in enumerate(self.topology.get('servers') or []):
            if not spec.get('network') and not spec.get('networks'):
                raise CloudError('servers[%d].network: every server needs a network' % index)
            for name in server_names(spec['name'], spec.get('count')):
                if name not in by_name:
                    continue  # not provisioned: its flows are reported as not probed
                members[name] = Member(name, spec['name'], spec, by_name[name])
                by_group.setdefault(spec['name'], []).append(name)
        return members, by_group

    # ------------------------------------------------------------------ semantics
    def path(self, src, dst):
        if src.name == OUTSIDE:
            return 'north-south', None
        shared = [n for n in src.networks if n in dst.networks]
        return ('l2', shared[0]) if shared else ('l3', None)

    def destination(self, src, dst):
        """The address src uses for dst: on their shared network, else dst's first address."""
        path, network = self.path(src, dst)
        if path == 'north-south':
            return dst.public_ip
        return (dst.address_on(network) if network else None) or dst.private_ip

    def expected_mtu(self, src, dst):
        if src.name == OUTSIDE:
            return min(DEFAULT_MTU, self.mtus.get(dst.networks[0], DEFAULT_MTU))
        path, network = self.path(src, dst)
        if network:
            return self.mtus.get(network, DEFAULT_MTU)
        return min(self.mtus.get(src.networks[0], DEFAULT_MTU), self.mtus.get(dst.networks[0], DEFAULT_MTU))

    def _admits(self, member, direction, proto, port, peer_address, peer):
        """A server without groups admits everything; egress is open unless a group restricts it."""
        groups = {g: self.groups.get(g, []) for g in member.security_groups}
        peer_groups = peer.security_groups if peer is not None else ()
        return admitting_rule(groups, direction, proto, port, peer_address, peer_groups)[0] == 'allow'

    def derived_verdict(self, src, dst, proto, port=None):
        """What the declared security groups say about src -> dst."""
        if src.name == OUTSIDE:
            return 'allow' if self._admits(dst, 'ingress', proto, port, self.outside_address, None) else 'deny'
        dst_address = self.destination(src, dst)
        egress = self._admits(src, 'egress', proto, port, dst_address, dst)
        ingress = self._admits(dst, 'ingress', proto, port, src.private_ip, src)
        return 'allow' if egress and ingress else 'deny'

    # ------------------------------------------------------------------ flows
    def _flow(self, src, dst, proto, port, expected, source):
        path, _network = self.path(src, dst)
        return {
            'id': flow_id(src.name, dst.name, proto, port),
            'src': src.name, 'dst': dst.name, 'src_group': src.group, 'dst_group': dst.group,
            'address': self.destination(src, dst), 'proto': proto, 'port': port,
            'path': path, 'expected': expected, 'source': source,
            'mtu': self.expected_mtu(src, dst) if proto == 'icmp' and expected == 'allow' else None,
        }

    def _endpoints(self, value, where):
        if value == OUTSIDE:
            return [self.outside()]
        if value in self.declared_groups:
            return [self.members[n] for n in self.by_group.get(value, [])]
        if value in self.members:
            return [self.members[value]]
        raise CloudError('%s: %r is neither a server nor a server group of the topology' % (where, value))

    def outside(self):
        return Member(OUTSIDE, OUTSIDE, {'network': 'external'}, {'private_ip': self.outside_address})

    def declared_flows(self):
        flows = []
        for index, entry in enumerate(self.topology.get('expect') or []):
            where = 'expect[%d]' % index
            if not isinstance(entry, dict):
                raise CloudError('%s: expected a mapping, got %r' % (where, entry))
            unknown = set(entry) - EXPECT_KEYS
            if unknown:
                raise CloudError('%s.%s: not an expectation key (%s)' % (where, sorted(unknown)[0], ', '.join(sorted(EXPECT_KEYS))))
            proto = entry.get('proto', 'icmp')
            if proto not in PROTOS:
                raise CloudError('%s.proto: %r is not one of %s' % (where, proto, ', '.join(PROTOS)))
            verdict = entry.get('verdict', 'allow')
            if verdict not in VERDICTS:
                raise CloudError('%s.verdict: %r is not one of allow, deny' % (where, verdict))
            port = entry.get('port')
            if proto == 'icmp' and port is not None:
                raise CloudError('%s.port: icmp takes no port' % where)
            if proto != 'icmp':
                if not isinstance(port, int) or not 1 <= port <= 65535:
                    raise CloudError('%s.port: %s needs a port in 1-65535, got %r' % (where, proto, port))
            if entry.get('to') == OUTSIDE:
                raise CloudError('%s.to: the outside vantage can only be a source' % where)
            for src in self._endpoints(entry.get('from'), where + '.from'):
                for dst in self._endpoints(entry.get('to'), where + '.to'):
                    if src.name != dst.name:
                        flows.append(self._flow(src, dst, proto, port, verdict, 'declared'))
        return flows

    def mesh_seed(self):
        """What a sampled mesh is drawn from: the key of the topology's history (its name, or a digest
        of its spec), so every run of it probes the same pairs and its baselines compare."""
        return topology_key(self.topology)

    def mesh_pairs(self):
        """The (src, dst) names the mesh probes: every ordered pair (full), ``mesh_peers`` peers per
        server drawn from the seed (sampled), or one pair per path class, each way (partitioned)."""
        names = sorted(self.members)
        if self.mesh == 'sampled':
            pairs = []
            for src in names:
                others = [n for n in names if n != src]
                chosen = random.Random('%s|%s' % (self.mesh_seed(), src)).sample(others, min(self.mesh_peers, len(others)))
                pairs += [(src, dst) for dst in sorted(chosen)]
            return pairs
        pairs = [(a, b) for a in names for b in names if a != b]
        if self.mesh == 'partitioned':
            chosen = {}
            for src, dst in pairs:
                chosen.setdefault(self.path(self.members[src], self.members[dst])[0], (src, dst))
            return sorted({pair for src, dst in chosen.values() for pair in ((src, dst), (dst, src))})
        return pairs

    def mesh_flows(self):
        return [self._flow(self.members[a], self.members[b], 'icmp', None,
                           self.derived_verdict(self.members[a], self.members[b], 'icmp'), 'mesh')
                for a, b in self.mesh_pairs()]

    def flows(self):
        """Declared flows, then the mesh pairs the declaration did not already cover."""
        declared = self.declared_flows()
        seen = {f['id'] for f in declared}
        return declared + [f for f in self.mesh_flows() if f['id'] not in seen]

    # ------------------------------------------------------------------ activities
    def throughput_pairs(self):
        """One pair per path class whose security groups let iperf3 through, measured with tcp and udp."""
        chosen = {}
        names = sorted(self.members)
        pairs = [(self.members[a], self.members[b]) for a in names for b in names if a != b]
        if self.outside_address:
            pairs += [(self.outside(), self.members[n]) for n in names if self.members[n].public_ip]
        for src, dst in pairs:
            path, _network = self.path(src, dst)
            if path not in chosen and all(self.derived_verdict(src, dst, proto, self.throughput_port) == 'allow'
                                          for proto in ('tcp', 'udp')):
                chosen[path] = {'path': path, 'src': src.name, 'dst': dst.name,
                                'address': self.destination(src, dst), 'port': self.throughput_port}
        return [dict(chosen[path], proto=proto)
                for path in ('l2', 'l3', 'north-south') if path in chosen for proto in ('tcp', 'udp')]

    def floating_ips(self):
        """Probed on TCP to a responder on the server where its groups allow it: an ICMP echo
        proves less, since the router that holds the address answers it too. A server declared
        with a floating IP that has none gets an entry without an address, and a public address
        the topology did not declare must not be reachable from outside."""
        if not self.outside_address:
            return []
        vantage = self.outside()
        entries = []
        for member in sorted(self.members.values(), key=lambda m: m.name):
            if not member.public_ip and not member.floating_ip:
                continue
            tcp = self.derived_verdict(vantage, member, 'tcp', self.probe_port) == 'allow'
            proto, port = ('tcp', self.probe_port) if tcp else ('icmp', None)
            expected = self.derived_verdict(vantage, member, proto, port) if member.floating_ip else 'deny'
            entries.append({'server': member.name, 'address': member.public_ip, 'proto': proto, 'port': port,
                            'id': flow_id(OUTSIDE, member.name, proto, port), 'expect': expect_of(member.name, proto),
                            'expected': expected, 'declared': member.floating_ip})
        return entries

    def security_group_changes(self):
        """Per declared group with a member: a flow its rules deny, to open and close again."""
        changes = []
        for group in sorted(self.groups):
            targets = [m for m in sorted(self.members.values(), key=lambda m: m.name) if group in m.security_groups]
            sources = sorted(self.members.values(), key=lambda m: m.name)
            for dst in targets:
                src = next((s for s in sources if s.name != dst.name and s.private_ip
                            and self.derived_verdict(s, dst, 'tcp', self.probe_port) == 'deny'
                            and self._admits(s, 'egress', 'tcp', self.probe_port, dst.private_ip, dst)), None)
                if src:
                    changes.append({'group': group, 'src': src.name, 'dst': dst.name,
                                    'address': self.destination(src, dst), 'port': self.probe_port,
                                    'rule': {'protocol': 'tcp', 'port': str(self.probe_port),
                                             'remote_cidr': '%s/32' % src.private_ip}})
                    break
        return changes

    def listeners(self, flows, changes, floating_ips):
        """Responders on every port a tcp/udp flow probes, allow and deny alike, so a port the
        declaration denies but the cloud opened shows up as connected; on every server the probe
        port too, so that traffic misdirected to any of them is named by the server it reached."""
        ports = {name: {('tcp', self.probe_port)} for name in self.members}
        for flow in flows:
            if flow['proto'] != 'icmp':
                ports.setdefault(flow['dst'], set()).add((flow['proto'], flow['port']))
        for fip in floating_ips:
            if fip['proto'] == 'tcp':
                ports.setdefault(fip['server'], set()).add(('tcp', fip['port']))
        for change in changes:
            ports.setdefault(change['dst'], set()).add(('tcp', change['port']))
        return [{'host': host, 'identity': {'name': host, 'id': self.members[host].id},
                 'listen': [{'proto': p, 'port': n} for p, n in sorted(ports[host])]}
                for host in sorted(ports)]

    def probes(self, flows):
        by_source = {}
        for flow in flows:
            if flow['address']:
                by_source.setdefault(flow['src'], []).append(
                    {'name': flow['id'], 'address': flow['address'], 'proto': flow['proto'], 'port': flow['port'],
                     'expect': expect_of(flow['dst'], flow['proto'])})
        return [{'src': src, 'targets': by_source[src]} for src in sorted(by_source)]

    def render(self):
        flows = self.flows()
        changes = self.security_group_changes()
        floating_ips = self.floating_ips()
        return {
            'flows': flows,
            'probes': self.probes(flows),
            'listeners': self.listeners(flows, changes, floating_ips),
            'throughput': self.throughput_pairs(),
            'floating_ips': floating_ips,
            'security_group_changes': changes,
            'mtu_max': max([DEFAULT_MTU] + list(self.mtus.values())),
            'servers': sorted(self.members),
            'mesh': {'mode': self.mesh, 'peers': self.mesh_peers if self.mesh == 'sampled' else None,
                     'seed': self.mesh_seed() if self.mesh == 'sampled' else None,
                     'pairs': sum(1 for f in flows if f['source'] == 'mesh')},
        }


def flow_id(src, dst, proto, port):
    return '%s->%s %s' % (src, dst, proto if port is None else '%s/%s' % (proto, port))


def expect_of(dst, proto):
    """The server a probe of dst must be answered by; an ICMP echo names nobody."""
    return None if proto == 'icmp' else dst


def validation_plan(topology, servers, outside_address=None, throughput_port=5201, probe_port=5999,
                    mesh='full', mesh_peers=3):
    return Plan(topology, servers, outside_address, throughput_port, probe_port, mesh, mesh_peers).render()
