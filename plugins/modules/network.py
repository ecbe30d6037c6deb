#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: network
short_description: Create, update or delete a network on any configured cloud
description:
  - Ensures a network exists with the given MTU and labels, or does not exist.
  - On the local lab a network is a Linux bridge inside the lab's fabric namespace.
  - On EC2 (libcloud provider, driver ec2) a network is a VPC, named by its C(Name) tag, with the
    other labels as tags. The name V(internet) (or V(external)) stands for the internet, which EC2
    reaches through a router's internet gateway; it cannot be created or deleted.
  - On OpenStack a network is a neutron network with its labels as tags C(key=value). The cloud's
    external networks are listed, and neither changed nor deleted.
  - Deleting a network also deletes its subnets, and is refused while a server or router
    still has an address on it. On EC2 it is also refused while a router (route table) or
    security group of the VPC exists.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Name of the network. With a C(run-id) label, the name is looked up within that run only.
    type: str
    required: true
  state:
    description: Whether the network should exist.
    type: str
    choices: [present, absent]
    default: present
  mtu:
    description:
      - MTU of the network, 576 to 9000. New networks default to 1500.
      - Changing it on an existing network changes every interface attached to it.
      - On EC2 the MTU inside a VPC is fixed at 9001; any other value is refused.
      - On OpenStack the largest MTU is the cloud's (its network type's); neutron refuses more.
    type: int
  cidr:
    description:
      - Address range of the network, such as V(10.10.0.0/16). It cannot be changed once the network exists.
      - On EC2 it is the VPC's CIDR block, a /16 to /28, and defaults to V(10.0.0.0/16).
      - On the local lab and OpenStack it is optional; when given, every subnet of the network must lie inside it.
    type: str
  labels:
    description:
      - Labels (tags, metadata) to set on the network. Labels not named here are left alone.
    type: dict
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: A network for the database tier with a smaller MTU
  cloudops.multicloud.network:
    cloud: lab
    name: back
    mtu: 1400
    labels:
      run-id: demo-1

- name: A VPC on EC2 with its own address range
  cloudops.multicloud.network:
    cloud: aws-east
    name: back
    cidr: 10.20.0.0/16

- name: Remove it
  cloudops.multicloud.network:
    cloud: lab
    name: back
    state: absent
'''

RETURN = r'''
network:
  description: The network as it is after the task; null after deletion.
  returned: always
  type: dict
  contains:
    id:
      description: Cloud identifier of the network.
      type: str
      sample: 6f1c0e7a2b3d4e5f8a9b0c1d2e3f4a5b
    name:
      description: Name of the network.
      type: str
      sample: back
    status:
      description: ACTIVE once usable, ERROR if its creation failed part way.
      type: str
      sample: ACTIVE
    mtu:
      description: MTU of the network.
      type: int
      sample: 1400
    cidr:
      description: Address range of the network; null on the local lab when none was given.
      type: str
      sample: 10.10.0.0/16
    external:
      description: Whether the network is an external (floating IP) network.
      type: bool
      sample: false
    subnets:
      description: Names of the network's subnets.
      type: list
      elements: str
      sample: [back]
    labels:
      description: Labels of the network.
      type: dict
      sample: {run-id: demo-1}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    ensure, named_argument_spec, run_module,
)


def main():
    module = AnsibleModule(
        argument_spec=named_argument_spec(
            mtu={'type': 'int'},
            cidr={'type': 'str'},
        ),
        supports_check_mode=True,
    )
    params = module.params
    run_module(module, lambda provider: ensure(
        provider, module, 'network', {key: params[key] for key in ('mtu', 'cidr', 'labels')}))


if __name__ == '__main__':
    main()
