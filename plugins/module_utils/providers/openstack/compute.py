# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Nova and glance: servers, key pairs, images and flavors.

A batch of servers is resolved and checked once (image, flavor, networks, groups, key, quota),
then booted by concurrent create requests and awaited with one listing per poll, so a bulk
create takes about as long as the cloud needs to boot its servers side by side.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, InUse, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import Image, Keypair, Server, Size
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local import keys
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.api import QuotaExceeded
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.network import Handler, joined
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.tags import OWN_PREFIX, check_labels

# Requests in flight at once for a batch; nova queues the rest of the work itself.
CONCURRENCY = 16
POLL_SECONDS = 1.0
USER_DATA_MAX = 65535  # bytes, base64 encoded: nova's limit
NAME_MAX = 255
UUID = re.compile(r'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
PLAIN_NAME = re.compile(r'^[A-Za-z0-9_-]+$')  # safe in nova's regular-expression name filter
# A port the collection made for a server (to pick its subnet), deleted with it.
PORT_TAG = OWN_PREFIX + 'server-port'


def spread(function, items, workers=CONCURRENCY):
    """[(item, result or None, exception or None)] of function(item) for every item, in parallel."""
    def attempt(item):
        try:
            return item, function(item), None
        except CloudError as exc:
            return item, None, exc
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(attempt, items))


