# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 compute: instances (servers), key pairs, elastic IPs (floating IPs), and what a region offers.

A server's network is a VPC named by its Name tag, its subnet a subnet of that VPC; security
groups are named by their group names. Every reference is resolved and checked through the API
before anything changes, so check mode fails exactly where a real run would.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import time
import uuid

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, InUse, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import FloatingIp, Image, Keypair, Server, Size
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.base import KINDS, SERVER_ACTIONS
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2_api import (
    Ec2ApiError, Ec2NotFound, filter_params, list_params, tag_specification, tags_of, text,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local import keys
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import in_run

INSTANCES = 'reservationSet/item/instancesSet/item'
STATUS = {'pending': 'BUILD', 'running': 'ACTIVE', 'stopping': 'SHUTOFF', 'stopped': 'SHUTOFF'}
LIVE_STATES = tuple(STATUS)
GONE_STATES = ('shutting-down', 'terminated')
DEFAULT_SIZE = 't3.micro'
EXTERNAL = 'internet'
EXTERNAL_NAMES = (EXTERNAL, 'external')  # 'external' is the lab's name, which playbooks use
# Which of the internet's names a floating IP was allocated on, so that it reads back as asked (as routers do).
EXTERNAL_TAG = 'cloudops.multicloud/external-network'
RESERVED_TAGS = ('Name', EXTERNAL_TAG)
INSTANCE_ID = re.compile(r'^i-[0-9a-f]{8,17}$')
AMI_ID = re.compile(r'^ami-[0-9a-f]{8,17}$')
USER_DATA_MAX = 16384  # bytes before base64, EC2's limit
TAG_VALUE_MAX = 256
FILTER_VALUES_MAX = 200  # values per filter that EC2 accepts in one request
# EC2 keeps the first four addresses of a subnet and its last one for itself.
RESERVED_HEAD = 4
IMPORTABLE_KEYS = ('ssh-rsa', 'ssh-ed25519')
KEY_TYPES = {'ed25519': 'ssh-ed25519', 'rsa': 'ssh-rsa'}
# DescribeTags resource types -> kinds; moto says vpc-elastic-ip where AWS says elastic-ip.
RESOURCE_KINDS = {'instance': 'server', 'vpc': 'network', 'subnet': 'subnet', 'security-group': 'security_group',
                  'internet-gateway': 'router', 'route-table': 'router', 'key-pair': 'keypair',
                  'elastic-ip': 'floating_ip', 'vpc-elastic-ip': 'floating_ip'}


# ---------------------------------------------------------------------- shared pieces
def check_labels(labels, field='labels'):
    """Labels become tags: string values, and neither the Name tag nor AWS's own prefix."""
    labels = labels or {}
    if not isinstance(labels, dict):
        raise CloudError('%s: must be a dict of strings, got %r' % (field, labels))
    for key, value in labels.items():
        if not isinstance(value, str):
            raise CloudError('%s.%s: label values are strings, got %r' % (field, key, value))
        if key in RESERVED_TAGS:
            raise CloudError('%s.%s: EC2 keeps the object\'s name in the tag %s; it is not a label' % (field, key, key))
        if str(key).lower().startswith('aws:'):
            raise CloudError('%s.%s: tag keys starting with aws: are reserved by AWS' % (field, key))
        if len(value) > TAG_VALUE_MAX:
            raise CloudError('%s.%s: EC2 tag values are at most %d characters' % (field, key, TAG_VALUE_MAX))
    return dict(labels)


def labels_of(element):
    return {key: value for key, value in tags_of(element).items() if key not in RESERVED_TAGS}


def name_of(element, fallback):
    """The Name tag; an object without one goes by its id, so it can still be found and deleted."""
    return tags_of(element).get('Name') or fallback


def chunks(values, size=FILTER_VALUES_MAX):
    values = list(values)
    return [values[index:index + size] for index in range(0, len(values), size)] if values else []


def describe_by(p, action, item_path, filter_name, values, filters=None):
    """Every item whose ``filter_name`` is one of ``values``, in requests of at most 200 values."""
    items = []
    for part in chunks(sorted(set(values))):
        items.extend(p.api.describe(action, item_path, filter_params(dict(filters or {}, **{filter_name: part}))))
    return items


def eventually(p, call):
    """call(), again while EC2 has not yet made a new object visible everywhere (eventual consistency)."""
    delay, deadline = 0.5, time.monotonic() + min(p.timeout, 30)
    while True:
        try:
            return call()
        except Ec2NotFound:
            if time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5)


def changed_labels(record, labels):
    have = record.get('labels') or {}
    return {key: value for key, value in (labels or {}).items() if have.get(key) != value}


