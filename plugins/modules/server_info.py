#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server_info
short_description: List the servers of any configured cloud
description:
  - Returns the servers of a cloud, optionally only those with a given name, labels or status.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Only the servers with exactly this name.
    type: str
  labels:
    description: Only the servers that carry all of these labels, with these values.
    type: dict
  status:
    description: Only the servers in this status, such as V(ACTIVE), V(SHUTOFF), V(BUILD) or V(ERROR).
    type: str
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.INFO_ATTRIBUTES
'''

EXAMPLES = r'''
- name: The running servers of run demo-1
  cloudops.multicloud.server_info:
    cloud: lab
    labels:
      run-id: demo-1
    status: ACTIVE
  register: running

- name: Their addresses
  ansible.builtin.debug:
    msg: "{{ running.servers | map(attribute='private_ip') }}"
'''

RETURN = r'''
servers:
  description: The matching servers, sorted by name. See M(cloudops.multicloud.server) for every field.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Cloud identifier of the server.
      type: str
      sample: 3d9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b
    name:
      description: Name of the server.
      type: str
      sample: web-1
    status:
      description: ACTIVE when running, SHUTOFF when stopped, BUILD while booting, ERROR when broken.
      type: str
      sample: ACTIVE
    image:
      description: Name of the server's image.
      type: str
      sample: lab-host
    image_id:
      description: Cloud identifier of the server's image (on EC2 the AMI id); O(cloudops.multicloud.server#module:image) may name either.
      type: str
      sample: ami-0123456789abcdef0
    size:
      description: Name of the server's size.
      type: str
      sample: lab.small
    networks:
      description: The server's interfaces, in order.
      type: list
      elements: dict
      sample: [{network: front, subnet: front, address: 10.10.1.2, interface: eth0}]
    addresses:
      description: Addresses of the server by network name.
      type: dict
      sample: {front: [10.10.1.2]}
    private_ip:
      description: Address of the first interface.
      type: str
      sample: 10.10.1.2
    public_ip:
      description: The server's floating IP, if it has one.
      type: str
      sample: 198.18.0.2
    security_groups:
      description: Names of the server's security groups.
      type: list
      elements: str
      sample: [web]
    key_name:
      description: Name of the server's keypair.
      type: str
      sample: deploy
    labels:
      description: Labels of the server.
      type: dict
      sample: {run-id: demo-1}
    created:
      description: When the server was created, UTC.
      type: str
      sample: '2024-05-01T12:00:00Z'
    connection:
      description: How to run tasks on the server (connection plugin, network namespace, init pid).
      type: dict
      sample: {type: cloudops.multicloud.netns, netns: cloudops-lab-vm-3d9f0a1b, pid: 41234}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    cloud_argument_spec, run_module,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.servers import find_servers


def main():
    module = AnsibleModule(
        argument_spec=cloud_argument_spec(
            name={'type': 'str'},
            labels={'type': 'dict'},
            status={'type': 'str'},
        ),
        supports_check_mode=True,
    )
    params = module.params
    run_module(module, lambda provider: {'changed': False, 'servers': find_servers(
        provider, params['name'], params['labels'], params['status'])})


if __name__ == '__main__':
    main()
