# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local lab: VMs are namespaces, networks are bridges in one fabric namespace.

Every change is planned against the lab state first (validation, addresses, ids), then
applied to the kernel. Check mode runs the same plan on a copy and applies nothing.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import ipaddress
import os
import signal
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils import addressing
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, InUse, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import (
    FloatingIp, Keypair, Network, Router, SecurityGroup, Server, Subnet,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import spawn_detached
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.base import Provider, named
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local import catalog, guest_sshd, keys, nftables
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.kernel import (
    Kernel, check_privileges, namespace_inits,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.lab_state import LabState
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.names import (
    HOSTNAME_MAX, LabNames, ifname, new_id,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import RUN_ID_LABEL, in_run

STATE_ROOT = '/run/cloudops-multicloud'
EXTERNAL = 'external'
DEFAULT_EXTERNAL_CIDR = '198.18.0.0/24'  # RFC 2544 benchmarking space: never routed anywhere
CONNECTION_PLUGIN = 'cloudops.multicloud.netns'
# ip netns exec has already mounted this namespace's own /sys. $1, $2: the VM's sshd config and log, if any.
INIT_SCRIPT = 'hostname "$0" || exit 1; [ -z "$1" ] || %s -f "$1" -E "$2"; exec sleep infinity' % guest_sshd.SSHD


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class LocalProvider(Provider):
    family = 'local'
    # check_many plans a whole batch on a copy of the lab, so any step may name what an earlier one makes.
    checks_whole_batches = True

    def __init__(self, cloud, settings, commands, timeout=180, wait=True, api_retries=3):
        super().__init__(cloud, settings, timeout=timeout, wait=wait, api_retries=api_retries)
        check_privileges()
        self.names = LabNames(cloud)
        self.external = addressing.parse_cidr(settings.get('external_cidr', DEFAULT_EXTERNAL_CIDR),
                                              'external_cidr')
        self.upstream = str(next(self.external.hosts()))  # the outside vantage's address
        self.state_dir = settings.get('state_dir') or os.path.join(STATE_ROOT, cloud)
        self.store = LabState(self.state_dir, timeout)
        self.kernel = Kernel(commands, timeout)
        self.private_keys = {}

    # ------------------------------------------------------------------ reading
    def list(self, kind, name=None):
        data = self.store.read()
        inits = namespace_inits(self.names.server(r['id']) for r in data['servers'].values()) \
            if kind == 'server' else {}
        records = [self._render(kind, data, rec, inits) for rec in data[kind + 's'].values()
                   if name is None or rec.get('name', rec.get('address')) == name]
        if kind == 'network' and name in (None, EXTERNAL):
            records.append(Network(id=EXTERNAL, name=EXTERNAL, external=True, subnets=[]))
        return records

    def images(self, name=None):
        return named(catalog.IMAGES, name)

    def sizes(self, name=None):
        return named(catalog.SIZES, name)

    def describe(self):
        data = self.store.read()
        return {
            'name': self.cloud,
            'provider': self.family,
            'region': None,
            'external_networks': [{'name': EXTERNAL, 'cidr': str(self.external),
                                   'upstream_address': self.upstream}],
            'outside_netns': self.names.outside,
            'state_dir': self.state_dir,
            'counts': {kind: len(data[kind]) for kind in sorted(data)},
            'capabilities': {'floating_ips': True, 'security_groups': True, 'routers': True,
                             'bulk_create': True, 'data_plane': True, 'network_mtu': True},
        }

    def data_plane(self):
        return True

    def guest_access(self):
        """netns by default; over SSH the controller enters the external network through the outside vantage."""
        return {'default_mode': 'netns', 'netns': True, 'user': 'root', 'jump_host': None, 'groupless_open': True,
                'ssh_from': '%s/32' % self.upstream, 'endpoint_host': None, 'data_plane_reason': None,
                'proxy_command': 'ip netns exec %s nc %%h %%p' % self.names.outside}

    def labelled(self, labels):
        """Every object whose labels include all of ``labels``: what a run left behind."""
        data = self.store.read()
        found = []
        for plural in sorted(data):
            for rec in data[plural].values():
                if all(rec.get('labels', {}).get(k) == v for k, v in labels.items()):
                    found.append({'kind': plural[:-1], 'id': rec['id'],
                                  'name': rec.get('name') or rec.get('address')})
        return found

    # ------------------------------------------------------------------ the interface
    def check_create(self, kind, name, desired):
        data = copy.deepcopy(self.store.read())
        rec, _apply = getattr(self, '_plan_create_' + kind)(data, name, desired)
        return self._render(kind, data, rec)

    def create(self, kind, name, desired):
        return self.create_many(kind, [name], desired)[0]

    def create_many(self, kind, names, desired):
        records = []
        with self.store.transaction() as data:
            planned = [getattr(self, '_plan_create_' + kind)(data, name, desired) for name in names]
            self.store.checkpoint(data)
            for rec, apply in planned:
                self._apply(rec, apply)
            if kind == 'server':
                # Every init of a batch boots at once; then each is awaited.
                for rec, _apply in planned:
                    self._apply(rec, lambda r=rec: self._await_boot(r, run_user_data=True))
            self._sync_security(data)
            inits = namespace_inits(self.names.server(r['id']) for r, _a in planned) \
                if kind == 'server' else {}
            records = [self._render(kind, data, rec, inits) for rec, _a in planned]
        return records

    def check_update(self, kind, record, changes):
        data = copy.deepcopy(self.store.read())
        getattr(self, '_plan_update_' + kind)(data, self._rec(data, kind, record['id']), changes)

    def update(self, kind, record, changes):
        with self.store.transaction() as data:
            rec = self._rec(data, kind, record['id'])
            apply = getattr(self, '_plan_update_' + kind)(data, rec, changes)
            self.store.checkpoint(data)
            try:
                apply()
            except Exception:
                rec['status'] = 'ERROR'
                raise
            self._sync_security(data)
            return self._render(kind, data, rec, self._inits_for(kind, rec))

    def check_delete(self, kind, record):
        data = copy.deepcopy(self.store.read())
        self._plan_delete(kind, data, self._rec(data, kind, record['id']))

    def delete(self, kind, record):
        with self.store.transaction() as data:
            rec = data[kind + 's'].get(record['id'])
            if rec is None:
                return
            self._plan_delete(kind, data, rec)()
            self._sync_security(data)
            self._collapse_if_empty(data)

    def check_action(self, record, action):
        data = copy.deepcopy(self.store.read())
        self._plan_action(data, self._rec(data, 'server', record['id']), action)

    def server_action(self, record, action):
        with self.store.transaction() as data:
            rec = self._rec(data, 'server', record['id'])
            self._plan_action(data, rec, action)()
            return self._render('server', data, rec, self._inits_for('server', rec))

    def check_many(self, steps):
        data = copy.deepcopy(self.store.read())
        created, results = {}, []
        for op, kind, target, arg in steps:
            if op == 'create':
                planned = [getattr(self, '_plan_create_' + kind)(data, name, arg)[0] for name in target]
                results.append([self._render(kind, data, rec) for rec in planned])
                for name, rec in zip(target, planned):
                    rec['status'] = 'ACTIVE'  # as create_many leaves it, for the steps after
                    created[(kind, name)] = rec
                continue
            rec = created.get((kind, target)) if isinstance(target, str) else self._rec(data, kind, target['id'])
            if op == 'update':
                getattr(self, '_plan_update_' + kind)(data, rec, arg)
            elif op == 'action':
                self._plan_action(data, rec, arg)
            else:
                self._plan_delete(kind, data, rec)
            results.append(None)
        return results

    # ------------------------------------------------------------------ helpers
    def _rec(self, data, kind, rid):
        rec = data[kind + 's'].get(rid)
        if rec is None:
            raise NotFound('%s %s no longer exists in lab %s' % (kind, rid, self.cloud))
        return rec

    def _by_name(self, data, kind, name, field, labels=None):
        """The one ``kind`` named ``name`` among those the run of ``labels`` (or the provider's run
        scope) may see, so runs that reuse names never see each other's."""
        if kind == 'network' and name == EXTERNAL:
            return None
        found = in_run([r for r in data[kind + 's'].values() if r['name'] == name],
                       (labels or {}).get(RUN_ID_LABEL) or self.run_scope, lambda r: r.get('labels'))
        if not found:
            raise NotFound('%s: %s %r does not exist in lab %s' % (field, kind.replace('_', ' '), name, self.cloud))
        if len(found) > 1:
            raise CloudError('%s: %d objects of kind %s are named %r' % (field, len(found), kind, name))
        return found[0]

    def _apply(self, rec, apply):
        rec['status'] = 'BUILD'
        try:
            apply()
        except Exception:
            rec['status'] = 'ERROR'
            raise
        rec['status'] = 'ACTIVE'

    def _inits_for(self, kind, rec):
        return namespace_inits([self.names.server(rec['id'])]) if kind == 'server' else {}

    def _taken_ids(self, data):
        ids = [rid for plural in data for rid in data[plural]]
        for plural in ('servers', 'routers'):
            ids += [p['id'] for r in data[plural].values() for p in r['ports']]
        return ids

    def _check_labels(self, labels):
        for key, value in (labels or {}).items():
            if not isinstance(value, str):
                raise CloudError('labels.%s: label values are strings, got %r' % (key, value))

    def _ports(self, data):
        for plural in ('servers', 'routers'):
            for rec in data[plural].values():
                for port in rec['ports']:
                    yield rec, port

    def _used_addresses(self, data, subnet):
        used = {subnet['gateway_ip']}
        used.update(p['address'] for _r, p in self._ports(data) if p.get('subnet_id') == subnet['id'])
        return used

    def _external_used(self, data):
        used = {self.upstream}
        used.update(p['address'] for _r, p in self._ports(data) if p.get('subnet_id') == EXTERNAL)
        used.update(f['address'] for f in data['floating_ips'].values())
        return used

    def _bridge(self, network_id):
        return 'br-ext' if network_id == EXTERNAL else ifname('br', network_id)

    def _plug(self, port, other_ns, prefixlen, mtu):
        """A veth from the port's bridge in the fabric to other_ns, addressed there."""
        fabric_end = ifname('p', port['id'])
        self.kernel.ip_batch(self.names.fabric, [
            'link add %s mtu %d type veth peer name %s mtu %d netns %s'
            % (fabric_end, mtu, port['ifname'], mtu, other_ns),
            'link set %s master %s up' % (fabric_end, self._bridge(port['network_id'])),
        ])
        self.kernel.ip_batch(other_ns, [
            'addr add %s/%d dev %s' % (port['address'], prefixlen, port['ifname']),
            'link set %s up' % port['ifname'],
        ])

    def _unplug(self, port):
        fabric_end = ifname('p', port['id'])
        if self.kernel.link_exists(self.names.fabric, fabric_end):
            self.kernel.ip_batch(self.names.fabric, ['link del %s' % fabric_end])

    def _network_mtu(self, data, network_id):
        return 1500 if network_id == EXTERNAL else data['networks'][network_id]['mtu']

    def _ensure_fabric(self):
        """The fabric namespace with the external bridge, and the outside vantage on it."""
        fabric, outside = self.names.fabric, self.names.outside
        if fabric in self.kernel.namespaces() and outside in self.kernel.namespaces():
            return
        self.kernel.add_namespace(fabric)
        if not self.kernel.link_exists(fabric, 'br-ext'):
            self.kernel.ip_batch(fabric, ['link add br-ext type bridge', 'link set br-ext up'])
        self.kernel.add_namespace(outside)
        if not self.kernel.link_exists(outside, 'eth0'):
            self.kernel.ip_batch(fabric, [
                'link add p-outside type veth peer name eth0 netns %s' % outside,
                'link set p-outside master br-ext up'])
            self.kernel.ip_batch(outside, [
                'addr add %s/%d dev eth0' % (self.upstream, self.external.prefixlen),
                'link set eth0 up'])
        if outside not in namespace_inits([outside]):
            # The outside vantage runs tasks like a VM does, so it gets an init too.
            self._start_init(outside, 'outside', os.path.join(self.state_dir, 'console-outside.log'))

    def _collapse_if_empty(self, data):
        """With no network, router or server left, the fabric and outside go too."""
        if data['networks'] or data['routers'] or data['servers']:
            return
        for pid in namespace_inits([self.names.outside]).values():
            os.kill(pid, signal.SIGKILL)
        self.kernel.delete_namespace(self.names.outside)
        self.kernel.delete_namespace(self.names.fabric)

    # ------------------------------------------------------------------ rendering
    def _name(self, data, plural, rid):
        if rid == EXTERNAL:
            return EXTERNAL
        rec = data[plural].get(rid)
        return rec['name'] if rec else None

    def _render(self, kind, data, rec, inits=None):
        labels = dict(rec.get('labels') or {})
        if kind == 'network':
            subnets = sorted(s['name'] for s in data['subnets'].values() if s['network_id'] == rec['id'])
            return Network(id=rec['id'], name=rec['name'], status=rec['status'], mtu=rec['mtu'],
                           subnets=subnets, labels=labels, cidr=rec.get('cidr'))
        if kind == 'subnet':
            return Subnet(id=rec['id'], name=rec['name'], cidr=rec['cidr'], gateway_ip=rec['gateway_ip'],
                          network=self._name(data, 'networks', rec['network_id']), labels=labels)
        if kind == 'router':
            gateway = [p for p in rec['ports'] if p['subnet_id'] == EXTERNAL]
            return Router(
                id=rec['id'], name=rec['name'], status=rec['status'], labels=labels,
                interfaces=sorted(self._name(data, 'subnets', p['subnet_id'])
                                  for p in rec['ports'] if p['subnet_id'] != EXTERNAL),
                external_network=EXTERNAL if gateway else None,
                external_address=gateway[0]['address'] if gateway else None)
        if kind == 'security_group':
            return SecurityGroup(id=rec['id'], name=rec['name'], description=rec['description'],
                                 rules=copy.deepcopy(rec['rules']), labels=labels)
        if kind == 'keypair':
            return Keypair(id=rec['id'], name=rec['name'], type=rec['type'], public_key=rec['public_key'],
                           fingerprint=rec['fingerprint'], labels=labels,
                           private_key=self.private_keys.get(rec['id']))
        if kind == 'floating_ip':
            return FloatingIp(id=rec['id'], address=rec['address'], network=EXTERNAL, labels=labels,
                              status='ACTIVE' if rec['server_id'] else 'DOWN',
                              server=self._name(data, 'servers', rec['server_id']),
                              fixed_address=rec['fixed_address'],
                              router=self._name(data, 'routers', rec['router_id']))
        return self._render_server(data, rec, inits or {})

    def _render_server(self, data, rec, inits):
        netns = self.names.server(rec['id'])
        status = rec['status']
        if status == 'ACTIVE':
            if rec['power'] == 'off':
                status = 'SHUTOFF'
            elif netns not in inits:
                status = 'BUILD' if rec.get('booting') else 'ERROR'
        networks, addresses = [], {}
        for port in rec['ports']:
            net = self._name(data, 'networks', port['network_id'])
            networks.append({'network': net, 'subnet': self._name(data, 'subnets', port['subnet_id']),
                             'address': port['address'], 'interface': port['ifname']})
            addresses.setdefault(net, []).append(port['address'])
        fips = sorted(f['address'] for f in data['floating_ips'].values() if f['server_id'] == rec['id'])
        return Server(
            id=rec['id'], name=rec['name'], status=status, image=rec['image'], image_id=rec['image'], size=rec['size'],
            networks=networks, addresses=addresses,
            private_ip=rec['ports'][0]['address'] if rec['ports'] else None,
            public_ip=fips[0] if fips else None,
            security_groups=sorted(self._name(data, 'security_groups', g) for g in rec['security_group_ids']),
            key_name=self._name(data, 'keypairs', rec['key_id']) if rec['key_id'] else None,
            labels=dict(rec['labels']), created=rec['created'],
            connection={'type': CONNECTION_PLUGIN, 'netns': netns, 'pid': inits.get(netns)})

    # ------------------------------------------------------------------ networks and subnets
    def _plan_create_network(self, data, name, desired):
        if name == EXTERNAL:
            raise CloudError('name: %r is the lab\'s built-in external network' % EXTERNAL)
        mtu = self._check_mtu(desired.get('mtu'))
        cidr = addressing.parse_cidr(desired['cidr']) if desired.get('cidr') else None
        self._check_labels(desired.get('labels'))
        rec = {'id': new_id(self._taken_ids(data)), 'name': name, 'mtu': mtu, 'status': 'BUILD',
               'cidr': str(cidr) if cidr else None, 'labels': desired.get('labels') or {}, 'created': _now()}
        data['networks'][rec['id']] = rec

        def apply():
            self._ensure_fabric()
            bridge = self._bridge(rec['id'])
            if not self.kernel.link_exists(self.names.fabric, bridge):
                self.kernel.ip_batch(self.names.fabric, ['link add %s mtu %d type bridge' % (bridge, mtu),
                                                         'link set %s up' % bridge])
        return rec, apply

    def _check_mtu(self, mtu):
        if mtu is None:
            return 1500
        if not 576 <= int(mtu) <= 9000:
            raise CloudError('mtu: %r is outside 576-9000' % mtu)
        return int(mtu)

    def _plan_update_network(self, data, rec, changes):
        if 'labels' in changes:
            self._check_labels(changes['labels'])
            rec['labels'] = changes['labels']
        if 'mtu' not in changes:
            return lambda: None
        mtu = rec['mtu'] = self._check_mtu(changes['mtu'])
        ports = [(owner, p) for owner, p in self._ports(data) if p['network_id'] == rec['id']]

        def apply():
            self.kernel.ip_batch(self.names.fabric, ['link set %s mtu %d' % (self._bridge(rec['id']), mtu)] + [
                'link set %s mtu %d' % (ifname('p', p['id']), mtu) for _o, p in ports])
            for owner, port in ports:
                self.kernel.ip_batch(port['netns'], ['link set %s mtu %d' % (port['ifname'], mtu)])
        return apply

    def _users_of(self, data, field, value):
        users = []
        for owner, port in self._ports(data):
            if port.get(field) == value:
                kind = 'server' if owner['id'] in data['servers'] else 'router'
                users.append('%s %r (%s)' % (kind, owner['name'], port['address']))
        return users

    def _plan_delete(self, kind, data, rec):
        return getattr(self, '_plan_delete_' + kind)(data, rec)

    def _plan_delete_network(self, data, rec):
        users = self._users_of(data, 'network_id', rec['id'])
        if users:
            raise InUse('network %r is in use by %s; delete or detach those first'
                        % (rec['name'], ', '.join(sorted(users))))
        for subnet in [s for s in data['subnets'].values() if s['network_id'] == rec['id']]:
            del data['subnets'][subnet['id']]
        del data['networks'][rec['id']]

        def apply():
            bridge = self._bridge(rec['id'])
            if self.kernel.link_exists(self.names.fabric, bridge):
                self.kernel.ip_batch(self.names.fabric, ['link del %s' % bridge])
        return apply

    def _plan_create_subnet(self, data, name, desired):
        if not desired.get('network'):
            raise CloudError('network: a subnet needs the name of its network')
        network = self._by_name(data, 'network', desired['network'], 'network', desired.get('labels'))
        if network is None:
            raise CloudError('network: the external network\'s addresses are managed by the lab')
        cidr = addressing.parse_cidr(desired.get('cidr'))
        if network.get('cidr') and not cidr.subnet_of(ipaddress.IPv4Network(network['cidr'])):
            raise CloudError('cidr: %s is outside network %r, whose range is %s' % (cidr, network['name'], network['cidr']))
        # Ranges are private to a run, as tenant networks are on a cloud: only the run's own may not overlap.
        run = (desired.get('labels') or {}).get(RUN_ID_LABEL)
        others = {'subnet %r' % s['name']: s['cidr'] for s in data['subnets'].values()
                  if s.get('labels', {}).get(RUN_ID_LABEL) == run}
        others['the external network'] = str(self.external)
        addressing.check_no_overlap(cidr, others)
        self._check_labels(desired.get('labels'))
        rec = {'id': new_id(self._taken_ids(data)), 'name': name, 'network_id': network['id'],
               'cidr': str(cidr), 'gateway_ip': addressing.gateway_for(cidr, desired.get('gateway_ip')),
               'status': 'BUILD', 'labels': desired.get('labels') or {}, 'created': _now()}
        data['subnets'][rec['id']] = rec
        return rec, lambda: None

    def _plan_update_subnet(self, data, rec, changes):
        self._check_labels(changes.get('labels'))
        rec['labels'] = changes.get('labels', rec['labels'])
        return lambda: None

    def _plan_delete_subnet(self, data, rec):
        users = self._users_of(data, 'subnet_id', rec['id'])
        if users:
            raise InUse('subnet %r is in use by %s; delete or detach those first'
                        % (rec['name'], ', '.join(sorted(users))))
        del data['subnets'][rec['id']]
        return lambda: None

    # ------------------------------------------------------------------ routers
    def _router_port(self, data, router, subnet_id):
        if subnet_id == EXTERNAL:
            return {'id': new_id(self._taken_ids(data)), 'network_id': EXTERNAL, 'subnet_id': EXTERNAL,
                    'address': addressing.allocate(self.external, self._external_used(data),
                                                   field='external_network', first_host=2),
                    'netns': self.names.router(router['id'])}
        subnet = data['subnets'][subnet_id]
        port = {'id': new_id(self._taken_ids(data)), 'network_id': subnet['network_id'],
                'subnet_id': subnet_id, 'address': subnet['gateway_ip'],
                'netns': self.names.router(router['id'])}
        return port

    def _wanted_subnets(self, data, router, interfaces, external_network):
        wanted = []
        for index, name in enumerate(interfaces or []):
            subnet = self._by_name(data, 'subnet', name, 'interfaces[%d]' % index, router['labels'])
            for owner, port in self._ports(data):
                if port['subnet_id'] == subnet['id'] and owner['id'] != router['id'] \
                        and owner['id'] in data['routers']:
                    raise InUse('interfaces[%d]: subnet %r is already attached to router %r'
                                % (index, name, owner['name']))
            wanted.append(subnet['id'])
        if external_network:
            if external_network != EXTERNAL:
                raise NotFound('external_network: %r is not an external network of lab %s (it has %r)'
                               % (external_network, self.cloud, EXTERNAL))
            wanted.append(EXTERNAL)
        return wanted

    def _plan_router_ports(self, data, rec, wanted):
        """Add and remove ports so that rec has one per wanted subnet; return the kernel work."""
        have = {p['subnet_id']: p for p in rec['ports']}
        removed = [p for sid, p in have.items() if sid not in wanted]
        for port in removed:
            fips = [f['address'] for f in data['floating_ips'].values()
                    if f['router_id'] == rec['id'] and (port['subnet_id'] == EXTERNAL or
                                                        self._fip_subnet(data, f) == port['subnet_id'])]
            if fips:
                raise InUse('router %r routes floating IPs %s through that interface; disassociate them first'
                            % (rec['name'], ', '.join(sorted(fips))))
        rec['ports'] = [p for p in rec['ports'] if p['subnet_id'] in wanted]
        added = []
        for sid in wanted:
            if sid not in have:
                port = self._router_port(data, rec, sid)
                port['ifname'] = ifname('qg' if sid == EXTERNAL else 'qr', port['id'])
                rec['ports'].append(port)
                added.append(port)

        def apply():
            netns = self.names.router(rec['id'])
            for port in removed:
                self._unplug(port)
            for port in added:
                subnet_prefix = self.external.prefixlen if port['subnet_id'] == EXTERNAL else \
                    ipaddress.IPv4Network(data['subnets'][port['subnet_id']]['cidr']).prefixlen
                self._plug(port, netns, subnet_prefix, self._network_mtu(data, port['network_id']))
                if port['subnet_id'] == EXTERNAL:
                    self.kernel.ip_batch(netns, ['route replace default via %s' % self.upstream])
                    self.kernel.announce(netns, port['ifname'], port['address'])
            self._sync_nat(data, rec)
        return apply

    def _fip_subnet(self, data, fip):
        server = data['servers'].get(fip['server_id'])
        for port in (server or {}).get('ports', []):
            if port['address'] == fip['fixed_address']:
                return port['subnet_id']
        return None

    def _plan_create_router(self, data, name, desired):
        self._check_labels(desired.get('labels'))
        rec = {'id': new_id(self._taken_ids(data)), 'name': name, 'status': 'BUILD', 'ports': [],
               'labels': desired.get('labels') or {}, 'created': _now()}
        wanted = self._wanted_subnets(data, rec, desired.get('interfaces'), desired.get('external_network'))
        data['routers'][rec['id']] = rec
        ports_apply = self._plan_router_ports(data, rec, wanted)

        def apply():
            self._ensure_fabric()
            netns = self.names.router(rec['id'])
            self.kernel.add_namespace(netns)
            self.kernel.sysctl(netns, 'net.ipv4.ip_forward', 1)
            ports_apply()
        return rec, apply

    def _plan_update_router(self, data, rec, changes):
        if 'labels' in changes:
            self._check_labels(changes['labels'])
            rec['labels'] = changes['labels']
        current = self._render('router', data, rec)
        interfaces = changes.get('interfaces', current.interfaces)
        external = changes['external_network'] if 'external_network' in changes else current.external_network
        wanted = self._wanted_subnets(data, rec, interfaces, external)
        return self._plan_router_ports(data, rec, wanted)

    def _plan_delete_router(self, data, rec):
        fips = sorted(f['address'] for f in data['floating_ips'].values() if f['router_id'] == rec['id'])
        if fips:
            raise InUse('router %r routes floating IPs %s; disassociate them first'
                        % (rec['name'], ', '.join(fips)))
        del data['routers'][rec['id']]
        return lambda: self.kernel.delete_namespace(self.names.router(rec['id']))

    def _sync_nat(self, data, router):
        gateway = [p for p in router['ports'] if p['subnet_id'] == EXTERNAL]
        internal = [data['subnets'][p['subnet_id']]['cidr'] for p in router['ports'] if p['subnet_id'] != EXTERNAL]
        floating = [(f['address'], f['fixed_address']) for f in data['floating_ips'].values()
                    if f['router_id'] == router['id'] and f['server_id']]
        ruleset = nftables.nat_ruleset(gateway[0]['ifname'] if gateway else None,
                                       gateway[0]['address'] if gateway else None, internal, floating)
        self.kernel.nft(self.names.router(router['id']), ruleset)

    # ------------------------------------------------------------------ security groups
    def _check_rules(self, data, rules, own_name):
        names = {g['name'] for g in data['security_groups'].values()} | {own_name}
        for index, rule in enumerate(rules or []):
            if rule.get('remote_group') and rule['remote_group'] not in names:
                raise NotFound('rules[%d].remote_group: security group %r does not exist in lab %s'
                               % (index, rule['remote_group'], self.cloud))
        return list(rules or [])

    def _plan_create_security_group(self, data, name, desired):
        self._check_labels(desired.get('labels'))
        rec = {'id': new_id(self._taken_ids(data)), 'name': name, 'status': 'BUILD',
               'description': desired.get('description') or '',
               'rules': self._check_rules(data, desired.get('rules'), name),
               'labels': desired.get('labels') or {}, 'created': _now()}
        data['security_groups'][rec['id']] = rec
        return rec, lambda: None

    def _plan_update_security_group(self, data, rec, changes):
        self._check_labels(changes.get('labels'))
        if 'rules' in changes:
            rec['rules'] = self._check_rules(data, changes['rules'], rec['name'])
        rec['description'] = changes.get('description', rec['description'])
        rec['labels'] = changes.get('labels', rec['labels'])
        return lambda: None

    def _plan_delete_security_group(self, data, rec):
        users = sorted(s['name'] for s in data['servers'].values() if rec['id'] in s['security_group_ids'])
        if users:
            raise InUse('security group %r is in use by servers %s; remove it from them first'
                        % (rec['name'], ', '.join(users)))
        referrers = sorted(g['name'] for g in data['security_groups'].values() if g['id'] != rec['id']
                           and any(r.get('remote_group') == rec['name'] for r in g['rules']))
        if referrers:
            raise InUse('security group %r is the remote group of rules in %s; remove those rules first'
                        % (rec['name'], ', '.join(referrers)))
        del data['security_groups'][rec['id']]
        return lambda: None

    def _sync_security(self, data):
        """Render every server's ruleset from its groups; push only the ones that changed."""
        groups = data['security_groups']
        members = {}
        for server in data['servers'].values():
            for gid in server['security_group_ids']:
                members.setdefault(groups[gid]['name'], []).extend(p['address'] for p in server['ports'])
        for server in data['servers'].values():
            if server['status'] == 'ERROR':
                continue
            rules = None
            if server['security_group_ids']:
                rules = [r for gid in server['security_group_ids'] for r in groups[gid]['rules']]
            ruleset = nftables.security_ruleset(rules, members)
            if server.get('ruleset') != _digest(ruleset):
                self.kernel.nft(self.names.server(server['id']), ruleset)
                server['ruleset'] = _digest(ruleset)

    # ------------------------------------------------------------------ keypairs
    def _plan_create_keypair(self, data, name, desired):
        self._check_labels(desired.get('labels'))
        private_key = None
        if desired.get('public_key'):
            key_type, public_key = keys.parse_public_key(desired['public_key'])
        else:
            key_type = 'ssh-ed25519'
            private_key, public_key = keys.generate()
        rec = {'id': new_id(self._taken_ids(data)), 'name': name, 'status': 'ACTIVE', 'type': key_type,
               'public_key': public_key, 'fingerprint': keys.fingerprint(public_key),
               'labels': desired.get('labels') or {}, 'created': _now()}
        data['keypairs'][rec['id']] = rec
        if private_key:
            self.private_keys[rec['id']] = private_key  # returned once, never stored
        return rec, lambda: None

    def _plan_update_keypair(self, data, rec, changes):
        rec['labels'] = changes.get('labels', rec['labels'])
        return lambda: None

    def _plan_delete_keypair(self, data, rec):
        del data['keypairs'][rec['id']]
        return lambda: None

    # ------------------------------------------------------------------ floating IPs
    def _plan_create_floating_ip(self, data, address, desired):
        if desired.get('network', EXTERNAL) not in (None, EXTERNAL):
            raise NotFound('network: %r is not an external network of lab %s (it has %r)'
                           % (desired['network'], self.cloud, EXTERNAL))
        self._check_labels(desired.get('labels'))
        used = self._external_used(data)
        rec = {'id': new_id(self._taken_ids(data)), 'status': 'BUILD', 'server_id': None,
               'fixed_address': None, 'router_id': None, 'labels': desired.get('labels') or {},
               'address': addressing.allocate(self.external, used, address, 'address', first_host=2),
               'created': _now()}
        data['floating_ips'][rec['id']] = rec
        return rec, self._plan_update_floating_ip(data, rec, {'server': desired.get('server')})

    def _plan_update_floating_ip(self, data, rec, changes):
        self._check_labels(changes.get('labels'))
        rec['labels'] = changes.get('labels', rec['labels'])
        if 'server' not in changes:
            return lambda: None
        old_router = data['routers'].get(rec['router_id'])
        rec['server_id'] = rec['fixed_address'] = rec['router_id'] = None
        if changes['server']:
            server = self._by_name(data, 'server', changes['server'], 'server', rec['labels'])
            taken = [f['address'] for f in data['floating_ips'].values()
                     if f['server_id'] == server['id'] and f['id'] != rec['id']]
            if taken:
                raise InUse('server: %r already has floating IP %s' % (server['name'], taken[0]))
            port, router = self._routable_port(data, server)
            rec.update(server_id=server['id'], fixed_address=port['address'], router_id=router['id'])
        new_router = data['routers'].get(rec['router_id'])

        def apply():
            if old_router:
                gateway = [p for p in old_router['ports'] if p['subnet_id'] == EXTERNAL][0]
                self.kernel.run(['ip', '-n', self.names.router(old_router['id']), 'addr', 'del',
                                 rec['address'] + '/32', 'dev', gateway['ifname']], check=False)
                self._sync_nat(data, old_router)
            if new_router:
                gateway = [p for p in new_router['ports'] if p['subnet_id'] == EXTERNAL][0]
                self.kernel.ip_batch(self.names.router(new_router['id']), [
                    'addr replace %s/32 dev %s' % (rec['address'], gateway['ifname'])])
                self.kernel.announce(self.names.router(new_router['id']), gateway['ifname'], rec['address'])
                self._sync_nat(data, new_router)
        return apply

    def _routable_port(self, data, server):
        """The server's first port on a subnet whose router has an external gateway."""
        for port in server['ports']:
            for router in data['routers'].values():
                subnets = {p['subnet_id'] for p in router['ports']}
                if port['subnet_id'] in subnets and EXTERNAL in subnets:
                    return port, router
        raise CloudError('server: %r is on no subnet that a router with an external gateway serves, '
                         'so a floating IP cannot reach it' % server['name'])

    def _plan_delete_floating_ip(self, data, rec):
        apply = self._plan_update_floating_ip(data, rec, {'server': None})
        del data['floating_ips'][rec['id']]
        return apply

    # ------------------------------------------------------------------ servers
    def _plan_create_server(self, data, name, desired):
        if len(name.encode()) >= HOSTNAME_MAX:
            raise CloudError('name: %r is %d bytes; a server name becomes its hostname, which the '
                             'kernel limits to %d bytes' % (name[:20] + '...', len(name.encode()),
                                                            HOSTNAME_MAX - 1))
        image = desired.get('image') or catalog.DEFAULT_IMAGE
        if image not in [i.name for i in catalog.IMAGES]:
            raise NotFound('image: %r is not in the lab catalog (%s)'
                           % (image, ', '.join(i.name for i in catalog.IMAGES)))
        size = desired.get('size') or catalog.DEFAULT_SIZE
        if size not in [s.name for s in catalog.SIZES]:
            raise NotFound('size: %r is not in the lab catalog (%s)'
                           % (size, ', '.join(s.name for s in catalog.SIZES)))
        self._check_labels(desired.get('labels'))
        labels = desired.get('labels')
        groups = [self._by_name(data, 'security_group', g, 'security_groups[%d]' % i, labels)['id']
                  for i, g in enumerate(desired.get('security_groups') or [])]
        key = self._by_name(data, 'keypair', desired['key_name'], 'key_name', labels) if desired.get('key_name') else None
        rec = {'id': new_id(self._taken_ids(data)), 'name': name, 'status': 'BUILD', 'power': 'on',
               'ruleset': _digest(nftables.security_ruleset(None, {})),  # a new namespace has no table
               'image': image, 'size': size, 'security_group_ids': groups,
               'key_id': key['id'] if key else None, 'user_data': desired.get('user_data'),
               'labels': desired.get('labels') or {}, 'created': _now(), 'ports': []}
        netns = self.names.server(rec['id'])
        for index, want in enumerate(desired.get('networks') or []):
            where = 'networks[%d]' % index
            network = self._by_name(data, 'network', want['name'], where + '.name', desired.get('labels'))
            if network is None:
                raise CloudError('%s.name: servers attach to lab networks, not to %r; use a floating IP'
                                 % (where, EXTERNAL))
            subnets = [s for s in data['subnets'].values() if s['network_id'] == network['id']]
            if want.get('subnet'):
                subnets = [s for s in subnets if s['name'] == want['subnet']]
            if not subnets:
                raise NotFound('%s: network %r has no subnet%s to take an address from'
                               % (where, network['name'], ' named %r' % want['subnet'] if want.get('subnet') else ''))
            subnet = sorted(subnets, key=lambda s: s['created'])[0]
            address = addressing.allocate(ipaddress.IPv4Network(subnet['cidr']), self._used_addresses(data, subnet),
                                          want.get('fixed_ip'), where + '.fixed_ip')
            rec['ports'].append({'id': new_id(self._taken_ids(data) + [p['id'] for p in rec['ports']]),
                                 'network_id': network['id'], 'subnet_id': subnet['id'], 'address': address,
                                 'ifname': 'eth%d' % index, 'netns': netns})
            data['servers'][rec['id']] = rec  # so the next port's address sees this one's
        if not rec['ports']:
            raise CloudError('networks: a lab server needs at least one network')
        data['servers'][rec['id']] = rec

        def apply():
            self._ensure_fabric()
            self.kernel.add_namespace(netns)
            for port in rec['ports']:
                subnet = data['subnets'][port['subnet_id']]
                self._plug(port, netns, ipaddress.IPv4Network(subnet['cidr']).prefixlen,
                           self._network_mtu(data, port['network_id']))
            first = data['subnets'][rec['ports'][0]['subnet_id']]
            self.kernel.ip_batch(netns, ['route replace default via %s' % first['gateway_ip']])
            if key:
                guest_sshd.prepare(self.state_dir, rec['id'], key['public_key'])
            self._boot(rec)
        return rec, apply

    def _console(self, rec):
        return os.path.join(self.state_dir, 'console-%s.log' % rec['id'][:8])

    def _boot(self, rec):
        """Start the VM's init: pid 1 of its own PID, UTS and mount namespaces, and sshd when it has a key."""
        sshd = [guest_sshd.config_path(self.state_dir, rec['id']), guest_sshd.log_path(self.state_dir, rec['id'])] \
            if rec.get('key_id') and os.path.exists(guest_sshd.config_path(self.state_dir, rec['id'])) else []
        self._start_init(self.names.server(rec['id']), rec['name'], self._console(rec), sshd)
        rec['booting'] = True

    def _await_boot(self, rec, run_user_data=False):
        """Wait for a booting VM's init (with wait, or to run user data in it), then run its user data."""
        if not (self.wait or run_user_data and rec.get('user_data')):
            return
        pid = self._wait_for_init(rec, present=True)
        rec.pop('booting', None)
        if run_user_data and rec.get('user_data'):
            spawn_detached(['nsenter', '-t', str(pid), '-n', '-u', '-p', '-m', '--', '/bin/sh', '-c', rec['user_data']],
                           output=self._console(rec))

    def _start_init(self, netns, hostname, console_path, sshd=()):
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        spawn_detached(['ip', 'netns', 'exec', netns, 'unshare', '--uts', '--pid', '--mount', '--fork',
                        '--kill-child=KILL', '--mount-proc', '--propagation', 'private',
                        '/bin/sh', '-c', INIT_SCRIPT, hostname] + list(sshd), output=console_path)

    def _wait_for_init(self, rec, present):
        netns = self.names.server(rec['id'])
        deadline = time.monotonic() + self.timeout
        while True:
            pid = namespace_inits([netns]).get(netns)
            if bool(pid) == present:
                return pid
            if time.monotonic() > deadline:
                raise CloudError('timeout: server %r did not %s within %ss (see %s)'
                                 % (rec['name'], 'boot' if present else 'stop', self.timeout, self._console(rec)))
            time.sleep(0.01)

    def _halt(self, rec):
        netns = self.names.server(rec['id'])
        pid = namespace_inits([netns]).get(netns)
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)  # pid 1 of the VM: the kernel ends every process in it
            except ProcessLookupError:
                pass
            self._wait_for_init(rec, present=False)
        rec.pop('booting', None)

    def _plan_update_server(self, data, rec, changes):
        self._check_labels(changes.get('labels'))
        rec['labels'] = changes.get('labels', rec['labels'])
        if 'security_groups' in changes:
            rec['security_group_ids'] = [
                self._by_name(data, 'security_group', g, 'security_groups[%d]' % i, rec['labels'])['id']
                for i, g in enumerate(changes['security_groups'])]
        return lambda: None

    def _plan_action(self, data, rec, action):
        if rec['status'] != 'ACTIVE':
            raise CloudError('server %r is in status %s and cannot %s' % (rec['name'], rec['status'], action))
        netns = self.names.server(rec['id'])
        links = [p['ifname'] for p in rec['ports']]
        rec['power'] = 'off' if action == 'stop' else 'on'

        def stop():
            self._halt(rec)
            self.kernel.ip_batch(netns, ['link set %s down' % name for name in links])

        def start():
            self.kernel.ip_batch(netns, ['link set %s up' % name for name in links])
            first = data['subnets'][rec['ports'][0]['subnet_id']]
            self.kernel.ip_batch(netns, ['route replace default via %s' % first['gateway_ip']])
            self._boot(rec)
            self._await_boot(rec)

        if action == 'stop':
            return stop
        if action == 'start':
            return start
        return lambda: (stop(), start())

    def _plan_delete_server(self, data, rec):
        # Like OpenStack, deleting a server disassociates its floating IPs and keeps them allocated.
        detach = [self._plan_update_floating_ip(data, fip, {'server': None})
                  for fip in data['floating_ips'].values() if fip['server_id'] == rec['id']]
        del data['servers'][rec['id']]

        def apply():
            for step in detach:
                step()
            self._halt(rec)
            self.kernel.delete_namespace(self.names.server(rec['id']))
            guest_sshd.remove(self.state_dir, rec['id'])
            try:
                os.unlink(self._console(rec))
            except FileNotFoundError:
                pass
        return apply

    # ------------------------------------------------------------------ last resort
    def purge(self):
        """Remove every kernel object and record of this lab, whatever state it is in."""
        with self.store.transaction() as data:
            netns = [n for n in self.kernel.namespaces() if self.names.owns(n)]
            for pid in namespace_inits(netns).values():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for name in netns:
                self.kernel.delete_namespace(name)
            guest_sshd.remove_all(self.state_dir)
            for plural in list(data):
                data[plural] = {}
        return netns