class Resolver:
    """Names of a task (networks, subnets, groups, keys, images, sizes) -> EC2 objects, or one clear line."""

    def __init__(self, p):
        self.p = p

    def image(self, image):
        image = image or self.p.settings.get('image')
        if not image:
            raise CloudError('image: EC2 has no default image; give an AMI id or the exact name of an AMI '
                             '(see image_info), or set image in the cloud\'s entry of the clouds file')
        if AMI_ID.match(image):
            found = describe_by(self.p, 'DescribeImages', 'imagesSet/item', 'image-id', [image])
        else:
            found = [i for i in self.p.api.describe('DescribeImages', 'imagesSet/item', filter_params({'name': image}))
                     if text(i, 'name') == image]
        if not found:
            raise NotFound('image: %r is not an AMI id or the exact name of an AMI in region %s (see image_info)'
                           % (image, self.p.region))
        if len(found) > 1:
            raise CloudError('image: %d AMIs are named %r (%s); give the AMI id'
                             % (len(found), image, ', '.join(sorted(text(i, 'imageId') for i in found))))
        return found[0]

    def size(self, size):
        size = size or self.p.settings.get('size') or DEFAULT_SIZE
        try:
            found = self.p.api.describe('DescribeInstanceTypes', 'instanceTypeSet/item', list_params('InstanceType', [size]))
        except Ec2ApiError as exc:
            if exc.code != 'InvalidInstanceType':
                raise
            found = []
        if not found:
            raise NotFound('size: %r is not an instance type of region %s (see size_info)' % (size, self.p.region))
        return found[0]

    def vpc(self, name, field):
        if name in EXTERNAL_NAMES:
            raise CloudError('%s: servers attach to VPCs, not to %r (the internet); use a floating IP' % (field, name))
        found = in_run(self.p.api.describe('DescribeVpcs', 'vpcSet/item', filter_params({'tag:Name': name})),
                       self.p.run_scope, tags_of)
        if not found and name.startswith('vpc-'):
            found = describe_by(self.p, 'DescribeVpcs', 'vpcSet/item', 'vpc-id', [name])
        if not found:
            raise NotFound('%s: network %r does not exist on cloud %s' % (field, name, self.p.cloud))
        if len(found) > 1:
            raise CloudError('%s: %d networks are named %r on cloud %s' % (field, len(found), name, self.p.cloud))
        return found[0]

    def default_vpc(self):
        found = self.p.api.describe('DescribeVpcs', 'vpcSet/item', filter_params({'is-default': 'true'}))
        if not found:
            raise CloudError('networks: region %s has no default VPC; name the network of the server' % self.p.region)
        return found[0]

    def subnet(self, vpc, want, field, zone=None):
        """The subnet of ``vpc`` named want['subnet'] (else the first by address), in ``zone`` when given."""
        vpc_name = name_of(vpc, text(vpc, 'vpcId'))
        subnets = self.p.api.describe('DescribeSubnets', 'subnetSet/item', filter_params({'vpc-id': text(vpc, 'vpcId')}))
        if want.get('subnet'):
            subnets = [s for s in subnets if want['subnet'] in (name_of(s, text(s, 'subnetId')), text(s, 'subnetId'))]
        if not subnets:
            raise NotFound('%s: network %r has no subnet%s to take an address from'
                           % (field, vpc_name, ' named %r' % want['subnet'] if want.get('subnet') else ''))
        if zone:
            in_zone = [s for s in subnets if text(s, 'availabilityZone') == zone]
            if not in_zone:
                raise CloudError('%s: network %r has no subnet%s in availability zone %s, where the first network\'s '
                                 'subnet is; an instance\'s interfaces share one zone'
                                 % (field, vpc_name, ' named %r' % want['subnet'] if want.get('subnet') else '', zone))
            subnets = in_zone
        return sorted(subnets, key=lambda s: ipaddress.IPv4Network(text(s, 'cidrBlock')))[0]

    def fixed_ip(self, subnet, address, field, count):
        if address is None:
            return None
        if count > 1:
            raise CloudError('%s: one address cannot go to %d servers; create them one by one' % (field, count))
        cidr = ipaddress.IPv4Network(text(subnet, 'cidrBlock'))
        try:
            wanted = ipaddress.IPv4Address(address)
        except ValueError:
            raise CloudError('%s: %r is not an IPv4 address' % (field, address))
        subnet_name = name_of(subnet, text(subnet, 'subnetId'))
        if wanted not in cidr:
            raise CloudError('%s: %s is not in subnet %r (%s)' % (field, address, subnet_name, cidr))
        if int(wanted) - int(cidr.network_address) < RESERVED_HEAD or wanted == cidr.broadcast_address:
            raise CloudError('%s: %s is reserved by EC2 in subnet %r (%s): the first four addresses and the last one'
                             % (field, address, subnet_name, cidr))
        taken = self.p.api.describe('DescribeNetworkInterfaces', 'networkInterfaceSet/item', filter_params(
            {'subnet-id': text(subnet, 'subnetId'), 'addresses.private-ip-address': str(wanted)}))
        if taken:
            raise InUse('%s: %s is already in use in subnet %r' % (field, address, subnet_name))
        return str(wanted)

    def security_groups(self, names, vpc, field='security_groups'):
        """Group names -> ids in ``vpc``; None -> the VPC's default group."""
        if names is not None and not names:
            raise CloudError('%s: an EC2 instance needs at least one security group; leave the option out for '
                             'the network\'s default group' % field)
        groups = self.p.api.describe('DescribeSecurityGroups', 'securityGroupInfo/item',
                                     filter_params({'vpc-id': text(vpc, 'vpcId')}))
        by_name = {}
        for group in groups:
            by_name.setdefault(text(group, 'groupName'), group)
        for group in groups:
            by_name.setdefault(tags_of(group).get('Name'), group)
        ids = []
        for index, name in enumerate(names if names is not None else ['default']):
            if name not in by_name:
                raise NotFound('%s[%d]: security group %r does not exist in network %r'
                               % (field, index, name, name_of(vpc, text(vpc, 'vpcId'))))
            ids.append(text(by_name[name], 'groupId'))
        return ids, sorted(text(g, 'groupName') for g in groups if text(g, 'groupId') in ids)

    def key_name(self, name):
        if not name:
            return None
        found = self.p.api.describe('DescribeKeyPairs', 'keySet/item', filter_params({'key-name': name}))
        if not found:
            raise NotFound('key_name: keypair %r does not exist on cloud %s' % (name, self.p.cloud))
        return name


