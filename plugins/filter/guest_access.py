# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudops.multicloud.plugins.module_utils.access import host_vars, resolve_access, ssh_config
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


def _guest_access(topology, cloud, access_dir):
    try:
        return resolve_access(topology, cloud, access_dir)
    except CloudError as exc:
        raise AnsibleFilterError('topology %s' % exc)


def _guest_ssh_config(servers, access):
    return ssh_config(servers, access)


def _guest_connection(server, access, python=None):
    return host_vars(server, access, python)


class FilterModule:
    def filters(self):
        return {'guest_access': _guest_access, 'guest_ssh_config': _guest_ssh_config,
                'guest_connection': _guest_connection}