class Servers(Handler):
    kind = 'server'

    # ------------------------------------------------------------------ reading
    def servers(self, name=None):
        query = {'name': '^%s$' % name} if name is not None and PLAIN_NAME.match(name) else {}
        found = self.call('listing servers', self.compute.servers, details=True, **query)
        return [s for s in found if name is None or s.name == name]

    def live(self, name=None):
        """Servers that still count: a DELETED one is listed until nova has destroyed its record."""
        return [s for s in self.servers(name) if s.status != 'DELETED']

    def list(self, name=None):
        return self.render(self.live(name))

    def render(self, servers):
        if not servers:
            return []
        ports = {}
        for port in self.ports():
            if port.device_id:
                ports.setdefault(port.device_id, []).append(port)
        subnets = {s.id: s.name for s in self.subnets()}
        networks = {n.id: n.name for n in self.networks()}
        fips = {f.port_id: f.floating_ip_address for f in self.floating_ips() if f.port_id}
        images = self.p.image_names()
        return [self._record(s, ports.get(s.id, []), subnets, networks, fips, images) for s in servers]

    def _record(self, server, ports, subnets, networks, fips, images):
        by_address = {}
        for port in ports:
            for fixed in port.fixed_ips or []:
                by_address[fixed['ip_address']] = (port, fixed['subnet_id'])
        ordered = []
        for addresses in (server.addresses or {}).values():
            for entry in addresses:
                if entry.get('OS-EXT-IPS:type', 'fixed') == 'fixed' and entry['addr'] in by_address:
                    ordered.append((entry['addr'],) + by_address.pop(entry['addr']))
        ordered += [(address, port, subnet) for address, (port, subnet) in by_address.items()]
        attached, addresses, public = [], {}, []
        for index, (address, port, subnet_id) in enumerate(ordered):
            if ipaddress.ip_address(address).version != 4:
                continue
            network = networks.get(port.network_id, port.network_id)
            attached.append({'network': network, 'subnet': subnets.get(subnet_id, subnet_id), 'address': address,
                             'interface': 'eth%d' % index})
            addresses.setdefault(network, []).append(address)
            if port.id in fips:
                public.append(fips[port.id])
        image_id = (server.image or {}).get('id') if isinstance(server.image, dict) else getattr(server.image, 'id', None)
        size = (getattr(server.flavor, 'name', None) or getattr(server.flavor, 'id', None)) if server.flavor else None
        return Server(
            id=server.id, name=server.name, status=server.status, image=images.get(image_id, image_id),
            image_id=image_id, size=size, networks=attached, addresses=addresses,
            private_ip=attached[0]['address'] if attached else None, public_ip=public[0] if public else None,
            security_groups=sorted({g['name'] for g in server.security_groups or []}),
            key_name=server.key_name or None, labels=dict(server.metadata or {}), created=server.created_at,
            connection={})

    # ------------------------------------------------------------------ planning
    def plan(self, names, desired):
        """Resolve and check what a batch of servers asks for; returns (boot spec, previews)."""
        for name in names:
            if len(name) > NAME_MAX:
                raise CloudError('name: %r... is %d characters; nova takes at most %d' % (name[:20], len(name), NAME_MAX))
        labels = check_labels(desired.get('labels'), metadata=True)
        image = self.p.find_image(desired.get('image'))
        flavor = self.p.find_flavor(desired.get('size'))
        networks = self._networks(desired.get('networks'))
        groups = self._groups(desired.get('security_groups'))
        key_name = desired.get('key_name')
        if key_name and not self.call('reading key pair %r' % key_name, self.compute.find_keypair, key_name):
            raise NotFound('key_name: key pair %r does not exist on cloud %s' % (key_name, self.p.cloud))
        user_data = None
        if desired.get('user_data'):
            user_data = base64.b64encode(desired['user_data'].encode()).decode()
            if len(user_data) > USER_DATA_MAX:
                raise CloudError('user_data: %d bytes once base64 encoded; nova takes at most %d'
                                 % (len(user_data), USER_DATA_MAX))
        self._check_quota(len(names), flavor)
        spec = {'image': image, 'flavor': flavor, 'networks': networks, 'groups': groups, 'key_name': key_name,
                'user_data': user_data, 'labels': labels}
        previews = [Server(id=None, name=name, status='BUILD', image=image.name, image_id=image.id, size=flavor.name,
                           networks=[{'network': n['network'].name, 'subnet': n['subnet'].name if n['subnet'] else None,
                                      'address': n['fixed_ip'], 'interface': 'eth%d' % i} for i, n in enumerate(networks)],
                           security_groups=sorted(g.name for g in groups), key_name=key_name, labels=labels)
                    for name in names]
        return spec, previews

    def _networks(self, wanted):
        if not wanted:
            raise CloudError('networks: an OpenStack server needs at least one network')
        resolved = []
        for index, want in enumerate(wanted):
            where = 'networks[%d]' % index
            network = self.network(want['name'], where + '.name')
            if network.is_router_external and not network.is_shared:
                raise CloudError('%s.name: %r is an external network; servers attach to project networks and '
                                 'reach it through a router and a floating IP' % (where, network.name))
            subnets = [s for s in self.subnets(network_id=network.id) if s.ip_version == 4]
            subnet = None
            if want.get('subnet'):
                subnet = self.one_by_name('subnet', subnets, want['subnet'], where + '.subnet')
            elif not subnets:
                raise NotFound('%s: network %r has no subnet to take an address from' % (where, network.name))
            if want.get('fixed_ip'):
                self._check_fixed_ip(where, network, [subnet] if subnet else subnets, want['fixed_ip'])
            resolved.append({'network': network, 'subnet': subnet, 'fixed_ip': want.get('fixed_ip')})
        return resolved

    def _check_fixed_ip(self, where, network, subnets, address):
        try:
            ip = ipaddress.IPv4Address(address)
        except ValueError:
            raise CloudError('%s.fixed_ip: %r is not an IPv4 address' % (where, address))
        if not any(ip in ipaddress.IPv4Network(s.cidr) for s in subnets):
            raise CloudError('%s.fixed_ip: %s is outside %s' % (where, ip, joined(s.cidr for s in subnets)))
        users = self.ports(network_id=network.id, fixed_ips='ip_address=%s' % ip)
        if users:
            raise InUse('%s.fixed_ip: %s is already in use on network %r' % (where, ip, network.name))

    def _groups(self, names):
        groups = []
        if names is None:
            return groups
        known = self.call('listing security groups', self.net.security_groups)
        for index, name in enumerate(names):
            groups.append(self.one_by_name('security_group', known, name, 'security_groups[%d]' % index))
        return groups

    def _check_quota(self, count, flavor):
        """The same refusal nova would give, before the first server of the batch is created."""
        limits = self.call('reading the project\'s limits', self.compute.get_limits).absolute
        for what, limit, used, each in (('servers', limits.instances, limits.instances_used, 1),
                                        ('vCPUs', limits.total_cores, limits.total_cores_used, flavor.vcpus),
                                        ('MB of RAM', limits.total_ram, limits.total_ram_used, flavor.ram_mb)):
            if limit is None or limit < 0:
                continue
            if (used or 0) + count * (each or 0) > limit:
                raise QuotaExceeded('quota exceeded on cloud %s: the project uses %d of %d %s and %d more server%s '
                                    'of flavor %r need %d' % (self.p.cloud, used or 0, limit, what, count,
                                                              's' if count > 1 else '', flavor.name, count * each))

    def check_create(self, name, desired):
        return self.plan([name], desired)[1][0]

    def check_batch(self, names, desired):
        """(previews, {name: desired}) of a batch, for check_many."""
        return self.plan(names, desired)[1], {name: desired for name in names}

    # ------------------------------------------------------------------ creating
    def create(self, name, desired):
        return self.create_many([name], desired)[0]

    def create_many(self, names, desired):
        spec, _previews = self.plan(names, desired)
        booted = spread(lambda name: self._boot(name, spec), list(names))
        ids = {name: server.id for name, server, _exc in booted if server is not None}
        failures = {name: str(exc) for name, _server, exc in booted if exc is not None}
        servers = self._await(ids, lambda s: s.status in ('ACTIVE', 'ERROR')) if self.p.wait else \
            {name: self.call('reading server %r' % name, self.compute.get_server, sid) for name, sid in ids.items()}
        for name, server in servers.items():
            if server.status == 'ERROR':
                failures[name] = 'went to ERROR: %s' % ((server.fault or {}).get('message') or 'nova gives no reason')
        records = {r.name: r for r in self.render(list(servers.values()))}
        if failures:
            self._clean_ports(failures)
            made = sorted(records)
            raise CloudError('creating servers: %s%s' % (
                '; '.join('%s %s' % (name, failures[name]) for name in sorted(failures)),
                '; created: %s (delete them with state: absent)' % joined(made) if made else ''),
                servers=[records[name].to_dict() for name in made])
        return [records[name] for name in names]

    def _boot(self, name, spec):
        networks = []
        for index, want in enumerate(spec['networks']):
            if want['subnet'] is not None:
                networks.append({'port': self._port(name, index, want, spec)})
            elif want['fixed_ip']:
                networks.append({'uuid': want['network'].id, 'fixed_ip': want['fixed_ip']})
            else:
                networks.append({'uuid': want['network'].id})
        attrs = {'name': name, 'image_id': spec['image'].id, 'flavor_id': spec['flavor'].id, 'networks': networks,
                 'metadata': spec['labels']}
        if spec['groups']:
            attrs['security_groups'] = [{'name': g.id} for g in spec['groups']]
        if spec['key_name']:
            attrs['key_name'] = spec['key_name']
        if spec['user_data']:
            attrs['user_data'] = spec['user_data']
        return self.call('creating server %r' % name, self.compute.create_server, creates=True, **attrs)

    def _port(self, name, index, want, spec):
        """A port on the asked subnet, for a server whose network entry names one."""
        fixed = {'subnet_id': want['subnet'].id}
        if want['fixed_ip']:
            fixed['ip_address'] = want['fixed_ip']
        attrs = {'name': '%s-eth%d' % (name, index), 'network_id': want['network'].id, 'fixed_ips': [fixed]}
        if spec['groups']:
            attrs['security_group_ids'] = [g.id for g in spec['groups']]
        port = self.call('creating a port of server %r' % name, self.net.create_port, creates=True, **attrs)
        self.call('tagging a port of server %r' % name, self.net.set_tags, port, ['%s=%s' % (PORT_TAG, name)])
        return port.id

    def _clean_ports(self, names):
        """Ports made for servers that were not created, or are deleted, go with them."""
        tags = {'%s=%s' % (PORT_TAG, name) for name in names}
        for port in self.ports():
            if not port.device_id and tags.intersection(port.tags or []):
                self.call('deleting port %s' % port.id, self.net.delete_port, port.id, ignore_missing=True)

    def _await(self, ids, done, gone=False):
        """{name: server} once done(server) holds for every id (with ``gone``: until they no longer exist)."""
        deadline = time.monotonic() + self.p.timeout
        pending, finished = dict(ids), {}
        while pending:
            current = {s.id: s for s in self.servers()}
            for name, sid in list(pending.items()):
                server = current.get(sid)
                if gone and server is None:
                    del pending[name]
                elif not gone and server is not None and done(server):
                    finished[name] = server
                    del pending[name]
            if not pending:
                break
            if time.monotonic() > deadline:
                states = {name: (current[sid].status if sid in current else 'gone') for name, sid in pending.items()}
                raise CloudError('timeout: %s did not %s within %ss (%s)'
                                 % ('server %r' % next(iter(pending)) if len(pending) == 1 else
                                    '%d servers' % len(pending), 'go away' if gone else 'get there', self.p.timeout,
                                    ', '.join('%s %s' % item for item in sorted(states.items())[:5])),
                                 servers=sorted(pending))
            time.sleep(POLL_SECONDS)
        return finished

    # ------------------------------------------------------------------ changing
    def check_update(self, record, changes):
        check_labels(changes.get('labels'), metadata=True)
        if 'security_groups' in changes:
            self._groups(changes['security_groups'])

    def update(self, record, changes):
        self.check_update(record, changes)
        what = 'server %r' % record['name']
        if 'labels' in changes:
            self.call('labelling ' + what, self.compute.set_server_metadata, record['id'], **changes['labels'])
        if 'security_groups' in changes:
            ids = [g.id for g in self._groups(changes['security_groups'])]
            for port in self.ports(device_id=record['id']):
                self.call('setting the security groups of ' + what, self.net.update_port, port, security_groups=ids)
        return self.render([self.call('reading ' + what, self.compute.get_server, record['id'])])[0]

    def check_action(self, record, action):
        status = record.get('status')
        allowed = {'stop': ('ACTIVE',), 'reboot': ('ACTIVE',), 'start': ('SHUTOFF',)}[action]
        if status not in allowed:
            raise CloudError('server %r is in status %s and cannot %s' % (record['name'], status, action))

    def action(self, record, action):
        self.check_action(record, action)
        what = 'server %r' % record['name']
        if action == 'stop':
            self.call('stopping ' + what, self.compute.stop_server, record['id'])
            target = 'SHUTOFF'
        elif action == 'start':
            self.call('starting ' + what, self.compute.start_server, record['id'])
            target = 'ACTIVE'
        else:
            self.call('rebooting ' + what, self.compute.reboot_server, record['id'], 'SOFT')
            target = 'ACTIVE'
        if self.p.wait:
            server = self._await({record['name']: record['id']},
                                 lambda s: s.status in (target, 'ERROR') and not s.task_state)[record['name']]
            if server.status == 'ERROR':
                raise CloudError('%s went to ERROR on %s: %s' % (what, action, (server.fault or {}).get('message')))
        return self.render([self.call('reading ' + what, self.compute.get_server, record['id'])])[0]

    def check_delete(self, record):
        return None

    def delete(self, record):
        self.delete_many([record])

    def delete_many(self, records):
        deleted = spread(lambda r: self.call('deleting server %r' % r['name'], self.compute.delete_server, r['id'],
                                             ignore_missing=True), list(records))
        errors = [str(exc) for _record, _result, exc in deleted if exc is not None]
        if self.p.wait:
            self._await({r['name']: r['id'] for r in records}, None, gone=True)
        self._clean_ports([r['name'] for r in records])
        if errors:
            raise CloudError('; '.join(errors))