# ---------------------------------------------------------------------- servers
class BatchPlan:
    """One RunInstances request for a batch, and what the batch will look like."""

    def __init__(self, params, previews, targets, name_in_request):
        self.params = params
        self.previews = previews
        self.targets = targets  # name -> {'vpc_id', 'vpc_default', 'network'}, for floating IPs of the batch
        self.name_in_request = name_in_request


class Instances:
    kind = 'server'

    def __init__(self, p):
        self.p = p
        self.resolve = Resolver(p)

    # ------------------------------------------------------------------ reading
    def list(self, name=None):
        return self.render(self.items(name))

    def items(self, name=None):
        """Raw items of the live instances named ``name`` (all, when None), following every page."""
        filters = {'instance-state-name': list(LIVE_STATES)}
        if name is not None:
            filters['tag:Name'] = name
        items = self.p.api.describe('DescribeInstances', INSTANCES, filter_params(filters))
        if name is not None and INSTANCE_ID.match(name):
            items += [i for i in self.by_ids([name]) if text(i, 'instanceState/name') in LIVE_STATES
                      and not tags_of(i).get('Name')]
        return [i for i in items if text(i, 'instanceState/name') in LIVE_STATES]

    def by_ids(self, ids):
        """Items of these instances in any state; an id EC2 does not show (yet) is left out."""
        return describe_by(self.p, 'DescribeInstances', INSTANCES, 'instance-id', ids)

    def render(self, items):
        if not items:
            return []
        enis = [e for i in items for e in i.findall('networkInterfaceSet/item')]
        vpc_ids = {text(e, 'vpcId') for e in enis} | {text(i, 'vpcId') for i in items}
        subnet_ids = {text(e, 'subnetId') for e in enis} | {text(i, 'subnetId') for i in items}
        vpcs = {text(v, 'vpcId'): name_of(v, text(v, 'vpcId'))
                for v in describe_by(self.p, 'DescribeVpcs', 'vpcSet/item', 'vpc-id', vpc_ids - {None})}
        subnets = {text(s, 'subnetId'): name_of(s, text(s, 'subnetId'))
                   for s in describe_by(self.p, 'DescribeSubnets', 'subnetSet/item', 'subnet-id', subnet_ids - {None})}
        images = {text(i, 'imageId'): text(i, 'name') for i in describe_by(
            self.p, 'DescribeImages', 'imagesSet/item', 'image-id', {text(i, 'imageId') for i in items} - {None})}
        return [self._server(item, vpcs, subnets, images) for item in items]

    def _server(self, item, vpcs, subnets, images):
        iid = text(item, 'instanceId')
        networks, addresses, groups = [], {}, {text(g, 'groupName') for g in item.findall('groupSet/item')}
        enis = sorted(item.findall('networkInterfaceSet/item'), key=lambda e: int(text(e, 'attachment/deviceIndex', 0)))
        for eni in enis:
            network = vpcs.get(text(eni, 'vpcId'), text(eni, 'vpcId'))
            address = text(eni, 'privateIpAddress')
            networks.append({'network': network, 'subnet': subnets.get(text(eni, 'subnetId'), text(eni, 'subnetId')),
                             'address': address, 'interface': 'eth%s' % text(eni, 'attachment/deviceIndex', 0)})
            addresses.setdefault(network, []).append(address)
            groups.update(text(g, 'groupName') for g in eni.findall('groupSet/item'))
        if not enis and text(item, 'subnetId'):
            network = vpcs.get(text(item, 'vpcId'), text(item, 'vpcId'))
            networks.append({'network': network, 'subnet': subnets.get(text(item, 'subnetId'), text(item, 'subnetId')),
                             'address': text(item, 'privateIpAddress'), 'interface': 'eth0'})
            addresses[network] = [text(item, 'privateIpAddress')]
        private, public = text(item, 'privateIpAddress'), text(item, 'ipAddress') or None
        image_id = text(item, 'imageId')
        return Server(
            id=iid, name=name_of(item, iid), status=STATUS.get(text(item, 'instanceState/name'), 'ERROR'),
            image=images.get(image_id) or image_id, image_id=image_id, size=text(item, 'instanceType'), networks=networks,
            addresses=addresses, private_ip=private, public_ip=public, security_groups=sorted(groups - {None}),
            key_name=text(item, 'keyName'), labels=labels_of(item), created=text(item, 'launchTime'),
            connection={'type': 'ssh', 'host': public or private, 'user': None})

    # ------------------------------------------------------------------ creating
    def check_batch(self, names, desired):
        """(previews, {name: target}) of a batch, for check_many."""
        plan = self.plan(names, desired)
        return plan.previews, plan.targets

    def plan(self, names, desired):
        """Validate a batch as RunInstances would take it; nothing changes."""
        for index, name in enumerate(names):
            if len(name) > TAG_VALUE_MAX:
                raise CloudError('name: %r is %d characters; an EC2 Name tag holds at most %d'
                                 % (name[:20] + '...', len(name), TAG_VALUE_MAX))
        labels = check_labels(desired.get('labels'))
        image = self.resolve.image(desired.get('image'))
        size = self.resolve.size(desired.get('size'))
        key_name = self.resolve.key_name(desired.get('key_name'))
        user_data = desired.get('user_data')
        if user_data is not None and len(user_data.encode()) > USER_DATA_MAX:
            raise CloudError('user_data: %d bytes; EC2 takes at most %d' % (len(user_data.encode()), USER_DATA_MAX))
        ports = self._ports(desired.get('networks'), desired.get('security_groups'), len(names), size)
        params = {'ImageId': text(image, 'imageId'), 'InstanceType': text(size, 'instanceType'),
                  'MinCount': len(names), 'MaxCount': len(names), 'ClientToken': str(uuid.uuid4()), 'KeyName': key_name}
        if user_data is not None:
            params['UserData'] = base64.b64encode(user_data.encode()).decode()
        if len(ports) == 1:
            port = ports[0]
            params.update(list_params('SecurityGroupId', port['group_ids']))
            params.update({'SubnetId': port['subnet_id'], 'PrivateIpAddress': port['address']})
        else:
            for index, port in enumerate(ports):
                prefix = 'NetworkInterface.%d.' % (index + 1)
                params.update({prefix + 'DeviceIndex': index, prefix + 'SubnetId': port['subnet_id'],
                               prefix + 'PrivateIpAddress': port['address']})
                params.update(list_params(prefix + 'SecurityGroupId', port['group_ids']))
        # One name goes in with the request; a batch is named right after it (CreateTags per name).
        name_in_request = len(names) == 1
        tags = dict(labels, Name=names[0]) if name_in_request else labels
        params.update(tag_specification('instance', tags))
        image_name = text(image, 'name') or text(image, 'imageId')
        previews, targets = [], {}
        for name in names:
            networks = [{'network': p['network'], 'subnet': p['subnet'], 'address': p['address'],
                         'interface': 'eth%d' % i} for i, p in enumerate(ports)]
            addresses = {}
            for port in networks:
                if port['address']:
                    addresses.setdefault(port['network'], []).append(port['address'])
            previews.append(Server(
                id=None, name=name, status='BUILD', image=image_name, size=text(size, 'instanceType'),
                networks=networks, addresses=addresses, private_ip=ports[0]['address'],
                security_groups=sorted({g for p in ports for g in p['group_names']}), key_name=key_name,
                labels=dict(labels), connection={'type': 'ssh', 'host': ports[0]['address'], 'user': None}))
            targets[name] = {'vpc_id': ports[0]['vpc_id'], 'vpc_default': ports[0]['vpc_default'],
                             'network': ports[0]['network']}
        return BatchPlan(params, previews, targets, name_in_request)

    def _ports(self, networks, security_groups, count, size):
        """One entry per network interface: VPC, subnet, address and groups, all checked."""
        limit = int(text(size, 'networkInfo/maximumNetworkInterfaces', 0) or 0)
        if networks and limit and len(networks) > limit:
            raise CloudError('networks: instance type %s takes at most %d network interfaces, got %d'
                             % (text(size, 'instanceType'), limit, len(networks)))
        ports, zone = [], None
        for index, want in enumerate(networks or [None]):
            field = 'networks[%d]' % index
            if want is None:
                vpc, subnet = self.resolve.default_vpc(), None
            else:
                vpc = self.resolve.vpc(want['name'], field + '.name')
                subnet = self.resolve.subnet(vpc, want, field, zone)
                zone = zone or text(subnet, 'availabilityZone')
            group_ids, group_names = self.resolve.security_groups(security_groups, vpc)
            ports.append({
                'vpc_id': text(vpc, 'vpcId'), 'vpc_default': text(vpc, 'isDefault') == 'true',
                'network': name_of(vpc, text(vpc, 'vpcId')),
                'subnet_id': text(subnet, 'subnetId') if subnet is not None else None,
                'subnet': name_of(subnet, text(subnet, 'subnetId')) if subnet is not None else None,
                'address': self.resolve.fixed_ip(subnet, want.get('fixed_ip'), field + '.fixed_ip', count)
                if subnet is not None else None,
                'group_ids': group_ids, 'group_names': group_names})
        return ports

    def check_create(self, name, desired):
        return self.plan([name], desired).previews[0]

    def create(self, name, desired):
        return self.create_many([name], desired)[0]

    def create_many(self, names, desired):
        plan = self.plan(names, desired)
        root = self.p.api.call('RunInstances', plan.params)
        items = sorted(root.findall('instancesSet/item'), key=lambda i: int(text(i, 'amiLaunchIndex', 0)))
        ids = [text(i, 'instanceId') for i in items]
        if not plan.name_in_request:
            try:
                for name, iid in zip(names, ids):
                    eventually(self.p, lambda n=name, i=iid: self.p.api.tag([i], {'Name': n}))
            except CloudError as exc:
                # Unnamed instances could not be told apart again: take the batch back.
                self.p.api.call('TerminateInstances', list_params('InstanceId', ids))
                raise CloudError('name: could not name the new instances, so they were terminated: %s' % exc)
        items = self.await_states(ids, names, 'running' if self.p.wait else None, 'start')
        by_id = {r.id: r for r in self.render(items)}
        return [by_id[iid] for iid in ids]

    def await_states(self, ids, names, target, what):
        """Items of ``ids`` once every one is in state ``target`` (None: as they are now), within the timeout."""
        deadline = time.monotonic() + self.p.timeout
        delay = 0.2
        label = dict(zip(ids, names))
        while True:
            items = self.by_ids(ids)
            states = {text(i, 'instanceId'): text(i, 'instanceState/name') for i in items}
            if target != 'terminated':
                for item in items:
                    if states[text(item, 'instanceId')] in GONE_STATES:
                        reason = text(item, 'stateReason/message') or text(item, 'reason') or 'no reason given'
                        raise CloudError('server %r is %s instead of %s: %s' % (
                            label.get(text(item, 'instanceId')), states[text(item, 'instanceId')],
                            'reaching ' + target if target else 'starting', reason))
            # An id EC2 does not show yet is not there yet (eventual consistency).
            late = [i for i in ids if i not in states or target is not None and states[i] != target]
            if not late:
                return items
            if time.monotonic() > deadline:
                raise CloudError('timeout: servers %s did not %s within %ss'
                                 % (', '.join(repr(label[i]) for i in late), what, self.p.timeout))
            time.sleep(delay)
            delay = min(delay * 1.5, 5)

    # ------------------------------------------------------------------ changing
    def _item(self, record):
        items = [i for i in self.by_ids([record['id']]) if text(i, 'instanceState/name') not in GONE_STATES]
        if not items:
            raise NotFound('server %r (%s) no longer exists on cloud %s' % (record['name'], record['id'], self.p.cloud))
        return items[0]

    def _group_ids(self, item, names):
        vpc = describe_by(self.p, 'DescribeVpcs', 'vpcSet/item', 'vpc-id', [text(item, 'vpcId')])
        if not vpc:
            raise NotFound('security_groups: the network of server %r no longer exists' % name_of(item, ''))
        return self.resolve.security_groups(names, vpc[0])[0]

    def check_update(self, record, changes):
        check_labels(changes.get('labels'))
        if 'security_groups' in changes:
            self._group_ids(self._item(record), changes['security_groups'])

    def update(self, record, changes):
        labels = check_labels(changes.get('labels'))
        item = self._item(record)
        if 'security_groups' in changes:
            group_ids = self._group_ids(item, changes['security_groups'])
            enis = item.findall('networkInterfaceSet/item')
            if len(enis) > 1:
                # An instance with several interfaces has groups per interface; the primary one carries them.
                primary = min(enis, key=lambda e: int(text(e, 'attachment/deviceIndex', 0)))
                params = {'NetworkInterfaceId': text(primary, 'networkInterfaceId')}
                params.update(list_params('SecurityGroupId', group_ids))
                self.p.api.call('ModifyNetworkInterfaceAttribute', params)
            else:
                params = {'InstanceId': record['id']}
                params.update(list_params('GroupId', group_ids))
                self.p.api.call('ModifyInstanceAttribute', params)
        self.p.api.tag([record['id']], changed_labels(record, labels))
        return self.render(self.by_ids([record['id']]))[0]

    def check_delete(self, record):
        return None

    def delete(self, record):
        self.delete_many([record])

    def delete_many(self, records):
        """Terminate instances in one request; their elastic IPs are disassociated first and stay allocated."""
        ids = [r['id'] for r in records]
        # AWS disassociates an instance's elastic IPs as it terminates; moto keeps them associated.
        for address in describe_by(self.p, 'DescribeAddresses', 'addressesSet/item', 'instance-id', ids):
            if text(address, 'associationId'):
                self.p.api.call('DisassociateAddress', {'AssociationId': text(address, 'associationId')})
        try:
            self.p.api.call('TerminateInstances', list_params('InstanceId', ids))
        except Ec2NotFound:
            # Some are gone already: terminate the others, which EC2 still shows.
            ids = [text(i, 'instanceId') for i in self.by_ids(ids) if text(i, 'instanceState/name') not in GONE_STATES]
            if not ids:
                return
            self.p.api.call('TerminateInstances', list_params('InstanceId', ids))
        if self.p.wait:
            names = {r['id']: r['name'] for r in records}
            self.await_states(ids, [names[i] for i in ids], 'terminated', 'terminate')

    def check_action(self, record, action):
        if action not in SERVER_ACTIONS:
            raise CloudError('state: %r is not a server action (%s)' % (action, ', '.join(SERVER_ACTIONS)))
        if record.get('status') not in ('ACTIVE', 'BUILD', 'SHUTOFF'):
            raise CloudError('server %r is in status %s and cannot %s' % (record['name'], record.get('status'), action))

    def action(self, record, action):
        self.check_action(record, action)
        item = self._item(record)
        iid, name, state = record['id'], record['name'], text(item, 'instanceState/name')
        if action == 'reboot' and state in ('stopping', 'stopped'):
            action = 'start'  # as on the lab: rebooting a stopped server boots it
        if action == 'start':
            if state == 'stopping':
                self.await_states([iid], [name], 'stopped', 'stop')
            if state in ('stopping', 'stopped'):
                self.p.api.call('StartInstances', list_params('InstanceId', [iid]))
            target = 'running'
        elif action == 'stop':
            if state == 'pending':
                self.await_states([iid], [name], 'running', 'start')
            if state in ('pending', 'running'):
                self.p.api.call('StopInstances', list_params('InstanceId', [iid]))
            target = 'stopped'
        else:
            if state == 'pending':
                self.await_states([iid], [name], 'running', 'start')
            self.p.api.call('RebootInstances', list_params('InstanceId', [iid]))
            target = 'running'
        items = self.await_states([iid], [name], target if self.p.wait else None, action)
        return self.render(items)[0]


