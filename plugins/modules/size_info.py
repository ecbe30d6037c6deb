#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: size_info
short_description: List the server sizes a configured cloud offers
description:
  - Returns the sizes (flavors, instance types) that M(cloudops.multicloud.server) accepts in its
    O(cloudops.multicloud.server#module:size) option.
  - On the local lab a size records the shape a server is meant to have; it does not limit the namespace.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Only the size with exactly this name.
    type: str
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.INFO_ATTRIBUTES
'''

EXAMPLES = r'''
- name: The sizes of the lab
  cloudops.multicloud.size_info:
    cloud: lab
  register: lab_sizes

- name: The biggest one
  ansible.builtin.debug:
    msg: "{{ (lab_sizes.sizes | sort(attribute='ram_mb') | last).name }}"
'''

RETURN = r'''
sizes:
  description: The matching sizes.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Cloud identifier of the size.
      type: str
      sample: lab.small
    name:
      description: Name of the size.
      type: str
      sample: lab.small
    vcpus:
      description: Virtual CPUs.
      type: int
      sample: 1
    ram_mb:
      description: Memory in MiB.
      type: int
      sample: 512
    disk_gb:
      description: Root disk in GiB.
      type: int
      sample: 1
    description:
      description: What the size is for.
      type: str
      sample: default size
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import (
    cloud_argument_spec, run_module,
)


def main():
    module = AnsibleModule(
        argument_spec=cloud_argument_spec(name={'type': 'str'}),
        supports_check_mode=True,
    )
    name = module.params['name']
    run_module(module, lambda provider: {'changed': False, 'sizes': [
        size.to_dict() for size in provider.sizes(name=name)]})


if __name__ == '__main__':
    main()
