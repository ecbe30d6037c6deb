#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: keypair
short_description: Import, generate or delete an SSH keypair on any configured cloud
description:
  - Ensures an SSH keypair exists, or does not exist.
  - With O(public_key) the key is imported. Without it, a new ed25519 pair is generated and its
    private key is returned once, by the task that generates it; the cloud does not keep it.
  - A keypair's key never changes in place. Giving a different O(public_key) for an existing
    keypair fails and leaves the keypair as it is.
  - On OpenStack key pairs carry no labels, so a task with O(labels) is refused there.
author:
  - cloudops.multicloud maintainers (@cloudops)
requirements:
  - The Python C(cryptography) library, on the host that runs the module, to generate a pair.
options:
  name:
    description: Name of the keypair. With a C(run-id) label, the name is looked up within that run only.
    type: str
    required: true
  state:
    description: Whether the keypair should exist.
    type: str
    choices: [present, absent]
    default: present
  public_key:
    description:
      - OpenSSH public key line to import, C(<type> <base64> [comment]). The comment is not part of
        the key.
      - When omitted, a new keypair gets a generated ed25519 key, and an existing one is left as it is.
      - Mutually exclusive with O(private_key_file).
    type: str
  private_key_file:
    description:
      - Path of an OpenSSH private key on the host that runs the module (the controller, for cloud
        modules). Its public key is imported; the private key never leaves the file and is never returned.
      - When the file does not exist, a new ed25519 pair is generated there with the C(cryptography)
        library, mode C(0600) in a directory made C(0700); in check mode nothing is written.
    type: path
  labels:
    description:
      - Labels (tags, metadata) to set on the keypair. Labels not named here are left alone.
    type: dict
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
'''

EXAMPLES = r'''
- name: Import the operator's key
  cloudops.multicloud.keypair:
    cloud: lab
    name: deploy
    public_key: "{{ lookup('file', '~/.ssh/id_ed25519.pub') }}"

- name: Generate a pair for this run, and keep the private key
  cloudops.multicloud.keypair:
    cloud: lab
    name: run-key
    labels:
      run-id: demo-1
  register: run_key

- name: Save the private key the first run returned
  ansible.builtin.copy:
    content: "{{ run_key.keypair.private_key }}"
    dest: ~/.ssh/run-key
    mode: '0600'
  when: run_key.keypair.private_key is defined

- name: A pair made on the controller, its private key kept in a file and never returned
  cloudops.multicloud.keypair:
    cloud: lab
    name: demo-1-access
    private_key_file: "{{ playbook_dir }}/reports/demo-1/access/id_ed25519"
    labels:
      run-id: demo-1

- name: Remove the keypair
  cloudops.multicloud.keypair:
    cloud: lab
    name: run-key
    state: absent
'''

RETURN = r'''
private_key_file:
  description: The file that holds the private key, as given in O(private_key_file).
  returned: when O(private_key_file) is set
  type: str
  sample: /srv/runs/demo-1/access/id_ed25519
keypair:
  description: The keypair as it is after the task; null after deletion.
  returned: always
  type: dict
  contains:
    id:
      description: Cloud identifier of the keypair.
      type: str
      sample: 7b9d1f3a5c7e4b0d9f1a3c5e7b9d1f3a
    name:
      description: Name of the keypair.
      type: str
      sample: deploy
    type:
      description: SSH key type.
      type: str
      sample: ssh-ed25519
    public_key:
      description: The public key, C(<type> <base64>), without a comment.
      type: str
      sample: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHd0vY1jJ1bE0bPq5dY2pVZ0wQWc0x7j9bY3eCkq8sLm
    fingerprint:
      description: SHA256 fingerprint of the public key, as C(ssh-keygen -l) shows it.
      type: str
      sample: SHA256:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg
    private_key:
      description:
        - The generated private key, in OpenSSH format. Store it; it cannot be fetched again.
        - Never part of the diff, and not returned in check mode.
      returned: when the task generated the pair
      type: str
      sample: "-----BEGIN OPENSSH PRIVATE KEY-----\n...\n-----END OPENSSH PRIVATE KEY-----\n"
    labels:
      description: Labels of the keypair.
      type: dict
      sample: {run-id: demo-1}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import named_argument_spec, run_module
from ansible_collections.cloudops.multicloud.plugins.module_utils.keypairs import ensure_keypair


def main():
    module = AnsibleModule(
        argument_spec=named_argument_spec(
            public_key={'type': 'str'},
            private_key_file={'type': 'path'},
        ),
        mutually_exclusive=[('public_key', 'private_key_file')],
        supports_check_mode=True,
    )
    run_module(module, lambda provider: ensure_keypair(provider, module))


if __name__ == '__main__':
    main()