# ---------------------------------------------------------------------- key pairs
def _public_key_of(private_key):
    """The OpenSSH public key line of a private key EC2 generated, when EC2 does not say it."""
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        return None
    data = private_key.encode()
    for load in (serialization.load_ssh_private_key, serialization.load_pem_private_key):
        try:
            key = load(data, password=None)
        except (ValueError, TypeError):
            continue
        return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return None


class KeyPairs:
    kind = 'keypair'

    def __init__(self, p):
        self.p = p

    def list(self, name=None):
        filters = filter_params({'key-name': name}) if name is not None else {}
        items = self.p.api.describe('DescribeKeyPairs', 'keySet/item', dict(filters, IncludePublicKey='true'))
        return [self._record(item) for item in items]

    def _record(self, item, private_key=None, public_key=None):
        public = text(item, 'publicKey') or public_key or (_public_key_of(private_key) if private_key else None)
        public = ' '.join(public.split()[:2]) if public else ''
        key_type = public.split()[0] if public else KEY_TYPES.get(text(item, 'keyType'), text(item, 'keyType') or '')
        return Keypair(id=text(item, 'keyPairId') or text(item, 'keyName'), name=text(item, 'keyName'), type=key_type,
                       public_key=public, fingerprint=keys.fingerprint(public) if public else text(item, 'keyFingerprint'),
                       labels=labels_of(item), private_key=private_key)

    def _checked(self, name, desired):
        if not name or len(name) > 255 or not name.isascii():
            raise CloudError('name: an EC2 key pair name is 1 to 255 ASCII characters, got %r' % name)
        labels = check_labels(desired.get('labels'))
        public_key = None
        if desired.get('public_key'):
            key_type, public_key = keys.parse_public_key(desired['public_key'])
            if key_type not in IMPORTABLE_KEYS:
                raise CloudError('public_key: EC2 imports %s keys, not %s' % (' and '.join(IMPORTABLE_KEYS), key_type))
        return labels, public_key

    def check_create(self, name, desired):
        labels, public_key = self._checked(name, desired)
        key_type = public_key.split()[0] if public_key else 'ssh-ed25519'
        return Keypair(id=None, name=name, type=key_type, public_key=public_key or '',
                       fingerprint=keys.fingerprint(public_key) if public_key else '', labels=labels)

    def create(self, name, desired):
        labels, public_key = self._checked(name, desired)
        params = {'KeyName': name}
        params.update(tag_specification('key-pair', labels))
        if public_key:
            root = self.p.api.call('ImportKeyPair', dict(
                params, PublicKeyMaterial=base64.b64encode(public_key.encode()).decode()))
            return self._record(root, public_key=public_key)
        root = self.p.api.call('CreateKeyPair', dict(params, KeyType='ed25519', KeyFormat='pem'))
        private_key = text(root, 'keyMaterial')
        found = eventually(self.p, lambda: self._described(name))
        return self._record(found, private_key=private_key)

    def _described(self, name):
        found = self.p.api.describe('DescribeKeyPairs', 'keySet/item',
                                    dict(filter_params({'key-name': name}), IncludePublicKey='true'))
        if not found:
            raise Ec2NotFound('DescribeKeyPairs', 'InvalidKeyPair.NotFound', 'key pair %r is not visible yet' % name, 400)
        return found[0]

    def check_update(self, record, changes):
        check_labels(changes.get('labels'))

    def update(self, record, changes):
        labels = check_labels(changes.get('labels'))
        self.p.api.tag([record['id']], changed_labels(record, labels))
        return self._record(self._described(record['name']))

    def check_delete(self, record):
        return None

    def delete(self, record):
        self.p.api.call('DeleteKeyPair', {'KeyName': record['name']})


