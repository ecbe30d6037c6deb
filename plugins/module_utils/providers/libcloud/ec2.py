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

from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.base import RoutedProvider
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.driver import build_driver
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2_api import Ec2Api
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud import ec2_compute, ec2_network


class Ec2Provider(RoutedProvider):
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

    def images(self, name=None):
        return ec2_compute.images(self, name)

    def sizes(self, name=None):
        return ec2_compute.sizes(self, name)

    def describe(self):
        return ec2_compute.describe(self)

    def labelled(self, labels):
        return ec2_compute.labelled(self, labels)
