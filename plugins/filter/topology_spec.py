# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology import check_topology
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.plan import validation_plan
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.sla import normalize_sla


def _topology_spec(spec):
    try:
        check_topology(spec)
        validation_plan(spec, [])  # checks the expect list against the declared servers
        normalize_sla(spec.get('sla'))
    except CloudError as exc:
        raise AnsibleFilterError('topology %s' % exc)
    return spec


class FilterModule:
    def filters(self):
        return {'topology_spec': _topology_spec}
