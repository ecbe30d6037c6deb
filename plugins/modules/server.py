#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: server
short_description: Create, start, stop, reboot or delete servers on any configured cloud
description:
  - Ensures one server, or a batch of them, exists in the given power state, or does not exist.
  - Servers that are missing are created together in one request, so a batch of many is about as
    fast as one.
  - A server's image, size, networks and key are fixed once it exists; asking for different ones
    fails and leaves the server as it is. Its security groups and labels change in place.
  - Every step of the task is validated before anything changes, so a bad request changes nothing,
    in check mode or not.
  - On the local lab a server is a network namespace with its own UTS, PID and mount namespaces and
    an init process; its hostname is its name, which the kernel limits to 64 bytes.
  - On OpenStack a server is a nova server, its labels are its metadata, and O(size) is a flavor. A
    batch is created with concurrent requests and awaited as one; the project's quota is checked
    before the first server is created. A server that goes to ERROR fails the task with nova's
    reason, and the result's RV(servers) lists what was created.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description:
      - Name of the server. With O(count), the base of the names of a batch.
      - With a C(run-id) label, names are looked up within that run only.
      - One of O(name) and O(names) is required.
    type: str
  count:
    description:
      - Number of servers named C(<name>-1) to C(<name>-<count>).
      - Servers beyond O(count) that exist from an earlier run are left alone.
    type: int
  names:
    description:
      - Names of a batch of servers, instead of O(name) and O(count).
    type: list
    elements: str
  state:
    description:
      - V(present) makes sure the servers exist; a new server is started, an existing one keeps its power state.
      - V(started) and V(stopped) also set the power state, creating missing servers first.
      - V(rebooted) reboots existing servers (and creates missing ones); it always reports a change.
      - V(absent) deletes the servers.
    type: str
    choices: [present, absent, started, stopped, rebooted]
    default: present
  image:
    description:
      - Name of the image of a new server. See M(cloudops.multicloud.image_info).
      - The cloud's default image when not set.
    type: str
  size:
    description:
      - Name of the size (flavor, instance type) of a new server. See M(cloudops.multicloud.size_info).
      - The cloud's default size when not set.
    type: str
  networks:
    description:
      - Networks of a new server, in interface order; the first one carries the default route.
      - Each entry is a network name, or a dict with the keys C(name) (required), C(subnet) (which
        subnet of the network to take the address from) and C(fixed_ip) (the address to take).
    type: list
    elements: raw
  security_groups:
    description:
      - Names of the security groups of the servers. When given, exactly these; changed in place on
        existing servers.
      - Without security groups a lab server accepts all traffic.
    type: list
    elements: str
  key_name:
    description: Name of the keypair whose public key a new server accepts.
    type: str
  user_data:
    description:
      - A shell script that runs once inside a new server at its first boot.
      - Not compared with existing servers.
    type: str
  labels:
    description:
      - Labels (tags, metadata) to set on the servers. Labels not named here are left alone.
    type: dict
  floating_ip:
    description:
      - When V(true), make sure every server has a floating IP associated, allocating one labelled
        like the server if it has none.
      - With O(state=absent), the floating IPs of the servers are released too.
      - The server needs a subnet that a router with an external gateway serves.
    type: bool
    default: false
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: Two web servers with floating IPs
  cloudops.multicloud.server:
    cloud: lab
    name: web
    count: 2
    networks: [front]
    security_groups: [web]
    floating_ip: true
    labels:
      run-id: demo-1

- name: A database server with a fixed address that says hello on first boot
  cloudops.multicloud.server:
    cloud: lab
    name: db
    size: lab.medium
    networks:
      - name: back
        fixed_ip: 10.10.2.10
    user_data: |
      echo "hello from $(hostname)" > /tmp/first-boot
    labels:
      run-id: demo-1

- name: Stop both web servers
  cloudops.multicloud.server:
    cloud: lab
    names: [web-1, web-2]
    state: stopped

- name: Delete them and release their floating IPs
  cloudops.multicloud.server:
    cloud: lab
    name: web
    count: 2
    floating_ip: true
    state: absent
'''

RETURN = r'''
servers:
  description: The servers as they are after the task, in the order of their names; empty after deletion.
  returned: always
  type: list
  elements: dict
  contains: &server
    id:
      description: Cloud identifier of the server.
      type: str
      sample: 3d9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b
    name:
      description: Name of the server, also its hostname.
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
      description: Cloud identifier of the server's image (on EC2 the AMI id); O(image) may name either.
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
      description:
        - How to run tasks on the server. On the local lab, the connection plugin, the server's
          network namespace and the host pid of its init (null while it is stopped).
      type: dict
      sample: {type: cloudops.multicloud.netns, netns: cloudops-lab-vm-3d9f0a1b, pid: 41234}
server:
  description: The first (or only) server of RV(servers); null after deletion.
  returned: always
  type: dict
  contains: *server
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    cloud_argument_spec, run_module,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.servers import STATES, ensure_servers


def main():
    module = AnsibleModule(
        argument_spec=cloud_argument_spec(
            name={'type': 'str'},
            count={'type': 'int'},
            names={'type': 'list', 'elements': 'str'},
            state={'type': 'str', 'default': 'present', 'choices': list(STATES)},
            image={'type': 'str'},
            size={'type': 'str'},
            networks={'type': 'list', 'elements': 'raw'},
            security_groups={'type': 'list', 'elements': 'str'},
            key_name={'type': 'str'},
            user_data={'type': 'str'},
            labels={'type': 'dict'},
            floating_ip={'type': 'bool', 'default': False},
        ),
        mutually_exclusive=[['name', 'names'], ['count', 'names']],
        required_one_of=[['name', 'names']],
        supports_check_mode=True,
    )
    run_module(module, lambda provider: ensure_servers(provider, module.params, module.check_mode))


if __name__ == '__main__':
    main()
