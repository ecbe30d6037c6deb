# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""OpenStack through openstacksdk: every kind of the collection on nova, neutron and glance.

network, subnet, router, security_group and floating_ip are their neutron namesakes, server a
nova server, keypair a nova key pair. Labels are neutron tags and server metadata. One handler
per kind does the work; this class routes to them and answers what several kinds share.
"""

from __future__ import annotations

import urllib.parse

from ansible_collections.cloudops.multicloud.plugins.module_utils.access import outside_address
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.base import KINDS, RoutedProvider
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack import compute, network
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.api import OpenStackApi
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.compute import UUID
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.tags import tag_filter

# Kinds neutron can filter by tag, with the listing call of each.
TAGGED = {'network': 'networks', 'subnet': 'subnets', 'router': 'routers', 'security_group': 'security_groups',
          'floating_ip': 'ips'}


class OpenStackProvider(RoutedProvider):
    family = 'openstack'

    def __init__(self, cloud, settings, timeout=180, wait=True, api_retries=3):
        super().__init__(cloud, settings, timeout=timeout, wait=wait, api_retries=api_retries)
        self.api = OpenStackApi(cloud, settings, timeout=timeout, retries=api_retries)
        self.region = self.api.region
        self.handlers = {
            'network': network.Networks(self),
            'subnet': network.Subnets(self),
            'router': network.Routers(self),
            'security_group': network.SecurityGroups(self),
            'floating_ip': network.FloatingIps(self),
            'server': compute.Servers(self),
            'keypair': compute.Keypairs(self),
        }
        self._tags_on_create = None
        self._externals = None

    # ------------------------------------------------------------------ what several kinds share
    @property
    def tags_on_create(self):
        """Whether neutron takes tags in a create request (its tag-creation extension)."""
        if self._tags_on_create is None:
            found = self.api.call('listing network extensions', self.api.proxy('network').extensions)
            self._tags_on_create = any(e.alias == 'tag-creation' for e in found)
        return self._tags_on_create

    @tags_on_create.setter
    def tags_on_create(self, value):
        self._tags_on_create = value

    def external_networks(self):
        if self._externals is None:
            self._externals = self.api.call('listing external networks', self.api.proxy('network').networks,
                                            is_router_external=True)
        return self._externals

    def external_network(self, field):
        """The cloud's external network: the clouds file's external_network, else the only one there is."""
        externals = self.external_networks()
        wanted = self.settings.get('external_network')
        if wanted:
            found = [n for n in externals if wanted in (n.name, n.id)]
            if not found:
                raise NotFound('%s: the external network %r of cloud %s (its external_network setting) does not '
                               'exist; external networks: %s' % (field, wanted, self.cloud,
                                                                 network.joined(n.name for n in externals) or 'none'))
            return found[0]
        if len(externals) == 1:
            return externals[0]
        if not externals:
            raise NotFound('%s: cloud %s has no external network' % (field, self.cloud))
        names = network.joined(n.name for n in externals)
        raise CloudError('%s: cloud %s has %d external networks (%s); name one, or set external_network in the '
                         'cloud\'s entry of the clouds file' % (field, self.cloud, len(externals), names))

    def port_users(self, ports):
        """'server 'web-1' (10.0.0.5)', 'router 'edge'' for the ports that keep a network or subnet in use."""
        users, servers, routers = [], None, None
        for port in ports:
            owner = port.device_owner or ''
            if owner in network.OWN_DEVICE_OWNERS:
                continue
            address = ', '.join(f['ip_address'] for f in port.fixed_ips or [])
            if owner.startswith('compute:'):
                servers = self.server_names() if servers is None else servers
                users.append('server %r (%s)' % (servers.get(port.device_id, port.device_id), address))
            elif owner == network.ROUTER_INTERFACE:
                routers = {r.id: r.name for r in self.handlers['router'].routers()} if routers is None else routers
                users.append('router %r (%s)' % (routers.get(port.device_id, port.device_id), address))
            else:
                users.append('port %s (%s)' % (port.name or port.id, address))
        return users

    def server_names(self):
        found = self.api.call('listing servers', self.api.proxy('compute').servers, details=False)
        return {s.id: s.name for s in found}

    def server_by_name(self, name, field):
        servers = self.handlers['server'].live(name)
        return self.handlers['server'].one_by_name('server', servers, name, field)

    def find_image(self, wanted):
        wanted = wanted or self.settings.get('image')
        if not wanted:
            raise CloudError('image: give the name or id of an image (see image_info), or set image in the '
                             'cloud\'s entry of the clouds file')
        found = [i for i in compute.images(self, None if UUID.match(wanted) else wanted) if wanted in (i.id, i.name)]
        if not found:
            raise NotFound('image: %r is not an active image of cloud %s (see image_info)' % (wanted, self.cloud))
        if len(found) > 1:
            raise CloudError('image: %d images of cloud %s are named %r; give the id of one: %s'
                             % (len(found), self.cloud, wanted, network.joined(i.id for i in found)))
        return found[0]

    def find_flavor(self, wanted):
        wanted = wanted or self.settings.get('size')
        if not wanted:
            raise CloudError('size: give the name of a flavor (see size_info), or set size in the cloud\'s entry '
                             'of the clouds file')
        flavors = compute.sizes(self)
        found = [s for s in flavors if wanted in (s.id, s.name)]
        if not found:
            raise NotFound('size: %r is not a flavor of cloud %s; flavors: %s'
                           % (wanted, self.cloud, network.joined(s.name for s in flavors)))
        return found[0]

    def image_names(self):
        return {i.id: i.name for i in compute.images(self)}

    # ------------------------------------------------------------------ reading
    def images(self, name=None):
        return compute.images(self, name)

    def sizes(self, name=None):
        return compute.sizes(self, name)

    def endpoint_host(self):
        try:
            return urllib.parse.urlparse(self.api.conn.config.get_auth_args().get('auth_url') or '').hostname
        except Exception:  # an unusual auth plugin: the clouds file's ssh_from is needed then
            return None

    def describe(self):
        externals = self.external_networks()
        cidrs = {}
        for subnet in self.handlers['subnet'].subnets():
            cidrs.setdefault(subnet.network_id, []).append(subnet)
        return {
            'name': self.cloud,
            'provider': self.family,
            'region': self.region,
            'external_networks': [self._external_network(n, cidrs.get(n.id, [])) for n in externals],
            'counts': {kind + 's': len(self.handlers[kind].list()) for kind in KINDS},
            'capabilities': {'floating_ips': True, 'security_groups': True, 'routers': True, 'bulk_create': True,
                             'data_plane': self.data_plane(), 'network_mtu': True,
                             'keypair_labels': False},
        }

    def _external_network(self, network, subnets):
        """An external network, and where a guest sees the controller come from when it is the outside vantage."""
        entry = {'name': network.name, 'id': network.id, 'cidr': sorted(s.cidr for s in subnets)[0] if subnets else None}
        if self.data_plane():
            gateway = next((s.gateway_ip for s in subnets if s.gateway_ip and s.ip_version == 4), None)
            entry['upstream_address'] = outside_address(self.settings.get('ssh_from'), gateway)
        return entry

    def labelled(self, labels):
        """[{kind, id, name}] of every object whose labels include all of ``labels``; neutron filters by tag."""
        found = []
        for kind in KINDS:
            if kind in TAGGED and labels:
                listing = getattr(self.api.proxy('network'), TAGGED[kind])
                records = self.api.call('listing %ss by label' % kind.replace('_', ' '), listing,
                                        tags=tag_filter(labels))
                for item in records:
                    found.append({'kind': kind, 'id': item.id, 'name': getattr(item, 'floating_ip_address', None)
                                  if kind == 'floating_ip' else item.name})
                continue
            if kind == 'keypair' and labels:
                continue  # key pairs carry no labels on OpenStack
            for record in self.handlers[kind].list():
                if all((record.labels or {}).get(k) == v for k, v in (labels or {}).items()):
                    found.append({'kind': kind, 'id': record.id, 'name': getattr(record, 'name', None) or record.address})
        return found
