#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: subnet
short_description: Create or delete an IPv4 subnet of a network on any configured cloud
description:
  - Ensures a subnet with the given CIDR exists on a network, or does not exist.
  - A subnet's network, CIDR and gateway are fixed once it exists; only its labels change
    in place. Asking for a different CIDR fails and leaves the subnet as it is.
  - On the local lab a subnet is address bookkeeping on its network's bridge; servers take
    addresses from it and a router attached to it answers on its gateway address.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Name of the subnet. With a C(run-id) label, the name is looked up within that run only.
    type: str
    required: true
  state:
    description: Whether the subnet should exist.
    type: str
    choices: [present, absent]
    default: present
  network:
    description:
      - Name of the network the subnet belongs to. Needed to create the subnet.
    type: str
  cidr:
    description:
      - IPv4 network of the subnet, such as V(10.10.1.0/24), with its host bits clear.
      - Needed to create the subnet. It may not overlap another subnet of the cloud, nor the
        external network. On the local lab it must be a /29 or larger.
    type: str
  gateway_ip:
    description:
      - Gateway address of the subnet, a host address inside O(cidr).
      - New subnets default to the first host address of O(cidr).
    type: str
  labels:
    description:
      - Labels (tags, metadata) to set on the subnet. Labels not named here are left alone.
    type: dict
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: A /24 on the back network
  cloudops.multicloud.subnet:
    cloud: lab
    name: back-v4
    network: back
    cidr: 10.10.2.0/24
    labels:
      run-id: demo-1

- name: Remove it
  cloudops.multicloud.subnet:
    cloud: lab
    name: back-v4
    state: absent
'''

RETURN = r'''
subnet:
  description: The subnet as it is after the task; null after deletion.
  returned: always
  type: dict
  contains:
    id:
      description: Cloud identifier of the subnet.
      type: str
      sample: 0b8e2c4d6f8a4b1c9d2e3f4a5b6c7d8e
    name:
      description: Name of the subnet.
      type: str
      sample: back-v4
    network:
      description: Name of the subnet's network.
      type: str
      sample: back
    cidr:
      description: IPv4 network of the subnet.
      type: str
      sample: 10.10.2.0/24
    gateway_ip:
      description: Gateway address of the subnet.
      type: str
      sample: 10.10.2.1
    labels:
      description: Labels of the subnet.
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
            network={'type': 'str'},
            cidr={'type': 'str'},
            gateway_ip={'type': 'str'},
        ),
        supports_check_mode=True,
    )
    params = module.params
    run_module(module, lambda provider: ensure(provider, module, 'subnet', {
        key: params[key] for key in ('network', 'cidr', 'gateway_ip', 'labels')}))


if __name__ == '__main__':
    main()
