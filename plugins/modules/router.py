#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: router
short_description: Create, update or delete a router on any configured cloud
description:
  - Ensures a router exists with the given subnet interfaces and external gateway, or does
    not exist.
  - A router answers on the gateway address of every subnet it is attached to and routes
    between them. With an external gateway it also routes them to the external network,
    translating their addresses to its own gateway address, and carries floating IPs.
  - A subnet can be attached to one router at a time.
  - On the local lab a router is a network namespace with IP forwarding on, a C(qr-) interface
    on each subnet and a C(qg-) interface on the external network.
  - On OpenStack a router is a neutron router; its interfaces are router ports on the subnets.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Name of the router. With a C(run-id) label, the name is looked up within that run only.
    type: str
    required: true
  state:
    description: Whether the router should exist.
    type: str
    choices: [present, absent]
    default: present
  interfaces:
    description:
      - Names of the subnets to attach the router to.
      - When given, this is the exact set; subnets not listed are detached. When omitted, the
        router's interfaces are left as they are (none for a new router).
      - Detaching a subnet is refused while a floating IP is routed through it.
    type: list
    elements: str
  external_network:
    description:
      - Name of the external network to give the router a gateway on. The local lab's is V(external).
        On OpenStack V(external) is the cloud's external network, or give the network's name.
      - The empty string removes the gateway. When omitted, the gateway is left as it is (none
        for a new router).
      - Removing the gateway is refused while a floating IP is routed through it.
    type: str
  labels:
    description:
      - Labels (tags, metadata) to set on the router. Labels not named here are left alone.
    type: dict
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: An edge router between two subnets and the outside
  cloudops.multicloud.router:
    cloud: lab
    name: edge
    interfaces: [front, back]
    external_network: external
    labels:
      run-id: demo-1

- name: Keep its interfaces, drop the external gateway
  cloudops.multicloud.router:
    cloud: lab
    name: edge
    external_network: ''

- name: Remove it
  cloudops.multicloud.router:
    cloud: lab
    name: edge
    state: absent
'''

RETURN = r'''
router:
  description: The router as it is after the task; null after deletion.
  returned: always
  type: dict
  contains:
    id:
      description: Cloud identifier of the router.
      type: str
      sample: 3c5d7e9f1a2b4c6d8e0f1a2b3c4d5e6f
    name:
      description: Name of the router.
      type: str
      sample: edge
    status:
      description: ACTIVE once usable, ERROR if a change failed part way.
      type: str
      sample: ACTIVE
    interfaces:
      description: Names of the subnets the router is attached to, sorted.
      type: list
      elements: str
      sample: [back, front]
    external_network:
      description: Name of the external network of the router's gateway; null without one.
      type: str
      sample: external
    external_address:
      description: The router's address on the external network; null without a gateway.
      type: str
      sample: 198.18.0.2
    labels:
      description: Labels of the router.
      type: dict
      sample: {run-id: demo-1}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    ensure, named_argument_spec, run_module,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.routers import desired_router


def main():
    module = AnsibleModule(
        argument_spec=named_argument_spec(
            interfaces={'type': 'list', 'elements': 'str'},
            external_network={'type': 'str'},
        ),
        supports_check_mode=True,
    )
    params = module.params
    run_module(module, lambda provider: ensure(provider, module, 'router', desired_router(
        params['interfaces'], params['external_network'], params['labels'])))


if __name__ == '__main__':
    main()