# ---------------------------------------------------------------------- elastic IPs
class ElasticIps:
    kind = 'floating_ip'

    def __init__(self, p):
        self.p = p

    def list(self, name=None):
        filters = {'domain': 'vpc'}
        if name is not None:
            filters['public-ip'] = name
        return self.render(self.p.api.describe('DescribeAddresses', 'addressesSet/item', filter_params(filters)))

    def render(self, items):
        instance_ids = {text(i, 'instanceId') for i in items} - {None, ''}
        instances = self.p.handlers['server'].by_ids(instance_ids) if instance_ids else []
        names = {text(i, 'instanceId'): name_of(i, text(i, 'instanceId')) for i in instances}
        routers = self._routers({text(i, 'instanceId'): text(i, 'subnetId') for i in instances})
        return [self._record(item, names, routers) for item in items]

    def _routers(self, subnets):
        """{instance id: name of the route table that takes its subnet to an internet gateway}."""
        if not subnets:
            return {}
        by_subnet = {}
        for table in describe_by(self.p, 'DescribeRouteTables', 'routeTableSet/item', 'association.subnet-id',
                                 set(subnets.values()) - {None}):
            if any(text(r, 'destinationCidrBlock') == '0.0.0.0/0' and (text(r, 'gatewayId') or '').startswith('igw-')
                   for r in table.findall('routeSet/item')):
                for association in table.findall('associationSet/item'):
                    by_subnet[text(association, 'subnetId')] = name_of(table, text(table, 'routeTableId'))
        return {iid: by_subnet.get(subnet) for iid, subnet in subnets.items()}

    def _record(self, item, names, routers):
        instance = text(item, 'instanceId') or None
        network = tags_of(item).get(EXTERNAL_TAG)
        return FloatingIp(id=text(item, 'allocationId'), address=text(item, 'publicIp'),
                          network=network if network in EXTERNAL_NAMES else EXTERNAL,
                          status='ACTIVE' if instance else 'DOWN', server=names.get(instance, instance),
                          fixed_address=(text(item, 'privateIpAddress') or None) if instance else None,
                          router=routers.get(instance), labels=labels_of(item))

    def _by_id(self, allocation_id):
        return describe_by(self.p, 'DescribeAddresses', 'addressesSet/item', 'allocation-id', [allocation_id])

    def target(self, server, planned=None, allocation_id=None):
        """The instance (id, fixed address) a floating IP would go to, checked like AssociateAddress would.

        ``planned``: {name: target} of servers the same task creates; they have no id yet."""
        if planned and server in planned:
            self._check_routable(server, planned[server])
            return None, None
        items = in_run(self.p.handlers['server'].items(server), self.p.run_scope, tags_of)
        if not items:
            raise NotFound('server: server %r does not exist on cloud %s' % (server, self.p.cloud))
        if len(items) > 1:
            raise CloudError('server: %d servers are named %r on cloud %s' % (len(items), server, self.p.cloud))
        item = items[0]
        iid = text(item, 'instanceId')
        vpcs = describe_by(self.p, 'DescribeVpcs', 'vpcSet/item', 'vpc-id', [text(item, 'vpcId')])
        if vpcs:
            self._check_routable(server, {'vpc_id': text(vpcs[0], 'vpcId'), 'vpc_default': text(vpcs[0], 'isDefault') == 'true',
                                          'network': name_of(vpcs[0], text(vpcs[0], 'vpcId'))})
        taken = [text(a, 'publicIp') for a in describe_by(self.p, 'DescribeAddresses', 'addressesSet/item', 'instance-id', [iid])
                 if text(a, 'allocationId') != allocation_id]
        if taken:
            raise InUse('server: %r already has floating IP %s' % (server, taken[0]))
        return iid, text(item, 'privateIpAddress')

    def _check_routable(self, server, target):
        # A default VPC comes with an internet gateway on AWS (moto leaves it out), so only other VPCs are asked.
        if target['vpc_default']:
            return
        gateways = self.p.api.describe('DescribeInternetGateways', 'internetGatewaySet/item',
                                       filter_params({'attachment.vpc-id': target['vpc_id']}))
        if not gateways:
            raise CloudError('server: %r is in network %r, which no router with an external gateway (internet '
                             'gateway) serves, so a floating IP cannot reach it' % (server, target['network']))

    def check_create(self, address, desired, planned=None):
        network = desired.get('network')
        if network not in (None,) + EXTERNAL_NAMES:
            raise NotFound('network: %r is not an external network of cloud %s (it has %r)'
                           % (network, self.p.cloud, EXTERNAL))
        labels = check_labels(desired.get('labels'))
        if address is not None:
            try:
                ipaddress.IPv4Address(address)
            except ValueError:
                raise CloudError('address: %r is not an IPv4 address' % address)
        fixed = None
        if desired.get('server'):
            fixed = self.target(desired['server'], planned)[1]
        return FloatingIp(id=None, address=address, network=network or EXTERNAL,
                          status='ACTIVE' if desired.get('server') else 'DOWN',
                          server=desired.get('server') or None, fixed_address=fixed, labels=labels)

    def create(self, address, desired):
        self.check_create(address, desired)
        params = {'Domain': 'vpc', 'Address': address}
        tags = check_labels(desired.get('labels'))
        if desired.get('network') not in (None, EXTERNAL):
            tags[EXTERNAL_TAG] = desired['network']
        params.update(tag_specification('elastic-ip', tags))
        try:
            root = self.p.api.call('AllocateAddress', params)
        except Ec2ApiError as exc:
            if address is None:
                raise
            # EC2 gives out a chosen address only when it was this account's (recovery) or comes from its own pool.
            raise CloudError('address: EC2 did not allocate %s: %s' % (address, exc), code=exc.code)
        allocation_id = text(root, 'allocationId')
        if desired.get('server'):
            try:
                self._associate(allocation_id, desired['server'])
            except CloudError:
                self.p.api.call('ReleaseAddress', {'AllocationId': allocation_id})  # never leak what was just taken
                raise
        return self.render(eventually(self.p, lambda: self._by_id(allocation_id) or self._missing(allocation_id)))[0]

    def _missing(self, allocation_id):
        raise Ec2NotFound('DescribeAddresses', 'InvalidAllocationID.NotFound', '%s is not visible yet' % allocation_id, 400)

    def _associate(self, allocation_id, server):
        iid = self.target(server, allocation_id=allocation_id)[0]
        eventually(self.p, lambda: self.p.api.call('AssociateAddress', {
            'AllocationId': allocation_id, 'InstanceId': iid, 'AllowReassociation': 'true'}))

    def check_update(self, record, changes):
        check_labels(changes.get('labels'))
        if changes.get('server'):
            self.target(changes['server'], allocation_id=record['id'])

    def update(self, record, changes):
        labels = check_labels(changes.get('labels'))
        if 'server' in changes:
            if changes['server']:
                self._associate(record['id'], changes['server'])
            else:
                self._disassociate(record['id'])
        self.p.api.tag([record['id']], changed_labels(record, labels))
        found = self._by_id(record['id'])
        if not found:
            raise NotFound('floating IP %s no longer exists on cloud %s' % (record['address'], self.p.cloud))
        return self.render(found)[0]

    def _disassociate(self, allocation_id):
        for item in self._by_id(allocation_id):
            if text(item, 'associationId'):
                self.p.api.call('DisassociateAddress', {'AssociationId': text(item, 'associationId')})

    def check_delete(self, record):
        return None

    def delete(self, record):
        if not self._by_id(record['id']):
            return
        self._disassociate(record['id'])
        try:
            self.p.api.call('ReleaseAddress', {'AllocationId': record['id']})
        except Ec2NotFound:
            pass


