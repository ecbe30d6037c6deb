# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.plan import validation_plan


def _validation_plan(topology, servers, outside_address=None, throughput_port=5201, probe_port=5999,
                     mesh='full', mesh_peers=3):
    try:
        return validation_plan(topology, servers, outside_address, throughput_port, probe_port, mesh, mesh_peers)
    except CloudError as exc:
        raise AnsibleFilterError('topology %s' % exc)


class FilterModule:
    def filters(self):
        return {'validation_plan': _validation_plan}
