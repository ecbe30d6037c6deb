# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Neutron: networks, subnets, routers, security groups and floating IPs.

Names refer to objects of the project (and the cloud's shared external networks). Every
reference is resolved through the API before anything changes, so check mode fails exactly
where a real run would; labels are neutron tags (see tags.py).
"""

from __future__ import annotations

import ipaddress
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils import addressing
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, InUse, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import FloatingIp, Network, Router, SecurityGroup, Subnet
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.tags import (
    CIDR_TAG, EXTERNAL_TAG, check_labels, labels_of, own_tag, own_tags, tags_for,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import in_run


# The name a task may use for the cloud's external network, whatever the cloud calls it.
EXTERNAL_ALIAS = 'external'
ROUTER_INTERFACE = 'network:router_interface'
# Ports neutron itself keeps on a network; they do not make it "in use".
OWN_DEVICE_OWNERS = ('network:dhcp', 'network:router_gateway', 'network:floatingip')
MTU_MIN = 68  # IPv4's minimum; the maximum is the cloud's and neutron says it when exceeded
# The description an explicit allow-all egress rule carries, so that it differs from neutron's default.
EXPLICIT_EGRESS = 'explicit allow-all egress rule of cloudops.multicloud'


def record_labels(resource):
    """Labels of a nova server (its metadata) or a neutron resource (its tags)."""
    metadata = getattr(resource, 'metadata', None)
    if isinstance(metadata, dict) and metadata:
        return dict(metadata)
    return labels_of(getattr(resource, 'tags', None))


def joined(items):
    items = sorted(items)
    return ', '.join(items[:5]) + (' and %d more' % (len(items) - 5) if len(items) > 5 else '')


class Handler:
    kind = None

    def __init__(self, p):
        self.p = p
        self.api = p.api

    @property
    def net(self):
        return self.api.proxy('network')

    @property
    def compute(self):
        return self.api.proxy('compute')

    def call(self, what, function, *args, **kwargs):
        return self.api.call(what, function, *args, **kwargs)

    def one_by_name(self, kind, records, name, field):
        """The one record named ``name``, or a NotFound/ambiguity line naming ``field``."""
        found = in_run([r for r in records if r.name == name], self.p.run_scope, record_labels)
        if not found:
            raise NotFound('%s: %s %r does not exist on cloud %s' % (field, kind.replace('_', ' '), name, self.p.cloud))
        if len(found) > 1:
            raise CloudError('%s: %d objects of kind %s are named %r on cloud %s; give them distinct names'
                             % (field, len(found), kind, name, self.p.cloud))
        return found[0]

    def set_labels(self, what, resource, labels, own=None):
        """Make the object's tags ``labels`` plus the collection's own facts, keeping foreign tags."""
        current = own_tags(resource.tags)
        current.update(own or {})
        wanted = tags_for(labels, current, keep=resource.tags)
        if sorted(resource.tags or []) != wanted:
            self.call('tagging %s' % what, self.net.set_tags, resource, wanted)

    def create_tagged(self, what, function, attrs, labels, own=None):
        """function(**attrs) with the object's tags in the request where neutron takes them there, so
        that no moment passes with the object untagged; else created, then tagged."""
        tags = tags_for(labels, own)
        if tags and self.p.tags_on_create:
            try:
                return self.call(what, function, creates=True, **dict(attrs, tags=tags))
            except CloudError as exc:
                if "'tags'" not in str(exc):
                    raise
                self.p.tags_on_create = False  # the extension is listed, but this resource does not take them
        made = self.call(what, function, creates=True, **attrs)
        self.set_labels(what.replace('creating ', '', 1), made, labels, own)
        return made

    def check_update(self, record, changes):
        check_labels(changes.get('labels'))

    # references every kind resolves
    def networks(self, **query):
        return self.call('listing networks', self.net.networks, **query)

    def network(self, name, field, external=False):
        """The network named ``name``; EXTERNAL_ALIAS is the cloud's external network."""
        if external and name in (None, EXTERNAL_ALIAS):
            return self.p.external_network(field)
        network = self.one_by_name('network', self.networks(name=name), name, field)
        if external and not network.is_router_external:
            raise CloudError('%s: network %r is not an external network of cloud %s; external networks: %s'
                             % (field, name, self.p.cloud, joined(n.name for n in self.p.external_networks()) or 'none'))
        return network

    def subnets(self, **query):
        return self.call('listing subnets', self.net.subnets, **query)

    def ports(self, **query):
        return self.call('listing ports', self.net.ports, **query)

    def routers(self, **query):
        return self.call('listing routers', self.net.routers, **query)

    def floating_ips(self, **query):
        return self.call('listing floating IPs', self.net.ips, **query)


# ---------------------------------------------------------------------- networks
class Networks(Handler):
    kind = 'network'

    def list(self, name=None):
        networks = self.networks(**({'name': name} if name is not None else {}))
        if not networks:
            return []
        query = {'network_id': networks[0].id} if len(networks) == 1 else {}
        subnets = {}
        for subnet in self.subnets(**query):
            subnets.setdefault(subnet.network_id, []).append(subnet.name)
        return [self.render(n, subnets.get(n.id, [])) for n in networks]

    def render(self, network, subnet_names):
        return Network(id=network.id, name=network.name, status=network.status, mtu=network.mtu or 1500,
                       external=bool(network.is_router_external), subnets=sorted(subnet_names),
                       labels=labels_of(network.tags), cidr=own_tag(network.tags, CIDR_TAG))

    def _validate(self, name, desired):
        if name == EXTERNAL_ALIAS:
            raise CloudError('name: %r names the cloud\'s external network in this collection\'s tasks; '
                             'give the network another name' % EXTERNAL_ALIAS)
        mtu = self._check_mtu(desired.get('mtu'))
        cidr = addressing.parse_cidr(desired['cidr']) if desired.get('cidr') else None
        return mtu, cidr, check_labels(desired.get('labels'))

    def _check_mtu(self, mtu):
        if mtu is not None and int(mtu) < MTU_MIN:
            raise CloudError('mtu: %r is below %d, the least an IPv4 network carries' % (mtu, MTU_MIN))
        return mtu

    def check_create(self, name, desired):
        mtu, cidr, labels = self._validate(name, desired)
        return Network(id=None, name=name, status='BUILD', mtu=mtu or 1500, labels=labels,
                       cidr=str(cidr) if cidr else None)

    def create(self, name, desired):
        mtu, cidr, labels = self._validate(name, desired)
        attrs = {'name': name}
        if mtu is not None:
            attrs['mtu'] = mtu
        network = self.create_tagged('creating network %r' % name, self.net.create_network, attrs, labels,
                                     {CIDR_TAG: str(cidr) if cidr else None})
        return self.render(network, [])

    def check_update(self, record, changes):
        if record['external']:
            raise CloudError('name: %r is an external network of cloud %s; the collection does not change it'
                             % (record['name'], self.p.cloud))
        self._check_mtu(changes.get('mtu'))
        super().check_update(record, changes)

    def update(self, record, changes):
        self.check_update(record, changes)
        what = 'network %r' % record['name']
        network = self.call('reading ' + what, self.net.get_network, record['id'])
        if 'mtu' in changes:
            network = self.call('changing the MTU of ' + what, self.net.update_network, network, mtu=changes['mtu'])
        if 'labels' in changes:
            self.set_labels(what, network, changes['labels'])
        return [r for r in self.list(record['name']) if r.id == record['id']][0]

    def check_delete(self, record):
        if record['external']:
            raise CloudError('name: %r is an external network of cloud %s; the collection does not delete it'
                             % (record['name'], self.p.cloud))
        users = self.p.port_users(self.ports(network_id=record['id']))
        if users:
            raise InUse('network %r is in use by %s; delete or detach those first' % (record['name'], joined(users)))

    def delete(self, record):
        self.check_delete(record)
        self.call('deleting network %r' % record['name'], self.net.delete_network, record['id'], ignore_missing=True)


# ---------------------------------------------------------------------- subnets
class Subnets(Handler):
    kind = 'subnet'

    def list(self, name=None):
        subnets = self.subnets(**({'name': name} if name is not None else {}))
        if not subnets:
            return []
        names = {n.id: n.name for n in self.networks()}
        return [self.render(s, names.get(s.network_id, s.network_id)) for s in subnets]

    def render(self, subnet, network_name):
        return Subnet(id=subnet.id, name=subnet.name, network=network_name, cidr=subnet.cidr,
                      gateway_ip=subnet.gateway_ip, labels=labels_of(subnet.tags))

    def _validate(self, name, desired):
        if not desired.get('network'):
            raise CloudError('network: a subnet needs the name of its network')
        network = self.network(desired['network'], 'network')
        if network.is_router_external:
            raise CloudError('network: %r is an external network of cloud %s; its subnets belong to the cloud'
                             % (network.name, self.p.cloud))
        cidr = addressing.parse_cidr(desired.get('cidr'))
        outer = own_tag(network.tags, CIDR_TAG)
        if outer and not cidr.subnet_of(ipaddress.IPv4Network(outer)):
            raise CloudError('cidr: %s is outside network %r, whose range is %s' % (cidr, network.name, outer))
        addressing.check_no_overlap(cidr, {'subnet %r' % s.name: s.cidr for s in self.subnets(network_id=network.id)
                                           if s.ip_version == 4})
        gateway = addressing.gateway_for(cidr, desired.get('gateway_ip'))
        return network, cidr, gateway, check_labels(desired.get('labels'))

    def check_create(self, name, desired):
        network, cidr, gateway, labels = self._validate(name, desired)
        return Subnet(id=None, name=name, network=network.name, cidr=str(cidr), gateway_ip=gateway, labels=labels)

    def create(self, name, desired):
        network, cidr, gateway, labels = self._validate(name, desired)
        subnet = self.create_tagged('creating subnet %r' % name, self.net.create_subnet, {
            'name': name, 'network_id': network.id, 'ip_version': 4, 'cidr': str(cidr), 'gateway_ip': gateway}, labels)
        return self.render(subnet, network.name)

    def update(self, record, changes):
        self.check_update(record, changes)
        subnet = self.call('reading subnet %r' % record['name'], self.net.get_subnet, record['id'])
        self.set_labels('subnet %r' % record['name'], subnet, changes.get('labels', record['labels']))
        return self.render(self.call('reading subnet %r' % record['name'], self.net.get_subnet, record['id']),
                           record['network'])

    def check_delete(self, record):
        users = self.p.port_users(self.ports(fixed_ips='subnet_id=%s' % record['id']))
        if users:
            raise InUse('subnet %r is in use by %s; delete or detach those first' % (record['name'], joined(users)))

    def delete(self, record):
        self.check_delete(record)
        self.call('deleting subnet %r' % record['name'], self.net.delete_subnet, record['id'], ignore_missing=True)


# ---------------------------------------------------------------------- routers
class Routers(Handler):
    kind = 'router'

    def list(self, name=None):
        routers = self.routers(**({'name': name} if name is not None else {}))
        if not routers:
            return []
        subnets = {s.id: s.name for s in self.subnets()}
        networks = {n.id: n.name for n in self.networks()}
        interfaces = {}
        for port in self.ports(device_owner=ROUTER_INTERFACE):
            for fixed in port.fixed_ips or []:
                interfaces.setdefault(port.device_id, []).append(subnets.get(fixed['subnet_id'], fixed['subnet_id']))
        return [self.render(r, interfaces.get(r.id, []), networks) for r in routers]

    def render(self, router, interface_names, networks):
        gateway = router.external_gateway_info or {}
        external = None
        if gateway.get('network_id'):
            external = own_tag(router.tags, EXTERNAL_TAG) or networks.get(gateway['network_id'], gateway['network_id'])
        fixed = gateway.get('external_fixed_ips') or []
        return Router(id=router.id, name=router.name, status=router.status, interfaces=sorted(interface_names),
                      external_network=external, external_address=fixed[0]['ip_address'] if fixed else None,
                      labels=labels_of(router.tags))

    def _plan(self, name, current, interfaces, external_network, labels):
        """{'subnets': {id: name}, 'external': network or None, 'asked': name as given}, validated."""
        labels = check_labels(labels)
        subnets = {}
        if interfaces:
            known = self.subnets()
            attached = {}
            for port in self.ports(device_owner=ROUTER_INTERFACE):
                for fixed in port.fixed_ips or []:
                    attached[fixed['subnet_id']] = port.device_id
            for index, subnet_name in enumerate(interfaces):
                subnet = self.one_by_name('subnet', known, subnet_name, 'interfaces[%d]' % index)
                owner = attached.get(subnet.id)
                if owner and owner != (current or {}).get('id'):
                    raise InUse('interfaces[%d]: subnet %r is already attached to router %s'
                                % (index, subnet_name, self._router_name(owner)))
                subnets[subnet.id] = subnet.name
        external = self.network(external_network, 'external_network', external=True) if external_network else None
        return {'subnets': subnets, 'external': external, 'asked': external_network or None, 'labels': labels}

    def _router_name(self, router_id):
        found = [r for r in self.routers() if r.id == router_id]
        return repr(found[0].name) if found else router_id

    def check_create(self, name, desired):
        plan = self._plan(name, None, desired.get('interfaces'), desired.get('external_network'), desired.get('labels'))
        return Router(id=None, name=name, status='BUILD', interfaces=sorted(plan['subnets'].values()),
                      external_network=plan['asked'], labels=plan['labels'])

    def create(self, name, desired):
        plan = self._plan(name, None, desired.get('interfaces'), desired.get('external_network'), desired.get('labels'))
        attrs = {'name': name}
        if plan['external']:
            attrs['external_gateway_info'] = {'network_id': plan['external'].id}
        router = self.create_tagged('creating router %r' % name, self.net.create_router, attrs, plan['labels'],
                                    {EXTERNAL_TAG: plan['asked']})
        for subnet_id, subnet_name in plan['subnets'].items():
            self.call('attaching subnet %r to router %r' % (subnet_name, name), self.net.add_interface_to_router,
                      router, subnet_id=subnet_id)
        return self.record(router.id)

    def record(self, router_id):
        router = self.call('reading router', self.net.get_router, router_id)
        return [r for r in self.list(router.name) if r.id == router_id][0]

    def _fips_through(self, record, subnet_names=None, gateway=False):
        """Floating IPs associated through this router (on ``subnet_names``, or any with ``gateway``)."""
        fips = [f for f in self.floating_ips(router_id=record['id']) if f.port_id]
        if gateway or not fips:
            return [f.floating_ip_address for f in fips]
        subnets = {s.id for s in self.subnets() if s.name in (subnet_names or ())}
        ports = {p.id: p for p in self.ports()} if subnets else {}
        used = []
        for fip in fips:
            port = ports.get(fip.port_id)
            if port and any(f['subnet_id'] in subnets for f in port.fixed_ips or []):
                used.append(fip.floating_ip_address)
        return used

    def check_update(self, record, changes):
        super().check_update(record, changes)
        interfaces = changes.get('interfaces', record['interfaces'])
        external = changes['external_network'] if 'external_network' in changes else record['external_network']
        plan = self._plan(record['name'], record, interfaces, external, changes.get('labels'))
        removed = sorted(set(record['interfaces']) - set(plan['subnets'].values()))
        gateway_goes = 'external_network' in changes and not changes['external_network']
        fips = self._fips_through(record, removed, gateway=gateway_goes) if removed or gateway_goes else []
        if fips:
            raise InUse('router %r routes floating IPs %s through that %s; disassociate them first'
                        % (record['name'], joined(fips), 'gateway' if gateway_goes else 'interface'))
        return plan

    def update(self, record, changes):
        plan = self.check_update(record, changes)
        what = 'router %r' % record['name']
        router = self.call('reading ' + what, self.net.get_router, record['id'])
        if 'external_network' in changes:
            gateway = {'network_id': plan['external'].id} if plan['external'] else {}
            router = self.call('setting the external gateway of ' + what, self.net.update_router, router,
                               external_gateway_info=gateway)
        if 'external_network' in changes or 'labels' in changes:
            self.set_labels(what, router, changes.get('labels', record['labels']), {EXTERNAL_TAG: plan['asked']})
        if 'interfaces' in changes:
            have = {s.name: s.id for s in self.subnets() if s.name in record['interfaces']}
            for subnet_name in sorted(set(record['interfaces']) - set(plan['subnets'].values())):
                self.call('detaching subnet %r from %s' % (subnet_name, what), self.net.remove_interface_from_router,
                          router, subnet_id=have[subnet_name])
            for subnet_id, subnet_name in plan['subnets'].items():
                if subnet_name not in record['interfaces']:
                    self.call('attaching subnet %r to %s' % (subnet_name, what), self.net.add_interface_to_router,
                              router, subnet_id=subnet_id)
        return self.record(record['id'])

    def check_delete(self, record):
        fips = self._fips_through(record, gateway=True)
        if fips:
            raise InUse('router %r routes floating IPs %s; disassociate them first' % (record['name'], joined(fips)))

    def delete(self, record):
        self.check_delete(record)
        what = 'router %r' % record['name']
        for port in self.ports(device_id=record['id'], device_owner=ROUTER_INTERFACE):
            for fixed in port.fixed_ips or []:
                self.call('detaching a subnet from ' + what, self.net.remove_interface_from_router, record['id'],
                          subnet_id=fixed['subnet_id'])
        self.call('deleting ' + what, self.net.delete_router, record['id'], ignore_missing=True)


# ---------------------------------------------------------------------- security groups
def rule_of(raw, group_names):
    """A neutron rule (a dict of the API) in the collection's shape; None for IPv6 rules."""
    if raw.get('ethertype', 'IPv4') != 'IPv4':
        return None
    remote_group = group_names.get(raw['remote_group_id'], raw['remote_group_id']) if raw.get('remote_group_id') else None
    protocol = raw.get('protocol') or 'any'
    ported = protocol in ('tcp', 'udp')
    return {
        'direction': raw['direction'],
        'protocol': protocol,
        'port_min': raw.get('port_range_min') if ported else None,
        'port_max': raw.get('port_range_max') if ported else None,
        'remote_cidr': None if remote_group else (raw.get('remote_ip_prefix') or '0.0.0.0/0'),
        'remote_group': remote_group,
    }


def is_default_egress(raw):
    """Neutron's allow-all egress rules of a new group (IPv4 and IPv6), not one a task asked for."""
    return (raw['direction'] == 'egress' and not raw.get('protocol') and not raw.get('remote_group_id')
            and raw.get('remote_ip_prefix') in (None, '0.0.0.0/0', '::/0') and raw.get('description') != EXPLICIT_EGRESS
            and not raw.get('port_range_min'))


def visible_rules(raws, group_names):
    """The rules a record shows: neutron's default egress is "no egress rules" in the collection's terms."""
    egress = [r for r in raws if r['direction'] == 'egress' and r.get('ethertype', 'IPv4') == 'IPv4']
    hidden = len(egress) == 1 and is_default_egress(egress[0])
    rules = []
    for raw in raws:
        if hidden and is_default_egress(raw):
            continue
        rule = rule_of(raw, group_names)
        if rule is not None and rule not in rules:
            rules.append(rule)
    return rules


def rule_body(rule, group_id, group_ids):
    body = {'security_group_id': group_id, 'direction': rule['direction'], 'ethertype': 'IPv4'}
    if rule['protocol'] != 'any':
        body['protocol'] = rule['protocol']
    if rule['port_min'] is not None:
        body.update(port_range_min=rule['port_min'], port_range_max=rule['port_max'])
    if rule['remote_group']:
        body['remote_group_id'] = group_ids[rule['remote_group']]
    else:
        body['remote_ip_prefix'] = rule['remote_cidr']
    if rule['direction'] == 'egress' and rule['protocol'] == 'any' and rule['remote_cidr'] == '0.0.0.0/0':
        body['description'] = EXPLICIT_EGRESS
    return body


class SecurityGroups(Handler):
    kind = 'security_group'

    def groups(self, **query):
        return self.call('listing security groups', self.net.security_groups, **query)

    def list(self, name=None):
        groups = self.groups(**({'name': name} if name is not None else {}))
        if not groups:
            return []
        names = {g.id: g.name for g in groups}
        if any(r.get('remote_group_id') not in (None, *names) for g in groups for r in g.security_group_rules or []):
            names = {g.id: g.name for g in self.groups()}
        return [self.render(g, names) for g in groups]

    def render(self, group, names):
        return SecurityGroup(id=group.id, name=group.name, description=group.description or '',
                             rules=visible_rules(group.security_group_rules or [], names), labels=labels_of(group.tags))

    def _check_rules(self, rules, own_name):
        known = {g.name for g in self.groups()} | {own_name}
        for index, rule in enumerate(rules or []):
            if rule.get('remote_group') and rule['remote_group'] not in known:
                raise NotFound('rules[%d].remote_group: security group %r does not exist on cloud %s'
                               % (index, rule['remote_group'], self.p.cloud))
        return list(rules or [])

    def check_create(self, name, desired):
        labels = check_labels(desired.get('labels'))
        rules = self._check_rules(desired.get('rules'), name)
        return SecurityGroup(id=None, name=name, description=desired.get('description') or '', rules=rules,
                             labels=labels)

    def create(self, name, desired):
        preview = self.check_create(name, desired)
        group = self.create_tagged('creating security group %r' % name, self.net.create_security_group,
                                   {'name': name, 'description': preview.description}, preview.labels)
        self._sync_rules(group.id, name, preview.rules)
        return self.record(group.id)

    def record(self, group_id):
        group = self.call('reading security group', self.net.get_security_group, group_id)
        return [r for r in self.list(group.name) if r.id == group_id][0]

    def _sync_rules(self, group_id, name, wanted):
        """Make the group's rules exactly ``wanted`` (plus neutron's allow-all egress when none is egress)."""
        what = 'security group %r' % name
        group = self.call('reading ' + what, self.net.get_security_group, group_id)
        ids = {g.name: g.id for g in self.groups()}
        names = {gid: gname for gname, gid in ids.items()}
        raws = group.security_group_rules or []
        keep_default = not any(r['direction'] == 'egress' for r in wanted)
        stale, present = [], []
        for raw in raws:
            if keep_default and is_default_egress(raw):
                continue
            rule = rule_of(raw, names)
            if rule is None and not is_default_egress(raw):
                continue  # IPv6 rules someone else made are beyond the collection's IPv4 rules
            if rule is not None and rule in wanted and rule not in present:
                present.append(rule)
            else:
                stale.append(raw)
        for raw in stale:
            self.call('deleting a rule of ' + what, self.net.delete_security_group_rule, raw['id'], ignore_missing=True)
        bodies = [rule_body(r, group_id, ids) for r in wanted if r not in present]
        if keep_default and not any(is_default_egress(r) for r in raws):
            bodies += [{'security_group_id': group_id, 'direction': 'egress', 'ethertype': ethertype}
                       for ethertype in ('IPv4', 'IPv6')]
        if bodies:
            self.call('adding rules to ' + what, self.net.create_security_group_rules, bodies, creates=True)

    def check_update(self, record, changes):
        super().check_update(record, changes)
        if 'rules' in changes:
            self._check_rules(changes['rules'], record['name'])

    def update(self, record, changes):
        self.check_update(record, changes)
        what = 'security group %r' % record['name']
        group = self.call('reading ' + what, self.net.get_security_group, record['id'])
        if 'description' in changes:
            group = self.call('describing ' + what, self.net.update_security_group, group,
                              description=changes['description'])
        if 'labels' in changes:
            self.set_labels(what, group, changes['labels'])
        if 'rules' in changes:
            self._sync_rules(record['id'], record['name'], changes['rules'])
        return self.record(record['id'])

    def check_delete(self, record):
        if record['name'] == 'default':
            raise CloudError('name: the default security group of the project cannot be deleted')
        users = self.p.port_users([p for p in self.ports() if record['id'] in (p.security_group_ids or [])])
        if users:
            raise InUse('security group %r is in use by %s; delete those or take the group off them first'
                        % (record['name'], joined(users)))
        others = [g.name for g in self.groups() if g.id != record['id'] and
                  any(r.get('remote_group_id') == record['id'] for r in g.security_group_rules or [])]
        if others:
            raise InUse('security group %r is named in rules of %s; change those first'
                        % (record['name'], joined(repr(n) for n in others)))

    def delete(self, record):
        self.check_delete(record)
        self.call('deleting security group %r' % record['name'], self.net.delete_security_group, record['id'],
                  ignore_missing=True)


# ---------------------------------------------------------------------- floating IPs
class FloatingIps(Handler):
    kind = 'floating_ip'

    def list(self, name=None):
        fips = self.floating_ips(**({'floating_ip_address': name} if name is not None else {}))
        if not fips:
            return []
        networks = {n.id: n.name for n in self.p.external_networks()}
        routers = {r.id: r.name for r in self.routers()} if any(f.router_id for f in fips) else {}
        servers = {}
        if any(f.port_id for f in fips):
            ports = {p.id: p.device_id for p in self.ports() if p.device_id}
            names = self.p.server_names()
            servers = {port_id: names.get(device) for port_id, device in ports.items()}
        return [self.render(f, networks, routers, servers) for f in fips]

    def render(self, fip, networks, routers, servers):
        network = own_tag(fip.tags, EXTERNAL_TAG) or networks.get(fip.floating_network_id, fip.floating_network_id)
        return FloatingIp(id=fip.id, address=fip.floating_ip_address, status=fip.status or 'DOWN', network=network,
                          server=servers.get(fip.port_id) if fip.port_id else None,
                          fixed_address=fip.fixed_ip_address if fip.port_id else None,
                          router=routers.get(fip.router_id) if fip.port_id else None, labels=labels_of(fip.tags))

    def _network(self, desired):
        return self.network(desired.get('network'), 'network', external=True)

    def routable_port(self, server_name, network, planned=None):
        """(port id, fixed address, router) by which a floating IP on ``network`` reaches the server.

        ``planned``: {name: desired} of servers a batch is about to create, checked by their networks.
        """
        routers = [r for r in self.routers() if (r.external_gateway_info or {}).get('network_id') == network.id]
        routed = {}
        for port in self.ports(device_owner=ROUTER_INTERFACE):
            for router in routers:
                if port.device_id == router.id:
                    for fixed in port.fixed_ips or []:
                        routed[fixed['subnet_id']] = router
        if planned and server_name in planned:
            for want in planned[server_name].get('networks') or []:
                subnets = self.subnets(network_id=self.network(want['name'], 'networks').id)
                if any(s.id in routed and (not want.get('subnet') or s.name == want['subnet']) for s in subnets):
                    return None, None, None
        else:
            server = self.p.server_by_name(server_name, 'server')
            for port in self.ports(device_id=server.id):
                for fixed in port.fixed_ips or []:
                    if fixed['subnet_id'] in routed:
                        return port.id, fixed['ip_address'], routed[fixed['subnet_id']]
        raise CloudError('server: %r is on no subnet that a router with a gateway on network %r serves, so a '
                         'floating IP cannot reach it' % (server_name, network.name))

    def _validate(self, address, desired, planned=None):
        network = self._network(desired)
        labels = check_labels(desired.get('labels'))
        if address:
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                raise CloudError('address: %r is not an IPv4 address' % address)
            if self.floating_ips(floating_ip_address=address):
                raise InUse('address: floating IP %s is already allocated' % address)
        target = (None, None, None)
        if desired.get('server'):
            target = self.routable_port(desired['server'], network, planned)
            if not planned or desired['server'] not in planned:
                taken = [f.floating_ip_address for f in self.floating_ips(port_id=target[0])]
                if taken:
                    raise InUse('server: %r already has floating IP %s' % (desired['server'], taken[0]))
        return network, labels, target

    def check_create(self, address, desired, planned=None):
        network, labels, (_port, fixed, router) = self._validate(address, desired, planned)
        return FloatingIp(id=None, address=address, network=desired.get('network') or network.name,
                          status='ACTIVE' if desired.get('server') else 'DOWN', server=desired.get('server') or None,
                          fixed_address=fixed, router=router.name if router else None, labels=labels)

    def create(self, address, desired):
        network, labels, (port_id, fixed, _router) = self._validate(address, desired)
        own = {EXTERNAL_TAG: desired.get('network') if desired.get('network') not in (None, network.name) else None}
        attrs = {'floating_network_id': network.id}
        if address:
            attrs['floating_ip_address'] = address
        if port_id:
            attrs.update(port_id=port_id, fixed_ip_address=fixed)
        fip = self.create_tagged('creating a floating IP on network %r' % network.name, self.net.create_ip, attrs,
                                 labels, own)
        if port_id:
            self._await_status(fip.id, 'ACTIVE')
        return self.record(fip.id)

    def record(self, fip_id):
        fip = self.call('reading floating IP', self.net.get_ip, fip_id)
        return [r for r in self.list(fip.floating_ip_address) if r.id == fip_id][0]

    def _await_status(self, fip_id, status):
        """Wait for neutron to report the association (an L3 agent may take a moment), with wait."""
        if not self.p.wait:
            return
        deadline = time.monotonic() + self.p.timeout
        while True:
            fip = self.call('reading floating IP', self.net.get_ip, fip_id)
            if fip.status == status:
                return
            if time.monotonic() > deadline:
                raise CloudError('timeout: floating IP %s did not become %s within %ss (it is %s)'
                                 % (fip.floating_ip_address, status, self.p.timeout, fip.status))
            time.sleep(0.5)

    def check_update(self, record, changes):
        check_labels(changes.get('labels'))
        if changes.get('server'):
            network = self.network(record['network'], 'network', external=True)
            port_id, _fixed, _router = self.routable_port(changes['server'], network)
            taken = [f.floating_ip_address for f in self.floating_ips(port_id=port_id) if f.id != record['id']]
            if taken:
                raise InUse('server: %r already has floating IP %s' % (changes['server'], taken[0]))

    def update(self, record, changes):
        self.check_update(record, changes)
        what = 'floating IP %s' % record['address']
        fip = self.call('reading ' + what, self.net.get_ip, record['id'])
        if 'server' in changes:
            if changes['server']:
                network = self.network(record['network'], 'network', external=True)
                port_id, fixed, _router = self.routable_port(changes['server'], network)
                fip = self.call('associating ' + what, self.net.update_ip, fip, port_id=port_id, fixed_ip_address=fixed)
                self._await_status(fip.id, 'ACTIVE')
            else:
                fip = self.call('disassociating ' + what, self.net.update_ip, fip, port_id=None)
        if 'labels' in changes:
            self.set_labels(what, fip, changes['labels'])
        return self.record(record['id'])

    def check_delete(self, record):
        return None

    def delete(self, record):
        self.call('releasing floating IP %s' % record['address'], self.net.delete_ip, record['id'], ignore_missing=True)