class Keypairs(Handler):
    kind = 'keypair'

    def __init__(self, p):
        super().__init__(p)
        self.private_keys = {}

    def list(self, name=None):
        found = self.call('listing key pairs', self.compute.keypairs)
        return [self.render(k) for k in found if name is None or k.name == name]

    def render(self, keypair):
        key_type, public_key = keys.parse_public_key(keypair.public_key)
        return Keypair(id=keypair.name, name=keypair.name, type=key_type, public_key=public_key,
                       fingerprint=keys.fingerprint(public_key), private_key=self.private_keys.get(keypair.name))

    def _validate(self, name, desired):
        if desired.get('labels'):
            raise CloudError('labels: OpenStack key pairs carry no labels; leave labels out for keypair %r' % name)
        if desired.get('public_key'):
            return keys.parse_public_key(desired['public_key'])
        return None

    def check_create(self, name, desired):
        parsed = self._validate(name, desired)
        key_type, public_key = parsed or ('ssh-ed25519', None)
        return Keypair(id=None, name=name, type=key_type, public_key=public_key,
                       fingerprint=keys.fingerprint(public_key) if public_key else None)

    def create(self, name, desired):
        parsed = self._validate(name, desired)
        if parsed:
            public_key = parsed[1]
        else:
            private_key, public_key = keys.generate()
            self.private_keys[name] = private_key  # returned once, never stored
        created = self.call('importing key pair %r' % name, self.compute.create_keypair, creates=True, name=name,
                            public_key=public_key, type='ssh')
        return self.render(created)

    def check_update(self, record, changes):
        if changes.get('labels'):
            raise CloudError('labels: OpenStack key pairs carry no labels')

    def update(self, record, changes):
        self.check_update(record, changes)
        return self.list(record['name'])[0]

    def check_delete(self, record):
        return None

    def delete(self, record):
        self.call('deleting key pair %r' % record['name'], self.compute.delete_keypair, record['name'],
                  ignore_missing=True)


def images(p, name=None):
    query = {'name': name} if name is not None else {}
    found = p.api.call('listing images', p.api.proxy('image').images, **query)
    return sorted((Image(id=i.id, name=i.name, os=i.os_distro or '', description=i.properties.get('description', '')
                         if isinstance(i.properties, dict) else '',
                         min_size='%d GB' % i.min_disk if i.min_disk else None) for i in found if i.status == 'active'),
                  key=lambda i: (i.name or '', i.id))


def sizes(p, name=None):
    found = p.api.call('listing flavors', p.api.proxy('compute').flavors, details=True)
    return sorted((Size(id=f.id, name=f.name, vcpus=f.vcpus, ram_mb=f.ram, disk_gb=f.disk,
                        description=f.description or '') for f in found if name is None or f.name == name),
                  key=lambda s: (s.vcpus, s.ram_mb, s.name))
