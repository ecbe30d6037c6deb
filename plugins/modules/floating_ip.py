#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: floating_ip
short_description: Allocate, associate, disassociate or release a floating IP on any configured cloud
description:
  - Ensures a floating IP on an external network is allocated and associated with a server,
    allocated and associated with nothing, or released.
  - The floating IP is found by O(address) when given, or else by the server O(server) names,
    so that a task naming only a server allocates one floating IP once.
  - A server can be reached through a floating IP when one of its subnets is attached to a
    router that has a gateway on the floating IP's network. A server has at most one floating IP.
  - On the local lab the floating IP is an address on that router's gateway interface,
    translated to and from the server's address.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  address:
    description:
      - The floating IP address. When it is not allocated yet, this address is allocated.
      - When omitted, the floating IP associated with O(server) is used, or a free address is
        allocated for it.
    type: str
  server:
    description:
      - Name of the server to associate the floating IP with, when O(state=present).
      - With O(state=present), when omitted, an existing association is left as it is.
      - With O(state=detached) or O(state=absent) and no O(address), the floating IP associated with
        this server is the one detached or released.
    type: str
  network:
    description:
      - Name of the external network to allocate the floating IP on. The local lab's is V(external);
        EC2's is V(internet). On OpenStack V(external) is the cloud's external network (its
        C(external_network) setting in the clouds file, or its only one), or give the network's name.
      - When omitted, a new floating IP is allocated on the cloud's external network, and an existing
        one is left on its own.
    type: str
  labels:
    description:
      - Labels (tags, metadata) to set on the floating IP. Labels not named here are left alone.
    type: dict
  state:
    description:
      - V(present) allocates the floating IP if needed and associates it with O(server) when given.
      - V(detached) allocates it if needed and disassociates it from any server.
      - V(absent) disassociates and releases it.
    type: str
    choices: [present, absent, detached]
    default: present
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: Give the web server a floating IP
  cloudops.multicloud.floating_ip:
    cloud: lab
    server: web
    labels:
      run-id: demo-1
  register: fip

- name: Take it away from the server but keep the address
  cloudops.multicloud.floating_ip:
    cloud: lab
    address: "{{ fip.floating_ip.address }}"
    state: detached

- name: Move it to another server
  cloudops.multicloud.floating_ip:
    cloud: lab
    address: "{{ fip.floating_ip.address }}"
    server: web-standby

- name: Release it
  cloudops.multicloud.floating_ip:
    cloud: lab
    address: "{{ fip.floating_ip.address }}"
    state: absent
'''

RETURN = r'''
floating_ip:
  description: The floating IP as it is after the task; null after release, or when none was found to detach.
  returned: always
  type: dict
  contains:
    id:
      description: Cloud identifier of the floating IP.
      type: str
      sample: 9a1b3c5d7e9f4a2b8c0d1e2f3a4b5c6d
    address:
      description: The floating IP address.
      type: str
      sample: 198.18.0.3
    network:
      description: Name of the external network of the floating IP.
      type: str
      sample: external
    status:
      description: ACTIVE while associated with a server, DOWN otherwise.
      type: str
      sample: ACTIVE
    server:
      description: Name of the server the floating IP is associated with; null when detached.
      type: str
      sample: web
    fixed_address:
      description: The server's address that the floating IP translates to; null when detached.
      type: str
      sample: 10.10.1.2
    router:
      description: Name of the router that carries the floating IP; null when detached.
      type: str
      sample: edge
    labels:
      description: Labels of the floating IP.
      type: dict
      sample: {run-id: demo-1}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import cloud_argument_spec, run_module
from ansible_collections.cloudops.multicloud.plugins.module_utils.floating_ips import STATES, ensure_floating_ip


def main():
    module = AnsibleModule(
        argument_spec=cloud_argument_spec(
            address={'type': 'str'},
            server={'type': 'str'},
            network={'type': 'str'},
            labels={'type': 'dict'},
            state={'type': 'str', 'default': 'present', 'choices': list(STATES)},
        ),
        supports_check_mode=True,
    )
    run_module(module, lambda provider: ensure_floating_ip(provider, module.params, module.check_mode))


if __name__ == '__main__':
    main()
