#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: security_group
short_description: Create, update or delete a security group and its rules on any configured cloud
description:
  - Ensures a security group exists with the given description and rules, or does not exist.
  - Ingress to a server in a group is denied unless one of its groups' rules allows it. Egress is
    allowed, unless one of its groups has egress rules, and then only what they allow. Replies to
    allowed connections always pass.
  - Rule changes take effect at once on every running server in the group.
  - Deleting a group is refused while a server uses it, or while another group's rules name it
    as their O(rules[].remote_group).
  - On the local lab the rules become an nftables table inside each member server's namespace.
  - On EC2 a security group belongs to one VPC (see O(network)). A group without egress rules
    keeps EC2's own allow-all egress rule, which its rules do not show; giving it egress rules
    replaces that rule. A server's egress on EC2 is what any of its groups allows, so a group
    without egress rules lets its servers send anywhere even if another of their groups has
    egress rules. EC2 cannot change a group's description in place.
  - On OpenStack a group without egress rules keeps neutron's allow-all egress rules (IPv4 and
    IPv6), which its rules do not show; giving it egress rules replaces them.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Name of the security group. With a C(run-id) label, the name is looked up within that run only.
    type: str
    required: true
  state:
    description: Whether the security group should exist.
    type: str
    choices: [present, absent]
    default: present
  description:
    description:
      - Description of the group. New groups default to an empty one; when omitted, an existing
        group's description is left as it is.
    type: str
  rules:
    description:
      - Rules of the group. Equal rules are kept once.
      - When omitted, an existing group's rules are left as they are (none for a new group).
    type: list
    elements: dict
    suboptions:
      protocol:
        description: Protocol the rule allows; V(any) is every IPv4 protocol.
        type: str
        choices: [tcp, udp, icmp, any]
        default: any
      port:
        description:
          - Destination port V(22), or range V(8000-8100), of a V(tcp) or V(udp) rule.
          - When omitted, every port.
        type: str
      remote_cidr:
        description:
          - IPv4 network the traffic comes from (ingress) or goes to (egress).
          - When neither this nor O(rules[].remote_group) is given, V(0.0.0.0/0).
        type: str
      remote_group:
        description:
          - Name of a security group whose member servers the traffic comes from (ingress) or goes
            to (egress). May name this group itself. Exclusive with O(rules[].remote_cidr).
        type: str
      direction:
        description: Whether the rule allows traffic to (ingress) or from (egress) the servers.
        type: str
        choices: [ingress, egress]
        default: ingress
  network:
    description:
      - The network (VPC) the group belongs to, on clouds where groups are per network; ignored on the lab.
      - On EC2, when omitted, a new group goes in the VPC of its rules' O(rules[].remote_group) groups,
        else in the one network (VPC with a C(Name) tag) there is, counting only the networks with
        the group's C(run-id) label when it has one and they exist, else in the default VPC when
        no network exists. Any other case fails and asks for O(network).
      - A group cannot move to another network; asking for one fails and leaves it as it is.
    type: str
  purge_rules:
    description:
      - With V(true), O(rules) is the exact set and other rules are removed.
      - With V(false), the rules in O(rules) are added and existing ones are kept.
    type: bool
    default: true
  labels:
    description:
      - Labels (tags, metadata) to set on the group. Labels not named here are left alone.
    type: dict
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: Web servers take HTTP from anywhere, SSH from the office, and ping
  cloudops.multicloud.security_group:
    cloud: lab
    name: web
    description: front end
    rules:
      - {protocol: tcp, port: '80'}
      - {protocol: tcp, port: '22', remote_cidr: 192.0.2.0/24}
      - {protocol: icmp}
    labels:
      run-id: demo-1

- name: The database takes PostgreSQL from the web servers only
  cloudops.multicloud.security_group:
    cloud: lab
    name: db
    rules:
      - {protocol: tcp, port: '5432', remote_group: web}

- name: On EC2, a group in the VPC of the network front
  cloudops.multicloud.security_group:
    cloud: aws-east
    name: web
    network: front
    rules:
      - {protocol: tcp, port: '443'}

- name: Open a range for a while, keeping the other rules
  cloudops.multicloud.security_group:
    cloud: lab
    name: web
    purge_rules: false
    rules:
      - {protocol: tcp, port: 8000-8100}

- name: Remove the group
  cloudops.multicloud.security_group:
    cloud: lab
    name: db
    state: absent
'''

RETURN = r'''
security_group:
  description: The security group as it is after the task; null after deletion.
  returned: always
  type: dict
  contains:
    id:
      description: Cloud identifier of the group.
      type: str
      sample: 5e7f9a1b3c5d4e6f8a0b2c4d6e8f0a1b
    name:
      description: Name of the group.
      type: str
      sample: web
    description:
      description: Description of the group.
      type: str
      sample: front end
    rules:
      description:
        - Rules of the group, normalized. A rule for every port has null O(rules[].port) bounds.
      type: list
      elements: dict
      sample:
        - {direction: ingress, protocol: tcp, port_min: 80, port_max: 80, remote_cidr: 0.0.0.0/0, remote_group: null}
        - {direction: ingress, protocol: icmp, port_min: null, port_max: null, remote_cidr: 0.0.0.0/0,
           remote_group: null}
    labels:
      description: Labels of the group.
      type: dict
      sample: {run-id: demo-1}
    network:
      description: The network (VPC) of the group where groups are per network; null on the lab.
      type: str
      sample: front
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    ensure, named_argument_spec, run_module,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.security_groups import desired_security_group


def main():
    module = AnsibleModule(
        argument_spec=named_argument_spec(
            description={'type': 'str'},
            rules={'type': 'list', 'elements': 'dict', 'options': {
                'protocol': {'type': 'str', 'default': 'any', 'choices': ['tcp', 'udp', 'icmp', 'any']},
                'port': {'type': 'str'},
                'remote_cidr': {'type': 'str'},
                'remote_group': {'type': 'str'},
                'direction': {'type': 'str', 'default': 'ingress', 'choices': ['ingress', 'egress']},
            }},
            purge_rules={'type': 'bool', 'default': True},
            network={'type': 'str'},
        ),
        supports_check_mode=True,
    )
    params = module.params

    def ensure_group(provider):
        desired = desired_security_group(params['description'], params['rules'], params['purge_rules'],
                                         params['labels'])

        def with_network(current):
            fields = desired(current)
            # Only where groups are per network does the group's record name one to compare with.
            if params['network'] and (current is None or current.get('network') is not None):
                fields['network'] = params['network']
            return fields
        return ensure(provider, module, 'security_group', with_network)
    run_module(module, ensure_group)


if __name__ == '__main__':
    main()