# ---------------------------------------------------------------------- what the region offers
def images(p, name=None):
    """AMIs: the one named exactly ``name`` (filtered by EC2, not here), else your own and Amazon's."""
    if name is not None:
        params = filter_params({'name': name})
    else:
        params = list_params('Owner', ['self', 'amazon'])
    found = [i for i in p.api.describe('DescribeImages', 'imagesSet/item', params) if name is None or text(i, 'name') == name]
    return sorted((Image(id=text(i, 'imageId'), name=text(i, 'name') or text(i, 'imageId'),
                         os='windows' if text(i, 'platform') == 'windows' else 'linux',
                         description=text(i, 'description', '')) for i in found), key=lambda i: (i.name, i.id))


def sizes(p, name=None):
    """Instance types of the region, every page; only the one named ``name`` (asked of EC2) when given."""
    try:
        items = p.api.describe('DescribeInstanceTypes', 'instanceTypeSet/item',
                               list_params('InstanceType', [name]) if name is not None else None)
    except Ec2ApiError as exc:
        if exc.code != 'InvalidInstanceType':
            raise
        items = []
    found = []
    for item in items:
        storage = int(float(text(item, 'instanceStorageInfo/totalSizeInGB', 0) or 0))
        cpu = text(item, 'processorInfo/supportedArchitectures/item', '')
        found.append(Size(id=text(item, 'instanceType'), name=text(item, 'instanceType'),
                          vcpus=int(text(item, 'vCpuInfo/defaultVCpus', 1)), ram_mb=int(text(item, 'memoryInfo/sizeInMiB', 0)),
                          disk_gb=storage, description='%s, %s' % (cpu, 'instance storage' if storage else 'EBS only')))
    return sorted(found, key=lambda s: s.name)


