#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: image_info
short_description: List the images a configured cloud offers for servers
description:
  - Returns the images that M(cloudops.multicloud.server) accepts in its O(cloudops.multicloud.server#module:image) option.
  - On the local lab every image runs the host's own userland; the name records what the guest is meant to be.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  name:
    description: Only the image with exactly this name.
    type: str
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.INFO_ATTRIBUTES
'''

EXAMPLES = r'''
- name: What the lab offers
  cloudops.multicloud.image_info:
    cloud: lab
  register: lab_images
'''

RETURN = r'''
images:
  description: The matching images.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Cloud identifier of the image.
      type: str
      sample: lab-host
    name:
      description: Name of the image.
      type: str
      sample: lab-host
    os:
      description: Operating system family of the image.
      type: str
      sample: linux
    description:
      description: What the image is.
      type: str
      sample: the host's own userland in the VM's namespaces (default)
    min_size:
      description: Name of the smallest size the image boots on, if the cloud says.
      type: str
      sample: lab.small
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
    run_module(module, lambda provider: {'changed': False, 'images': [
        image.to_dict() for image in provider.images(name=name)]})


if __name__ == '__main__':
    main()
