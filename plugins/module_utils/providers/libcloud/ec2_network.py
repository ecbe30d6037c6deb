# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 networking: network = VPC, subnet = subnet, router = route table (+ internet gateway),
security_group = security group of a VPC.

Names are Name tags (a security group also has its GroupName, kept equal); labels are the other
tags. An object with no Name tag, such as the default VPC and its subnets, is named by its id.
EC2 has no external network: the internet is reached through an internet gateway, which is
what a router's external network named ``internet`` (or ``external``, the lab's name) means.

Decisions where EC2 and the lab differ:
- A VPC's MTU is fixed by EC2 at 9001; any other ``mtu`` is refused.
- A security group is created in the VPC named by its ``network`` option; otherwise in the VPC
  its rules' remote groups are in; otherwise in the one named VPC (among those with the group's
  run-id label, when it has one); with no named VPC at all, in the default VPC, as EC2 does.
- Egress: a group without egress rules keeps EC2's allow-all egress rule, which its record does
  not show (the collection's "egress allowed unless a group has egress rules"). Giving a group
  egress rules replaces that rule; an explicit allow-all egress rule carries a rule description
  so that it reads back as a rule of its own.
- A router is a route table in each VPC of its interfaces; when they are in several VPCs, each pair of
  those VPCs is joined by a peering connection (their ranges must not overlap) and each table routes to
  the other VPCs' ranges through it, as an AWS operator joins VPCs.
"""

from __future__ import annotations

import ipaddress
import re
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.addressing import check_no_overlap
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, InUse, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import Network, Router, SecurityGroup, Subnet
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2_api import (
    Ec2ApiError, filter_params, tag_specification, tags_of, text,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import in_run

INTERNET = 'internet'
INTERNET_NAMES = (INTERNET, 'external')  # 'external' is the lab's name, which playbooks use
VPC_MTU = 9001
INTERNET_MTU = 1500
DEFAULT_VPC_CIDR = '10.0.0.0/16'
ANYWHERE = '0.0.0.0/0'
# Which of the internet's names a router was given, so that it reads back as it was asked for.
EXTERNAL_TAG = 'cloudops.multicloud/external-network'
# On a router's other route tables and its peering connections: the router's id (its first table's id).
ROUTER_TAG = 'cloudops.multicloud/router'
RESERVED_TAGS = ('Name', EXTERNAL_TAG, ROUTER_TAG)
LIVE_PEERINGS = ('initiating-request', 'pending-acceptance', 'provisioning', 'active')
RUN_ID = 'run-id'
LIVE_INSTANCES = ['pending', 'running', 'shutting-down', 'stopping', 'stopped']
# EC2 needs a group description; this one stands for the collection's empty description.
EMPTY_DESCRIPTION = 'no description'
# The description an explicit allow-all egress rule carries, so that it differs from EC2's default.
EXPLICIT_EGRESS = 'explicit allow-all egress rule of cloudops.multicloud'
ID_PATTERN = re.compile(r'^(vpc|subnet|rtb|sg|igw)-[0-9a-f]+$')


def _labels(element):
    return {k: v for k, v in tags_of(element).items() if k not in RESERVED_TAGS}


def _name(element, id_path):
    return tags_of(element).get('Name') or text(element, id_path)


def _vpc_cidrs(vpc):
    """Every IPv4 block of a VPC: the primary one and any associated since."""
    blocks = [text(item, 'cidrBlock') for item in vpc.findall('cidrBlockAssociationSet/item')
              if text(item, 'cidrBlockState/state', 'associated') == 'associated']
    primary = text(vpc, 'cidrBlock')
    return [primary] + [b for b in blocks if b and b != primary] if primary else blocks


def _parse_ec2_cidr(cidr, field, what):
    """A CIDR with host bits clear and a prefix EC2 takes for a VPC or subnet (/16 to /28)."""
    try:
        network = ipaddress.IPv4Network(str(cidr), strict=True)
    except ValueError as exc:
        raise CloudError('%s: %r is not a valid IPv4 network (%s)' % (field, cidr, exc))
    if not 16 <= network.prefixlen <= 28:
        raise CloudError('%s: %s is a /%d; EC2 %ss are /16 to /28' % (field, cidr, network.prefixlen, what))
    return network


def _joined(users):
    return ', '.join(sorted(users))


class _Handler:
    """What every kind shares: the API, lookups of the objects others refer to, tags, waiting."""
    kind = ''

    def __init__(self, p):
        self.p = p

    @property
    def api(self):
        return self.p.api

    # ------------------------------------------------------------------ reading
    def _describe(self, action, item_path, filters=None, params=None):
        request = dict(params or {})
        request.update(filter_params(filters or {}))
        return self.api.describe(action, item_path, request)

    def _by_name(self, action, item_path, id_path, id_filter, name, extra=None):
        """Items whose Name tag is ``name`` or, when it has none, whose id is ``name``, among those the
        provider's run may see."""
        filters = dict(extra or {})
        if name is None:
            return self._describe(action, item_path, filters)
        items = self._describe(action, item_path, dict(filters, **{'tag:Name': name}))
        if ID_PATTERN.match(name):
            seen = {text(i, id_path) for i in items}
            items += [i for i in self._describe(action, item_path, dict(filters, **{id_filter: name}))
                      if text(i, id_path) not in seen]
        return in_run([i for i in items if _name(i, id_path) == name], self.p.run_scope, tags_of)

    def vpcs(self, name=None, ids=None):
        if ids is not None:
            return self._describe('DescribeVpcs', 'vpcSet/item', {'vpc-id': sorted(ids)}) if ids else []
        return self._by_name('DescribeVpcs', 'vpcSet/item', 'vpcId', 'vpc-id', name)

    def subnets(self, name=None, vpc_ids=None, ids=None):
        if ids is not None:
            return self._describe('DescribeSubnets', 'subnetSet/item', {'subnet-id': sorted(ids)}) if ids else []
        extra = {'vpc-id': sorted(vpc_ids)} if vpc_ids else None
        if vpc_ids is not None and not vpc_ids:
            return []
        return self._by_name('DescribeSubnets', 'subnetSet/item', 'subnetId', 'subnet-id', name, extra)

    def route_tables(self, filters):
        return self._describe('DescribeRouteTables', 'routeTableSet/item', filters)

    def groups(self, filters=None):
        return self._describe('DescribeSecurityGroups', 'securityGroupInfo/item', filters)

    def instances(self, filters):
        """Live instances (not terminated) as dicts: id, name, address, subnet, vpc, groups."""
        items = self._describe('DescribeInstances', 'reservationSet/item/instancesSet/item',
                               dict(filters, **{'instance-state-name': LIVE_INSTANCES}))
        return [{'id': text(i, 'instanceId'), 'name': _name(i, 'instanceId'),
                 'address': text(i, 'privateIpAddress'), 'subnet': text(i, 'subnetId'), 'vpc': text(i, 'vpcId'),
                 'groups': [text(g, 'groupId') for g in i.findall('groupSet/item')]} for i in items]

    def interfaces_without_instance(self, filters, instance_ids):
        """Network interfaces of something other than these instances (load balancers, endpoints...)."""
        found = []
        for eni in self._describe('DescribeNetworkInterfaces', 'networkInterfaceSet/item', filters):
            owner = text(eni, 'attachment/instanceId')
            if owner in instance_ids:
                continue
            if owner and not self.instances({'instance-id': owner}):
                continue  # its instance is terminated and the interface is going with it
            found.append('network interface %s (%s)' % (text(eni, 'networkInterfaceId'),
                                                        text(eni, 'description') or text(eni, 'interfaceType') or
                                                        text(eni, 'privateIpAddress')))
        return found

    def find_vpc(self, name, field):
        if name in INTERNET_NAMES:
            raise CloudError('%s: %r is the internet on EC2, not a VPC' % (field, name))
        found = self.vpcs(name)
        if not found:
            raise NotFound('%s: network %r does not exist on %s' % (field, name, self.p.cloud))
        if len(found) > 1:
            raise CloudError('%s: %d networks are named %r on %s' % (field, len(found), name, self.p.cloud))
        return found[0]

    def find_subnet(self, name, field):
        found = self.subnets(name)
        if not found:
            raise NotFound('%s: subnet %r does not exist on %s' % (field, name, self.p.cloud))
        if len(found) > 1:
            raise CloudError('%s: %d subnets are named %r on %s' % (field, len(found), name, self.p.cloud))
        return found[0]

    def vpc_names(self, vpc_ids):
        return {text(v, 'vpcId'): _name(v, 'vpcId') for v in self.vpcs(ids=set(vpc_ids))}

    def subnet_names(self, subnet_ids):
        return {text(s, 'subnetId'): _name(s, 'subnetId') for s in self.subnets(ids=set(subnet_ids))}

    def pick_vpc(self, labels, field, what, hint):
        """The VPC an object with no other clue belongs in: the one named VPC (of the object's run,
        when it has a run-id label and that run has VPCs), else the default VPC if no VPC is named."""
        vpcs = self.vpcs()
        named = [v for v in vpcs if tags_of(v).get('Name')]
        run = (labels or {}).get(RUN_ID)
        same_run = [v for v in named if run and tags_of(v).get(RUN_ID) == run]
        candidates = same_run or named
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            default = [v for v in vpcs if text(v, 'isDefault') == 'true']
            if default:
                return default[0]
            raise NotFound('%s: %s needs a VPC and %s has none; create a network first' % (field, what, self.p.cloud))
        raise CloudError('%s: %s could be in any of networks %s; EC2 keeps it in one VPC, so %s'
                         % (field, what, _joined(repr(_name(v, 'vpcId')) for v in candidates), hint))

    # ------------------------------------------------------------------ changing
    def check_labels(self, labels):
        for key, value in (labels or {}).items():
            if not isinstance(value, str):
                raise CloudError('labels.%s: label values are strings, got %r' % (key, value))
            if key in RESERVED_TAGS:
                raise CloudError('labels.%s: EC2 keeps the object\'s name in the tag %s; it is not a label'
                                 % (key, key))
            if key.lower().startswith('aws:'):
                raise CloudError('labels.%s: tags starting with aws: are reserved by AWS' % key)
            if len(key) > 128 or len(value) > 256:
                raise CloudError('labels.%s: EC2 tags take keys up to 128 and values up to 256 characters' % key)

    def retag(self, resource_id, current, labels):
        """Set ``labels`` on the resource (Name and other reserved tags are left alone)."""
        self.check_labels(labels)
        removed = [k for k in current if k not in labels]
        changed = {k: v for k, v in labels.items() if current.get(k) != v}
        self.api.untag([resource_id], removed)
        self.api.tag([resource_id], changed)

    def await_state(self, what, read, ready):
        """With wait, poll ``read()`` until ``ready(item)``, bounded by the provider's timeout."""
        item = read()
        if not self.p.wait:
            return item
        deadline = time.monotonic() + self.p.timeout
        delay = 0.1
        while item is None or not ready(item):
            if time.monotonic() > deadline:
                raise CloudError('timeout: %s was not ready within %ss' % (what, self.p.timeout))
            time.sleep(delay)
            delay = min(delay * 2, 2)
            item = read()
        return item

    def _one(self, items):
        return items[0] if items else None

    # ------------------------------------------------------------------ the interface, by default
    def check_update(self, record, changes):
        self.check_labels(changes.get('labels'))

    def update(self, record, changes):
        self.check_update(record, changes)
        self.retag(record['id'], record['labels'], changes.get('labels', record['labels']))
        return self.record_by_id(record['id'])

    def record_by_id(self, rid):
        raise NotImplementedError


class Vpcs(_Handler):
    """network = VPC."""
    kind = 'network'

    def _internet(self, name):
        return Network(id=INTERNET, name=name, status='ACTIVE', mtu=INTERNET_MTU, external=True, subnets=[])

    def list(self, name=None):
        if name in INTERNET_NAMES:
            return [self._internet(name)]
        records = self._records(self.vpcs(name))
        if name is None:
            records.append(self._internet(INTERNET))
        return records

    def _records(self, vpcs):
        ids = {text(v, 'vpcId') for v in vpcs}
        subnets = {}
        for subnet in self.subnets(vpc_ids=ids):
            subnets.setdefault(text(subnet, 'vpcId'), []).append(_name(subnet, 'subnetId'))
        return [Network(id=text(v, 'vpcId'), name=_name(v, 'vpcId'),
                        status='ACTIVE' if text(v, 'state') == 'available' else 'BUILD',
                        mtu=VPC_MTU, external=False, subnets=sorted(subnets.get(text(v, 'vpcId'), [])),
                        labels=_labels(v), cidr=text(v, 'cidrBlock')) for v in vpcs]

    def record_by_id(self, rid):
        return self._one(self._records(self.vpcs(ids={rid})))

    def _validate(self, name, desired):
        if name in INTERNET_NAMES:
            raise CloudError('name: %r is the name of the internet on EC2; give the network another name' % name)
        self._check_mtu(desired.get('mtu'))
        self.check_labels(desired.get('labels'))
        return _parse_ec2_cidr(desired.get('cidr') or DEFAULT_VPC_CIDR, 'cidr', 'VPC')

    def _check_mtu(self, mtu):
        if mtu is not None and int(mtu) != VPC_MTU:
            raise CloudError('mtu: EC2 fixes the MTU inside a VPC at %d, so a network cannot have MTU %s'
                             % (VPC_MTU, mtu))

    def check_create(self, name, desired):
        cidr = self._validate(name, desired)
        return Network(id=None, name=name, status='BUILD', mtu=VPC_MTU, labels=dict(desired.get('labels') or {}),
                       cidr=str(cidr))

    def create(self, name, desired):
        cidr = self._validate(name, desired)
        tags = dict(desired.get('labels') or {}, Name=name)
        vpc_id = text(self.api.call('CreateVpc', dict({'CidrBlock': str(cidr)}, **tag_specification('vpc', tags))),
                      'vpc/vpcId')
        self.await_state('network %r' % name, lambda: self._one(self.vpcs(ids={vpc_id})),
                         lambda v: text(v, 'state') == 'available')
        return self.record_by_id(vpc_id)

    def check_update(self, record, changes):
        if record['id'] == INTERNET:
            raise CloudError('name: %r is the internet on EC2; it has no MTU or labels to change' % record['name'])
        self._check_mtu(changes.get('mtu'))
        super().check_update(record, changes)

    def _plan_delete(self, record):
        """(subnet ids to delete along, internet gateway ids to detach and delete); refuses a VPC in use."""
        if record['id'] == INTERNET:
            raise CloudError('name: %r is the internet on EC2; it cannot be deleted' % record['name'])
        vpc_id = record['id']
        filters = {'vpc-id': vpc_id}
        instances = self.instances(filters)
        users = ['server %r (%s)' % (i['name'], i['address']) for i in instances]
        users += ['router %r' % _name(rt, 'routeTableId') for rt in self.route_tables(filters)
                  if not any(text(a, 'main') == 'true' for a in rt.findall('associationSet/item'))]
        users += ['security group %r' % text(g, 'groupName') for g in self.groups(filters)
                  if text(g, 'groupName') != 'default']
        users += self.interfaces_without_instance(filters, {i['id'] for i in instances})
        users += self._peering_users(vpc_id)
        if users:
            raise InUse('network %r is in use by %s; delete or detach those first' % (record['name'], _joined(users)))
        subnets = [text(s, 'subnetId') for s in self.subnets(vpc_ids={vpc_id})]
        gateways = [text(g, 'internetGatewayId') for g in
                    self._describe('DescribeInternetGateways', 'internetGatewaySet/item', {'attachment.vpc-id': vpc_id})]
        return subnets, gateways

    def _peering_users(self, vpc_id):
        """Live peering connections of the VPC: EC2 refuses to delete a VPC with one."""
        users = []
        for peering in self.p.handlers['router'].peerings({vpc_id}):
            other = {text(peering, 'requesterVpcInfo/vpcId'), text(peering, 'accepterVpcInfo/vpcId')} - {vpc_id}
            other_id = other.pop() if other else vpc_id
            other_name = self.vpc_names([other_id]).get(other_id, other_id)
            users.append('peering connection %s to network %r' % (text(peering, 'vpcPeeringConnectionId'), other_name))
        return users

    def check_delete(self, record):
        self._plan_delete(record)

    def delete(self, record):
        if not self.vpcs(ids={record['id']}):
            return
        subnets, gateways = self._plan_delete(record)
        try:
            for subnet_id in subnets:
                self.api.call('DeleteSubnet', {'SubnetId': subnet_id})
            for gateway_id in gateways:
                self.api.call('DetachInternetGateway', {'InternetGatewayId': gateway_id, 'VpcId': record['id']})
                self.api.call('DeleteInternetGateway', {'InternetGatewayId': gateway_id})
            self.api.call('DeleteVpc', {'VpcId': record['id']})
        except Ec2ApiError as exc:
            if exc.code != 'DependencyViolation':
                raise
            raise InUse('network %r is in use by something EC2 did not list: %s' % (record['name'], exc.message))


class Subnets(_Handler):
    kind = 'subnet'

    def list(self, name=None):
        return self._records(self.subnets(name))

    def _records(self, subnets):
        vpc_names = self.vpc_names(text(s, 'vpcId') for s in subnets)
        return [self._record(s, vpc_names) for s in subnets]

    def _record(self, subnet, vpc_names):
        cidr = ipaddress.IPv4Network(text(subnet, 'cidrBlock'))
        return Subnet(id=text(subnet, 'subnetId'), name=_name(subnet, 'subnetId'),
                      network=vpc_names.get(text(subnet, 'vpcId'), text(subnet, 'vpcId')),
                      cidr=str(cidr), gateway_ip=str(cidr.network_address + 1), labels=_labels(subnet))

    def record_by_id(self, rid):
        return self._one(self._records(self.subnets(ids={rid})))

    def _validate(self, name, desired):
        """The VPC and CIDR of a new subnet, refused as EC2 would refuse them, and before it."""
        network = desired.get('network')
        if not network:
            raise CloudError('network: a subnet needs the name of its network')
        if network in INTERNET_NAMES:
            raise CloudError('network: %r is the internet on EC2; subnets belong to a VPC' % network)
        vpc = self.find_vpc(network, 'network')
        if not desired.get('cidr'):
            raise CloudError('cidr: a subnet needs a CIDR inside its network\'s range %s' % ', '.join(_vpc_cidrs(vpc)))
        cidr = _parse_ec2_cidr(desired['cidr'], 'cidr', 'subnet')
        blocks = _vpc_cidrs(vpc)
        if not any(cidr.subnet_of(ipaddress.IPv4Network(block)) for block in blocks):
            raise CloudError('cidr: %s is outside network %r, whose VPC range is %s'
                             % (cidr, network, ', '.join(blocks)))
        others = {'subnet %r' % _name(s, 'subnetId'): text(s, 'cidrBlock')
                  for s in self.subnets(vpc_ids={text(vpc, 'vpcId')})}
        check_no_overlap(cidr, others)
        router = str(cidr.network_address + 1)
        if desired.get('gateway_ip') not in (None, router):
            raise CloudError('gateway_ip: EC2 answers on the first host of a subnet, %s; it cannot be %s'
                             % (router, desired['gateway_ip']))
        self.check_labels(desired.get('labels'))
        return vpc, cidr

    def check_create(self, name, desired):
        vpc, cidr = self._validate(name, desired)
        return Subnet(id=None, name=name, network=_name(vpc, 'vpcId'), cidr=str(cidr),
                      gateway_ip=str(cidr.network_address + 1), labels=dict(desired.get('labels') or {}))

    def create(self, name, desired):
        vpc, cidr = self._validate(name, desired)
        tags = dict(desired.get('labels') or {}, Name=name)
        params = dict({'VpcId': text(vpc, 'vpcId'), 'CidrBlock': str(cidr)}, **tag_specification('subnet', tags))
        subnet_id = text(self.api.call('CreateSubnet', params), 'subnet/subnetId')
        self.await_state('subnet %r' % name, lambda: self._one(self.subnets(ids={subnet_id})),
                         lambda s: text(s, 'state') == 'available')
        return self.record_by_id(subnet_id)

    def check_delete(self, record):
        filters = {'subnet-id': record['id']}
        instances = self.instances(filters)
        users = ['server %r (%s)' % (i['name'], i['address']) for i in instances]
        users += ['router %r' % _name(rt, 'routeTableId')
                  for rt in self.route_tables({'association.subnet-id': record['id']})]
        users += self.interfaces_without_instance(filters, {i['id'] for i in instances})
        if users:
            raise InUse('subnet %r is in use by %s; delete or detach those first' % (record['name'], _joined(users)))

    def delete(self, record):
        if not self.subnets(ids={record['id']}):
            return
        self.check_delete(record)
        self.api.call('DeleteSubnet', {'SubnetId': record['id']})


class Routers(_Handler):
    """router = a route table in each VPC of its interfaces, the VPCs joined pairwise by peering connections;
    with an external network, 0.0.0.0/0 in each table to its VPC's internet gateway.

    The router's id is its first route table's id; its other tables carry it in the ROUTER_TAG tag, so that
    the id stays when that first table goes with its VPC.
    """
    kind = 'router'

    # ------------------------------------------------------------------ reading
    def _tables(self, name=None, ids=None):
        if ids is not None:
            if not ids:
                return []
            tables = self.route_tables({'route-table-id': sorted(ids)})
            seen = {text(t, 'routeTableId') for t in tables}
            tables += [t for t in self.route_tables({'tag:' + ROUTER_TAG: sorted(ids)})
                       if text(t, 'routeTableId') not in seen]
        else:
            tables = self._by_name('DescribeRouteTables', 'routeTableSet/item', 'routeTableId', 'route-table-id', name)
        # A VPC's main route table is part of the VPC, not a router of its own.
        return [t for t in tables if not any(text(a, 'main') == 'true' for a in t.findall('associationSet/item'))]

    def _groups(self, tables):
        """{router id: its route tables, the one whose id it is first}."""
        groups = {}
        for table in tables:
            groups.setdefault(tags_of(table).get(ROUTER_TAG) or text(table, 'routeTableId'), []).append(table)
        for rid, members in groups.items():
            members.sort(key=lambda t, rid=rid: (text(t, 'routeTableId') != rid, text(t, 'vpcId'), text(t, 'routeTableId')))
        return groups

    def list(self, name=None):
        return self._records(self._tables(name))

    def record_by_id(self, rid):
        return self._one([r for r in self._records(self._tables(ids={rid})) if r.id == rid])

    def _records(self, tables):
        subnet_ids = {text(a, 'subnetId') for t in tables for a in self._associations(t)}
        names = self.subnet_names(subnet_ids)
        return [Router(id=rid, name=_name(members[0], 'routeTableId'), status='ACTIVE',
                       interfaces=sorted(names.get(text(a, 'subnetId'), text(a, 'subnetId'))
                                         for t in members for a in self._associations(t)),
                       external_network=self._external_name(members), external_address=None,
                       labels=_labels(members[0]))
                for rid, members in self._groups(tables).items()]

    def _associations(self, table):
        return [a for a in table.findall('associationSet/item') if text(a, 'subnetId')
                and text(a, 'associationState/state', 'associated') in ('associated', 'associating')]

    def _gateway_route(self, table):
        for route in table.findall('routeSet/item'):
            if text(route, 'destinationCidrBlock') == ANYWHERE and (text(route, 'gatewayId') or '').startswith('igw-'):
                return route
        return None

    def _peering_routes(self, table):
        """{destination CIDR: peering connection id} of a table's routes through peering connections."""
        return {text(r, 'destinationCidrBlock'): text(r, 'vpcPeeringConnectionId') for r in table.findall('routeSet/item')
                if text(r, 'vpcPeeringConnectionId') and text(r, 'destinationCidrBlock')}

    def _external_name(self, tables):
        # Only when every table routes to the internet: a rerun asking for it then completes the others.
        if any(self._gateway_route(t) is None for t in tables):
            return None
        name = tags_of(tables[0]).get(EXTERNAL_TAG)
        return name if name in INTERNET_NAMES else INTERNET

    def peerings(self, vpc_ids):
        """Live peering connections with either side in ``vpc_ids``."""
        found = {}
        for side in ('requester-vpc-info.vpc-id', 'accepter-vpc-info.vpc-id'):
            for item in self._describe('DescribeVpcPeeringConnections', 'vpcPeeringConnectionSet/item',
                                       {side: sorted(vpc_ids)}):
                # Neither the status nor the side filters are honoured everywhere (moto): both are checked here.
                sides = {text(item, 'requesterVpcInfo/vpcId'), text(item, 'accepterVpcInfo/vpcId')}
                if text(item, 'status/code') in LIVE_PEERINGS and sides & set(vpc_ids):
                    found[text(item, 'vpcPeeringConnectionId')] = item
        return list(found.values())

    def _peering(self, pcx):
        """The peering connection ``pcx``, or None (the id filter is checked here too: moto may not honour it)."""
        return self._one([item for item in self._describe('DescribeVpcPeeringConnections', 'vpcPeeringConnectionSet/item',
                                                          {'vpc-peering-connection-id': pcx})
                          if text(item, 'vpcPeeringConnectionId') == pcx])

    def _peering_of(self, vpc_a, vpc_b):
        for item in self.peerings({vpc_a, vpc_b}):
            if {text(item, 'requesterVpcInfo/vpcId'), text(item, 'accepterVpcInfo/vpcId')} == {vpc_a, vpc_b}:
                return item
        return None

    # ------------------------------------------------------------------ planning
    def _plan(self, name, tables, interfaces, external, labels):
        """Validate a router's wanted state; return {vpc_ids (its first table's VPC first), vpcs, subnets
        {subnet id: name}, by_vpc {vpc id: subnet ids}, cidrs {vpc id: blocks}, external}."""
        self.check_labels(labels)
        if external and external not in INTERNET_NAMES:
            raise NotFound('external_network: %r is not an external network of %s; EC2 reaches the internet '
                           'through an internet gateway, named %r (or %r)' % (external, self.p.cloud, *INTERNET_NAMES))
        subnets = {}
        by_vpc = {}
        for index, subnet_name in enumerate(interfaces or []):
            subnet = self.find_subnet(subnet_name, 'interfaces[%d]' % index)
            subnets[text(subnet, 'subnetId')] = subnet_name
            by_vpc.setdefault(text(subnet, 'vpcId'), []).append(text(subnet, 'subnetId'))
        have = [text(t, 'vpcId') for t in tables]
        if by_vpc:
            vpc_ids = [v for v in have if v in by_vpc] + [v for v in by_vpc if v not in have]
        elif have:
            vpc_ids = have[:1]
        else:
            vpc_ids = [text(self.pick_vpc(labels, 'interfaces', 'router %r' % name, 'give it a subnet of one in interfaces'),
                            'vpcId')]
        vpcs = {text(v, 'vpcId'): v for v in self.vpcs(ids=set(vpc_ids))}
        cidrs = {vpc_id: _vpc_cidrs(vpcs[vpc_id]) for vpc_id in vpc_ids}
        self._check_overlap(vpc_ids, vpcs, cidrs, by_vpc, subnets)
        own = {text(t, 'routeTableId') for t in tables}
        for index, subnet_name in enumerate(interfaces or []):
            subnet_id = [sid for sid, n in subnets.items() if n == subnet_name][0]
            for other in self.route_tables({'association.subnet-id': subnet_id}):
                if text(other, 'routeTableId') not in own:
                    raise InUse('interfaces[%d]: subnet %r is already attached to router %r'
                                % (index, subnet_name, _name(other, 'routeTableId')))
        return {'vpc_ids': vpc_ids, 'vpcs': vpcs, 'subnets': subnets, 'by_vpc': by_vpc, 'cidrs': cidrs,
                'external': external or None}

    def _check_overlap(self, vpc_ids, vpcs, cidrs, by_vpc, subnets):
        """A peering connection cannot route between VPCs whose ranges overlap."""
        for index, vpc_a in enumerate(vpc_ids):
            for vpc_b in vpc_ids[index + 1:]:
                for block_a in cidrs[vpc_a]:
                    for block_b in cidrs[vpc_b]:
                        if ipaddress.IPv4Network(block_a).overlaps(ipaddress.IPv4Network(block_b)):
                            raise CloudError(
                                'interfaces: %s are in networks %r (%s) and %r (%s), whose ranges overlap; a VPC peering '
                                'connection cannot route between them' % (
                                    ', '.join(subnets[s] for s in by_vpc.get(vpc_a, []) + by_vpc.get(vpc_b, [])),
                                    _name(vpcs[vpc_a], 'vpcId'), block_a, _name(vpcs[vpc_b], 'vpcId'), block_b))

    def _floating_ips(self, subnet_ids):
        """Elastic IPs of instances (or interfaces) on these subnets: what a router's route carries."""
        if not subnet_ids:
            return []
        addresses = [a for a in self.api.describe('DescribeAddresses', 'addressesSet/item')
                     if text(a, 'networkInterfaceId') or text(a, 'instanceId')]
        if not addresses:
            return []
        enis = {text(e, 'networkInterfaceId'): text(e, 'subnetId') for e in self._describe(
            'DescribeNetworkInterfaces', 'networkInterfaceSet/item', {'subnet-id': sorted(subnet_ids)})}
        instances = {i['id']: i['subnet'] for i in self.instances({'subnet-id': sorted(subnet_ids)})}
        return sorted(text(a, 'publicIp') for a in addresses
                      if enis.get(text(a, 'networkInterfaceId')) in subnet_ids
                      or instances.get(text(a, 'instanceId')) in subnet_ids)

    def _check_floating_ips(self, name, subnet_ids, where):
        fips = self._floating_ips(set(subnet_ids))
        if fips:
            raise InUse('router %r routes floating IPs %s%s; disassociate them first' % (name, ', '.join(fips), where))

    def _group_tables(self, record):
        tables = self._groups(self._tables(ids={record['id']})).get(record['id'])
        if not tables:
            raise NotFound('router %r (%s) no longer exists on %s' % (record['name'], record['id'], self.p.cloud))
        return tables

    # ------------------------------------------------------------------ the interface
    def check_create(self, name, desired):
        plan = self._plan(name, [], desired.get('interfaces'), desired.get('external_network'), desired.get('labels'))
        return Router(id=None, name=name, status='BUILD', interfaces=sorted(plan['subnets'].values()),
                      external_network=plan['external'], labels=dict(desired.get('labels') or {}))

    def create(self, name, desired):
        labels = dict(desired.get('labels') or {})
        plan = self._plan(name, [], desired.get('interfaces'), desired.get('external_network'), labels)
        return self.record_by_id(self._apply(name, None, [], plan, labels))

    def _wanted(self, record, changes):
        interfaces = changes.get('interfaces', record['interfaces'])
        external = changes['external_network'] if 'external_network' in changes else record['external_network']
        return interfaces, external, changes.get('labels', record['labels'])

    def _plan_update(self, record, changes):
        tables = self._group_tables(record)
        interfaces, external, labels = self._wanted(record, changes)
        plan = self._plan(record['name'], tables, interfaces, external, labels)
        have = {text(a, 'subnetId') for t in tables for a in self._associations(t)}
        removed = have - set(plan['subnets'])
        routed = any(self._gateway_route(t) is not None for t in tables)
        # Without the route to the gateway, or off the router, a floating IP is unreachable.
        if routed and not plan['external']:
            self._check_floating_ips(record['name'], have, ' through its gateway')
        elif routed and removed:
            self._check_floating_ips(record['name'], removed, ' through that interface')
        return tables, plan, labels

    def check_update(self, record, changes):
        self._plan_update(record, changes)

    def update(self, record, changes):
        tables, plan, labels = self._plan_update(record, changes)
        return self.record_by_id(self._apply(record['name'], record['id'], tables, plan, labels))

    def check_delete(self, record):
        tables = self._group_tables(record)
        self._check_floating_ips(record['name'], {text(a, 'subnetId') for t in tables for a in self._associations(t)}, '')
        return tables

    def delete(self, record):
        if not self._groups(self._tables(ids={record['id']})).get(record['id']):
            return
        tables = self.check_delete(record)
        peerings = {pcx for t in tables for pcx in self._peering_routes(t).values()}
        for table in tables:
            self._drop_table(table)
        for pcx in sorted(peerings):
            self._drop_peering_if_unused(pcx)

    # ------------------------------------------------------------------ changing
    def _apply(self, name, rid, tables, plan, labels):
        """Make the router's tables, peerings, routes and associations what ``plan`` says; return its id."""
        vpc_ids, external = plan['vpc_ids'], plan['external']
        old_peerings = {pcx for t in tables for pcx in self._peering_routes(t).values()}
        kept = {}
        for table in tables:
            if text(table, 'vpcId') in vpc_ids:
                kept[text(table, 'vpcId')] = table
            else:
                self._drop_table(table)
        for vpc_id, table in kept.items():
            wanted = set(plan['by_vpc'].get(vpc_id, []))
            for association in self._associations(table):
                if text(association, 'subnetId') not in wanted:
                    self.api.call('DisassociateRouteTable', {'AssociationId': text(association, 'routeTableAssociationId')})
        table_ids = {vpc_id: text(t, 'routeTableId') for vpc_id, t in kept.items()}
        for vpc_id in vpc_ids:
            if vpc_id not in table_ids:
                tags = dict(labels, Name=name)
                if external:
                    tags[EXTERNAL_TAG] = external
                if rid is not None:
                    tags[ROUTER_TAG] = rid
                table_ids[vpc_id] = text(self.api.call('CreateRouteTable', dict(
                    {'VpcId': vpc_id}, **tag_specification('route-table', tags))), 'routeTable/routeTableId')
                rid = rid or table_ids[vpc_id]
        peerings = {}
        for index, vpc_a in enumerate(vpc_ids):
            for vpc_b in vpc_ids[index + 1:]:
                peerings[vpc_a, vpc_b] = peerings[vpc_b, vpc_a] = self._join(vpc_a, vpc_b, name, rid, labels)
        for vpc_id in vpc_ids:
            wanted = {block: peerings[vpc_id, other] for other in vpc_ids if other != vpc_id
                      for block in plan['cidrs'][other]}
            self._route_to_peers(table_ids[vpc_id], self._peering_routes(kept[vpc_id]) if vpc_id in kept else {}, wanted)
        for pcx in sorted(old_peerings - set(peerings.values())):
            self._drop_peering_if_unused(pcx)
        for vpc_id in vpc_ids:
            have = {text(a, 'subnetId') for a in self._associations(kept[vpc_id])} if vpc_id in kept else set()
            for subnet_id in sorted(set(plan['by_vpc'].get(vpc_id, [])) - have):
                self.api.call('AssociateRouteTable', {'RouteTableId': table_ids[vpc_id], 'SubnetId': subnet_id})
            route = self._gateway_route(kept[vpc_id]) if vpc_id in kept else None
            if external and route is None:
                self._route_to_internet(table_ids[vpc_id], vpc_id, name, labels)
            elif not external and route is not None:
                self._drop_internet_route(table_ids[vpc_id], vpc_id, text(route, 'gatewayId'))
            if vpc_id in kept:
                self._retag_table(kept[vpc_id], external, labels)
        return rid

    def _retag_table(self, table, external, labels):
        table_id, tags = text(table, 'routeTableId'), tags_of(table)
        if external and tags.get(EXTERNAL_TAG) != external:
            self.api.tag([table_id], {EXTERNAL_TAG: external})
        elif not external and EXTERNAL_TAG in tags:
            self.api.untag([table_id], [EXTERNAL_TAG])
        self.retag(table_id, _labels(table), labels)

    def _drop_table(self, table):
        """Detach a table's subnets, drop its internet route (and the gateway when unused), delete it."""
        table_id = text(table, 'routeTableId')
        for association in self._associations(table):
            self.api.call('DisassociateRouteTable', {'AssociationId': text(association, 'routeTableAssociationId')})
        route = self._gateway_route(table)
        if route is not None:
            self._drop_internet_route(table_id, text(table, 'vpcId'), text(route, 'gatewayId'))
        self.api.call('DeleteRouteTable', {'RouteTableId': table_id})

    def _join(self, vpc_a, vpc_b, name, rid, labels):
        """The active peering connection of two VPCs: the one they have, else a new one, accepted."""
        peering = self._peering_of(vpc_a, vpc_b)
        if peering is None:
            tags = dict(labels, Name=name, **{ROUTER_TAG: rid})
            pcx = text(self.api.call('CreateVpcPeeringConnection', dict(
                {'VpcId': vpc_a, 'PeerVpcId': vpc_b}, **tag_specification('vpc-peering-connection', tags))),
                'vpcPeeringConnection/vpcPeeringConnectionId')
        else:
            pcx = text(peering, 'vpcPeeringConnectionId')
            if tags_of(peering).get(ROUTER_TAG) == rid:  # this router made it: it carries the router's labels
                self.retag(pcx, _labels(peering), labels)

        def read():
            return self._peering(pcx)
        # Acceptance needs the request through (initiating-request -> pending-acceptance), wait or not.
        peering = self._until('peering connection %s' % pcx, read, lambda p: text(p, 'status/code') != 'initiating-request')
        if text(peering, 'status/code') not in LIVE_PEERINGS:
            raise CloudError('interfaces: EC2 did not peer networks %s for router %r: %s (%s)'
                             % (_joined(repr(n) for n in self.vpc_names([vpc_a, vpc_b]).values()), name,
                                text(peering, 'status/code'), text(peering, 'status/message', '')))
        if text(peering, 'status/code') == 'pending-acceptance':
            self.api.call('AcceptVpcPeeringConnection', {'VpcPeeringConnectionId': pcx})
        self.await_state('peering connection %s' % pcx, read, lambda p: text(p, 'status/code') == 'active')
        return pcx

    def _until(self, what, read, ready):
        """Poll ``read()`` until ``ready(item)`` even without wait: the next step needs that state."""
        deadline = time.monotonic() + self.p.timeout
        item = read()
        while item is None or not ready(item):
            if time.monotonic() > deadline:
                raise CloudError('timeout: %s was not ready within %ss' % (what, self.p.timeout))
            time.sleep(0.2)
            item = read()
        return item

    def _route_to_peers(self, table_id, have, wanted):
        """Make a table's routes through peering connections exactly ``wanted`` {destination: peering id}."""
        for block in sorted(set(have) - set(wanted)):
            self.api.call('DeleteRoute', {'RouteTableId': table_id, 'DestinationCidrBlock': block})
        for block, pcx in sorted(wanted.items()):
            if have.get(block) == pcx:
                continue
            params = {'RouteTableId': table_id, 'DestinationCidrBlock': block, 'VpcPeeringConnectionId': pcx}
            try:
                self.api.call('CreateRoute', params)
            except Ec2ApiError as exc:
                if exc.code != 'RouteAlreadyExists':
                    raise
                self.api.call('ReplaceRoute', params)

    def _drop_peering_if_unused(self, pcx):
        """Delete a peering connection a router made once no route table of its VPCs routes through it."""
        peering = self._peering(pcx)
        if peering is None or text(peering, 'status/code') not in LIVE_PEERINGS or ROUTER_TAG not in tags_of(peering):
            return
        vpc_ids = {text(peering, 'requesterVpcInfo/vpcId'), text(peering, 'accepterVpcInfo/vpcId')}
        if any(pcx in self._peering_routes(t).values() for t in self.route_tables({'vpc-id': sorted(vpc_ids)})):
            return
        self.api.call('DeleteVpcPeeringConnection', {'VpcPeeringConnectionId': pcx})

    def _route_to_internet(self, table_id, vpc_id, name, labels):
        """0.0.0.0/0 to the VPC's internet gateway, which is created and attached if it has none."""
        gateways = self._describe('DescribeInternetGateways', 'internetGatewaySet/item', {'attachment.vpc-id': vpc_id})
        if gateways:
            gateway_id = text(gateways[0], 'internetGatewayId')
        else:
            tags = dict(labels or {}, Name=name)
            gateway_id = text(self.api.call('CreateInternetGateway', tag_specification('internet-gateway', tags)),
                              'internetGateway/internetGatewayId')
            self.api.call('AttachInternetGateway', {'InternetGatewayId': gateway_id, 'VpcId': vpc_id})
        params = {'RouteTableId': table_id, 'DestinationCidrBlock': ANYWHERE, 'GatewayId': gateway_id}
        try:
            self.api.call('CreateRoute', params)
        except Ec2ApiError as exc:
            if exc.code != 'RouteAlreadyExists':
                raise
            self.api.call('ReplaceRoute', params)  # 0.0.0.0/0 went elsewhere (a NAT, another gateway)

    def _drop_internet_route(self, table_id, vpc_id, gateway_id):
        """Delete the route; the gateway goes too when no other route table of the VPC uses it."""
        self.api.call('DeleteRoute', {'RouteTableId': table_id, 'DestinationCidrBlock': ANYWHERE})
        for table in self.route_tables({'vpc-id': vpc_id}):
            if text(table, 'routeTableId') == table_id:
                continue
            if any(text(r, 'gatewayId') == gateway_id for r in table.findall('routeSet/item')):
                return
        try:
            self.api.call('DetachInternetGateway', {'InternetGatewayId': gateway_id, 'VpcId': vpc_id})
        except Ec2ApiError as exc:
            if exc.code == 'DependencyViolation':  # public addresses still map through it: keep it
                return
            raise
        self.api.call('DeleteInternetGateway', {'InternetGatewayId': gateway_id})


def _permission(rule, group_ids):
    """One EC2 IpPermission (dict) for a normalized rule; remote groups by id."""
    protocol = rule['protocol']
    perm = {'direction': rule['direction'], 'proto': '-1' if protocol == 'any' else protocol,
            'from': None, 'to': None, 'cidr': rule.get('remote_cidr'), 'group': None, 'description': None}
    if protocol in ('tcp', 'udp'):
        perm['from'] = 0 if rule['port_min'] is None else rule['port_min']
        perm['to'] = 65535 if rule['port_max'] is None else rule['port_max']
    elif protocol == 'icmp':
        perm['from'] = -1 if rule['port_min'] is None else rule['port_min']
        perm['to'] = -1 if rule['port_max'] is None else rule['port_max']
    if rule.get('remote_group'):
        perm['cidr'] = None
        perm['group'] = group_ids[rule['remote_group']]
    if _allows_all_egress(perm):
        perm['description'] = EXPLICIT_EGRESS
    return perm


def _allows_all_egress(perm):
    return perm['direction'] == 'egress' and perm['proto'] == '-1' and perm['cidr'] == ANYWHERE


def _key(perm):
    # Descriptions matter only where they tell the explicit allow-all egress rule from EC2's default.
    return (perm['direction'], perm['proto'], perm['from'], perm['to'], perm['cidr'], perm['group'],
            perm['description'] == EXPLICIT_EGRESS if _allows_all_egress(perm) else None)


def _rule(perm, group_names):
    """The normalized rule of one EC2 permission."""
    proto = {'6': 'tcp', '17': 'udp', '1': 'icmp'}.get(perm['proto'], perm['proto'])
    port_min, port_max = perm['from'], perm['to']
    if proto == '-1':
        proto, port_min, port_max = 'any', None, None
    elif proto in ('tcp', 'udp') and (port_min, port_max) == (0, 65535):
        port_min = port_max = None
    elif proto == 'icmp' and port_min == -1:
        port_min = port_max = None
    elif port_max == -1:
        port_max = None
    return {'direction': perm['direction'], 'protocol': proto, 'port_min': port_min, 'port_max': port_max,
            'remote_cidr': perm['cidr'], 'remote_group': group_names.get(perm['group'], perm['group'])
            if perm['group'] else None}


def _permissions(group):
    """Every (direction, protocol, ports, one remote) of a group, IPv4 and group remotes only."""
    perms = []
    for direction, path in (('ingress', 'ipPermissions/item'), ('egress', 'ipPermissionsEgress/item')):
        for item in group.findall(path):
            base = {'direction': direction, 'proto': text(item, 'ipProtocol'),
                    'from': int(text(item, 'fromPort')) if text(item, 'fromPort') else None,
                    'to': int(text(item, 'toPort')) if text(item, 'toPort') else None}
            for cidr in item.findall('ipRanges/item'):
                perms.append(dict(base, cidr=text(cidr, 'cidrIp'), group=None, description=text(cidr, 'description')))
            for pair in item.findall('groups/item'):
                perms.append(dict(base, cidr=None, group=text(pair, 'groupId'), description=text(pair, 'description')))
    return perms


def _is_default_egress(perm):
    return _allows_all_egress(perm) and perm['description'] != EXPLICIT_EGRESS


def _permission_params(perms):
    params = {}
    for index, perm in enumerate(perms, 1):
        base = 'IpPermissions.%d.' % index
        params[base + 'IpProtocol'] = perm['proto']
        if perm['from'] is not None:
            params[base + 'FromPort'] = perm['from']
            params[base + 'ToPort'] = perm['to']
        if perm['group']:
            params[base + 'Groups.1.GroupId'] = perm['group']
        else:
            params[base + 'IpRanges.1.CidrIp'] = perm['cidr']
            if perm['description']:
                params[base + 'IpRanges.1.Description'] = perm['description']
    return params


class SecurityGroups(_Handler):
    """security_group = a security group of one VPC (see the module docstring for which)."""
    kind = 'security_group'

    def list(self, name=None):
        return self._records(self.groups({'group-name': name} if name is not None else None))

    def record_by_id(self, rid):
        return self._one(self._records(self.groups({'group-id': rid})))

    def _records(self, groups):
        names = {text(g, 'groupId'): text(g, 'groupName') for g in groups}
        referenced = {p['group'] for g in groups for p in _permissions(g) if p['group'] and p['group'] not in names}
        if referenced:
            names.update({text(g, 'groupId'): text(g, 'groupName') for g in self.groups({'group-id': sorted(referenced)})})
        vpc_names = self.vpc_names({text(g, 'vpcId') for g in groups})
        return [self._record(g, names, vpc_names) for g in groups]

    def _record(self, group, names, vpc_names):
        perms = _permissions(group)
        egress = [p for p in perms if p['direction'] == 'egress']
        if len(egress) == 1 and _is_default_egress(egress[0]):
            perms.remove(egress[0])  # EC2's allow-all egress: "no egress rules" in the collection's terms
        description = text(group, 'groupDescription') or ''
        rules = sorted((_rule(p, names) for p in perms), key=lambda r: repr(sorted(r.items())))
        return SecurityGroup(id=text(group, 'groupId'), name=text(group, 'groupName'),
                             description='' if description == EMPTY_DESCRIPTION else description,
                             rules=rules, labels=_labels(group),
                             network=vpc_names.get(text(group, 'vpcId'), text(group, 'vpcId')))

    # ------------------------------------------------------------------ planning
    def _vpc_for(self, name, desired):
        """The VPC a new group goes in: the network option, else its rules' remote groups, else pick_vpc."""
        if desired.get('network'):
            return self.find_vpc(desired['network'], 'network')
        remote = sorted({r['remote_group'] for r in desired.get('rules') or [] if r.get('remote_group')} - {name})
        pinned = {}
        for group_name in remote:
            for group in self.groups({'group-name': group_name}):
                pinned.setdefault(text(group, 'vpcId'), []).append(group_name)
        if len(pinned) == 1:
            return self._one(self.vpcs(ids=set(pinned)))
        if len(pinned) > 1:
            vpc_names = self.vpc_names(pinned)
            spread = sorted('network %r: %s' % (vpc_names.get(v, v), ', '.join(g)) for v, g in pinned.items())
            raise CloudError('network: the remote groups of security group %r are in %d VPCs (%s); name the network'
                             % (name, len(pinned), '; '.join(spread)))
        return self.pick_vpc(desired.get('labels'), 'network', 'security group %r' % name, 'name one with network')

    def _group_ids(self, rules, vpc_id, own_name, own_id):
        """{remote group name: id} for the rules' remote groups, all in the group's VPC."""
        ids = {own_name: own_id}
        in_vpc = {text(g, 'groupName'): text(g, 'groupId') for g in self.groups({'vpc-id': vpc_id})}
        for index, rule in enumerate(rules or []):
            remote = rule.get('remote_group')
            if not remote or remote in ids:
                continue
            if remote not in in_vpc:
                raise NotFound('rules[%d].remote_group: security group %r does not exist in network %r'
                               % (index, remote, self.vpc_names([vpc_id]).get(vpc_id, vpc_id)))
            ids[remote] = in_vpc[remote]
        return ids

    def _check_description(self, description):
        if description and len(description) > 255:
            raise CloudError('description: EC2 takes up to 255 characters, this one has %d' % len(description))

    def _plan_create(self, name, desired):
        if name == 'default':
            raise CloudError('name: %r is the group EC2 gives every VPC; give the group another name' % name)
        if len(name) > 255 or name.startswith('sg-'):
            raise CloudError('name: %r is not a security group name EC2 takes (up to 255 characters, not sg-...)' % name)
        self.check_labels(desired.get('labels'))
        self._check_description(desired.get('description'))
        vpc = self._vpc_for(name, desired)
        vpc_id = text(vpc, 'vpcId')
        clash = self.groups({'vpc-id': vpc_id, 'group-name': name})
        if clash:
            raise CloudError('name: network %r already has a security group %r (%s); EC2 group names are unique per VPC'
                             % (_name(vpc, 'vpcId'), name, text(clash[0], 'groupId')))
        self._group_ids(desired.get('rules'), vpc_id, name, None)
        return vpc

    def check_create(self, name, desired):
        vpc = self._plan_create(name, desired)
        return SecurityGroup(id=None, name=name, description=desired.get('description') or '',
                             rules=list(desired.get('rules') or []), labels=dict(desired.get('labels') or {}),
                             network=_name(vpc, 'vpcId'))

    def create(self, name, desired):
        vpc = self._plan_create(name, desired)
        tags = dict(desired.get('labels') or {}, Name=name)
        params = {'GroupName': name, 'GroupDescription': desired.get('description') or EMPTY_DESCRIPTION,
                  'VpcId': text(vpc, 'vpcId')}
        params.update(tag_specification('security-group', tags))
        group_id = text(self.api.call('CreateSecurityGroup', params), 'groupId')
        group = self._one(self.groups({'group-id': group_id}))
        self._apply_rules(group, desired.get('rules') or [], name)
        return self.record_by_id(group_id)

    def _group(self, record):
        group = self._one(self.groups({'group-id': record['id']}))
        if group is None:
            raise NotFound('security group %r (%s) no longer exists on %s' % (record['name'], record['id'], self.p.cloud))
        return group

    def check_update(self, record, changes):
        super().check_update(record, changes)
        if 'description' in changes:
            raise CloudError('description: EC2 cannot change the description of security group %r; delete and '
                             'recreate it to use %r' % (record['name'], changes['description']))
        if 'rules' in changes:
            group = self._group(record)
            self._group_ids(changes['rules'], text(group, 'vpcId'), record['name'], record['id'])

    def update(self, record, changes):
        self.check_update(record, changes)
        if 'rules' in changes:
            self._apply_rules(self._group(record), changes['rules'], record['name'])
        if 'labels' in changes:
            self.retag(record['id'], record['labels'], changes['labels'])
        return self.record_by_id(record['id'])

    def _apply_rules(self, group, rules, name):
        """Make the group's permissions exactly ``rules`` (plus EC2's allow-all egress when none is egress)."""
        group_id = text(group, 'groupId')
        ids = self._group_ids(rules, text(group, 'vpcId'), name, group_id)
        wanted = [_permission(rule, ids) for rule in rules]
        if not any(p['direction'] == 'egress' for p in wanted):
            wanted.append({'direction': 'egress', 'proto': '-1', 'from': None, 'to': None, 'cidr': ANYWHERE,
                           'group': None, 'description': None})
        have = _permissions(group)
        wanted_keys = {_key(p) for p in wanted}
        have_keys = {_key(p) for p in have}
        stale = [p for p in have if _key(p) not in wanted_keys]
        missing = [p for p in wanted if _key(p) not in have_keys]
        # Revoking first frees an allow-all egress rule to come back with another description.
        for direction, action in (('ingress', 'RevokeSecurityGroupIngress'), ('egress', 'RevokeSecurityGroupEgress')):
            perms = [p for p in stale if p['direction'] == direction]
            if perms:
                self.api.call(action, dict({'GroupId': group_id}, **_permission_params(perms)))
        for direction, action in (('ingress', 'AuthorizeSecurityGroupIngress'),
                                  ('egress', 'AuthorizeSecurityGroupEgress')):
            perms = [p for p in missing if p['direction'] == direction]
            if perms:
                self.api.call(action, dict({'GroupId': group_id}, **_permission_params(perms)))

    def check_delete(self, record):
        if record['name'] == 'default':
            raise CloudError('name: %r is the group EC2 gives every VPC; it goes with its VPC' % record['name'])
        users = sorted(i['name'] for i in self.instances({'instance.group-id': record['id']}))
        if users:
            raise InUse('security group %r is in use by servers %s; remove it from them first'
                        % (record['name'], ', '.join(users)))
        group = self._group(record)
        referrers = sorted(text(g, 'groupName') for g in self.groups({'vpc-id': text(group, 'vpcId')})
                           if text(g, 'groupId') != record['id']
                           and any(p['group'] == record['id'] for p in _permissions(g)))
        if referrers:
            raise InUse('security group %r is the remote group of rules in %s; remove those rules first'
                        % (record['name'], ', '.join(referrers)))

    def delete(self, record):
        if not self.groups({'group-id': record['id']}):
            return
        self.check_delete(record)
        try:
            self.api.call('DeleteSecurityGroup', {'GroupId': record['id']})
        except Ec2ApiError as exc:
            if exc.code != 'DependencyViolation':
                raise
            raise InUse('security group %r is in use: %s' % (record['name'], exc.message))