def describe(p):
    return {
        'name': p.cloud,
        'provider': p.family,
        'driver': 'ec2',
        'region': p.region,
        'external_networks': [{'name': EXTERNAL}],
        'counts': {kind + 's': len(p.handlers[kind].list()) for kind in KINDS},
        'capabilities': {'floating_ips': True, 'security_groups': True, 'routers': True, 'bulk_create': True,
                         'data_plane': p.data_plane(), 'network_mtu': False},
    }


def labelled(p, labels):
    """[{kind, id, name}] of every object whose labels include all of ``labels``; EC2 finds the tags."""
    if not labels:
        candidates = None
    else:
        candidates = {}
        for index, (key, value) in enumerate(sorted(labels.items())):
            rows = p.api.describe('DescribeTags', 'tagSet/item', filter_params({'key': key, 'value': str(value)}))
            found = {text(r, 'resourceId'): RESOURCE_KINDS.get(text(r, 'resourceType')) for r in rows}
            candidates = found if index == 0 else {rid: kind for rid, kind in candidates.items() if rid in found}
    result = []
    for kind in KINDS:
        if candidates is not None:
            ids = {rid for rid, found_kind in candidates.items() if found_kind == kind}
            if not ids:
                continue
            # Tags outlive what they tagged (terminated instances, deleted key pairs): list what still exists.
            if kind == 'server':
                records = p.handlers[kind].render([i for i in p.handlers[kind].by_ids(ids)
                                                   if text(i, 'instanceState/name') in LIVE_STATES])
            else:
                records = p.handlers[kind].list()
            records = [r for r in records if r.id in ids or kind == 'router']
        else:
            records = p.handlers[kind].list()
        for record in records:
            if all((record.labels or {}).get(k) == v for k, v in (labels or {}).items()):
                result.append({'kind': kind, 'id': record.id, 'name': getattr(record, 'name', None) or record.address})
    return result
