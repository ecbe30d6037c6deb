# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2 in depth: every kind of the collection mapped onto EC2 objects.

network = VPC, subnet = subnet, router = a route table per VPC of its interfaces (VPC peering
connections between them, an internet gateway for an external gateway), security_group =
security group, server = instance, floating_ip = elastic IP, keypair = key pair. Labels are
tags; the name is the Name tag (key pairs and security groups have names of their own). One
handler per kind does the work; this class only routes to them.
"""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.base import Provider
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.driver import build_driver
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2_api import Ec2Api
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud import ec2_compute, ec2_network


class Ec2Provider(Provider):
    family = 'libcloud'

    def __init__(self, cloud, settings, timeout=180, wait=True, api_retries=3, driver=None):
        super().__init__(cloud, settings, timeout=timeout, wait=wait, api_retries=api_retries)
        self.driver = driver or build_driver(cloud, settings, timeout)
        self.api = Ec2Api(self.driver, retries=api_retries, timeout=timeout)
        self.region = settings.get('region') or 'us-east-1'
        self.handlers = {
            'network': ec2_network.Vpcs(self),
            'subnet': ec2_network.Subnets(self),
            'router': ec2_network.Routers(self),
            'security_group': ec2_network.SecurityGroups(self),
            'server': ec2_compute.Instances(self),
            'keypair': ec2_compute.KeyPairs(self),
            'floating_ip': ec2_compute.ElasticIps(self),
        }

    def handler(self, kind):
        if kind not in self.handlers:
            raise self.unsupported('%s objects' % kind)
        return self.handlers[kind]

    # Reading
    def list(self, kind, name=None):
        return self.handler(kind).list(name)

    def images(self, name=None):
        return ec2_compute.images(self, name)

    def sizes(self, name=None):
        return ec2_compute.sizes(self, name)

    def describe(self):
        return ec2_compute.describe(self)

    def labelled(self, labels):
        return ec2_compute.labelled(self, labels)

    # Changing
    def check_create(self, kind, name, desired):
        return self.handler(kind).check_create(name, desired)

    def create(self, kind, name, desired):
        return self.handler(kind).create(name, desired)

    def create_many(self, kind, names, desired):
        handler = self.handler(kind)
        if hasattr(handler, 'create_many'):
            return handler.create_many(names, desired)
        return super().create_many(kind, names, desired)

    def check_update(self, kind, record, changes):
        return self.handler(kind).check_update(record, changes)

    def update(self, kind, record, changes):
        return self.handler(kind).update(record, changes)

    def check_delete(self, kind, record):
        return self.handler(kind).check_delete(record)

    def delete(self, kind, record):
        return self.handler(kind).delete(record)

    def delete_many(self, kind, records):
        """Bulk delete (one TerminateInstances for servers); others one by one."""
        handler = self.handler(kind)
        if hasattr(handler, 'delete_many'):
            return handler.delete_many(records)
        return super().delete_many(kind, records)

    def check_action(self, record, action):
        return self.handler('server').check_action(record, action)

    def server_action(self, record, action):
        return self.handler('server').action(record, action)

    def check_many(self, steps):
        """As the base, except that a step may name a server an earlier create step of the batch
        makes: its power action is checked on the preview, its floating IP against its network."""
        servers, results, planned = self.handler('server'), [], {}
        for op, kind, target, arg in steps:
            if op == 'create' and kind == 'server':
                plan = servers.plan(target, arg)
                planned.update(plan.targets)
                results.append(plan.previews)
                continue
            if op == 'create':
                handler = self.handler(kind)
                if kind == 'floating_ip':
                    results.append([handler.check_create(name, arg, planned) for name in target])
                else:
                    results.append([handler.check_create(name, arg) for name in target])
                continue
            if op == 'action':
                servers.check_action(target if isinstance(target, dict) else {'name': target, 'status': 'ACTIVE'}, arg)
            elif isinstance(target, dict):
                if op == 'update':
                    self.check_update(kind, target, arg)
                else:
                    self.check_delete(kind, target)
            results.append(None)
        return results
