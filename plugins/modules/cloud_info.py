#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: cloud_info
short_description: Describe a configured cloud and list the objects that carry given labels
description:
  - Returns what the cloud is and offers, and every object (network, subnet, router, security group,
    keypair, server, floating IP) whose labels include all of O(labels).
  - With a C(run-id) label, an empty RV(resources) proves that a teardown left nothing of that run behind.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  labels:
    description:
      - Only objects that carry all of these labels, with these values, are listed in RV(resources).
      - When not set, every object of the cloud is listed.
    type: dict
  configuration:
    description:
      - Also return RV(configuration), the full records of what the reachability of those objects
        depends on (networks, subnets, routers, security groups with their rules, floating IPs,
        servers), each kind listed once. The validate role explains its verdicts from it.
    type: bool
    default: false
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.INFO_ATTRIBUTES
'''

EXAMPLES = r'''
- name: Whatever run demo-1 left behind
  cloudops.multicloud.cloud_info:
    cloud: lab
    labels:
      run-id: demo-1
  register: leftovers

- name: How run demo-1 is configured, to explain what its packets did
  cloudops.multicloud.cloud_info:
    cloud: lab
    labels:
      run-id: demo-1
    configuration: true
  register: demo_configuration

- name: Prove the teardown complete
  ansible.builtin.assert:
    that: leftovers.resources == []
    fail_msg: "left behind: {{ leftovers.resources }}"
'''

RETURN = r'''
cloud:
  description: What the cloud is and offers. Keys beyond these depend on the provider.
  returned: always
  type: dict
  contains:
    name:
      description: Name of the cloud in the clouds file.
      type: str
      sample: lab
    provider:
      description: Provider family of the cloud.
      type: str
      sample: local
    region:
      description: Region of the cloud, if it has regions.
      type: str
      sample: null
    external_networks:
      description: Networks that floating IPs and router gateways come from.
      type: list
      elements: dict
      sample: [{name: external, cidr: 198.18.0.0/24, upstream_address: 198.18.0.1}]
    counts:
      description: How many objects of each kind the cloud holds, where the provider can tell.
      type: dict
      sample: {networks: 2, servers: 3}
    capabilities:
      description:
        - What the cloud supports. V(data_plane) says whether its guests carry packets that the
          M(cloudops.multicloud.probe) module can send; V(network_mtu) whether a network's MTU can be set.
      type: dict
      sample: {floating_ips: true, security_groups: true, routers: true, bulk_create: true, data_plane: true, network_mtu: true}
    access:
      description:
        - How the controller reaches the cloud's guests, the defaults of a topology's C(access).
        - V(default_mode) is C(netns) on the local lab and C(ssh) elsewhere; V(netns) whether the
          netns connection can enter its VMs; V(user), V(jump_host) and V(ssh_from) come from the
          clouds file (C(ssh_user), C(jump_host), C(ssh_from)) or the lab; V(proxy_command) is how
          SSH enters the lab's external network; V(endpoint_host) the API host the controller's
          egress address is taken towards; V(data_plane_reason) says why guests are not reachable.
      type: dict
      sample: {default_mode: netns, netns: true, user: root, jump_host: null, ssh_from: 198.18.0.1/32,
               proxy_command: ip netns exec cloudops-lab-outside nc %h %p, endpoint_host: null, data_plane_reason: null}
resources:
  description: Every object whose labels include all of O(labels).
  returned: always
  type: list
  elements: dict
  contains:
    kind:
      description: Kind of the object.
      type: str
      sample: server
    id:
      description: Cloud identifier of the object.
      type: str
      sample: 3d9f0a1b2c3d4e5f6a7b8c9d0e1f2a3b
    name:
      description: Name of the object; the address, for a floating IP.
      type: str
      sample: web-1
configuration:
  description:
    - With O(configuration), the records of the objects that carry O(labels), by kind, as the
      modules of each kind return them, and the security groups those servers are in.
  returned: when O(configuration) is true
  type: dict
  contains:
    network:
      description: Networks, with their C(mtu).
      type: list
      elements: dict
    subnet:
      description: Subnets, with their C(network) and C(cidr).
      type: list
      elements: dict
    router:
      description: Routers, with their C(interfaces) (subnet names) and C(external_network).
      type: list
      elements: dict
    security_group:
      description: Security groups, with their C(rules).
      type: list
      elements: dict
    floating_ip:
      description: Floating IPs, with the C(server) and C(fixed_address) they are associated with.
      type: list
      elements: dict
    server:
      description: Servers, with their C(networks) (network, subnet, address) and C(security_groups).
      type: list
      elements: dict
  sample: {network: [{name: back, mtu: 1400}], router: [{name: edge, interfaces: [back, front], external_network: external}]}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    cloud_argument_spec, run_module,
)


def main():
    module = AnsibleModule(
        argument_spec=cloud_argument_spec(labels={'type': 'dict'}, configuration={'type': 'bool', 'default': False}),
        supports_check_mode=True,
    )
    labels = module.params['labels'] or {}

    def describe(provider):
        result = {'changed': False, 'cloud': dict(provider.describe(), access=provider.guest_access()),
                  'resources': provider.labelled(labels)}
        if module.params['configuration']:
            result['configuration'] = provider.configuration(labels)
        return result
    run_module(module, describe)


if __name__ == '__main__':
    main()
