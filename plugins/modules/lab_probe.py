#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: lab_probe
short_description: Start responders and probe from many lab VMs at once
description:
  - Does for many VMs of the C(local) lab in one task what M(cloudops.multicloud.probe) does for one
    VM per task - start responders with O(listeners), then probe with O(probes) - O(parallel) VMs at a time.
  - Runs on the controller, as root. Each VM's share runs in a process forked from the module that
    enters the VM's network, UTS, PID and mount namespaces, as the C(cloudops.multicloud.netns)
    connection does, so sockets, C(ping) and responders are the VM's own.
  - Responders all start before any probe is sent, so every probe finds its peer's responder up.
  - With O(time_budget), a VM whose turn comes after the budget is spent is not probed, and a target
    whose turn comes after it is spent says so in C(budget_spent) of its result, so that the
    report names what was left out instead of dropping it.
  - The validate role uses it on the lab when C(validate_parallel) is more than 1.
author:
  - cloudops.multicloud maintainers (@cloudops)
requirements:
  - Root on the controller, and lab VMs that run (an init process in their namespace).
options:
  listeners:
    description: The responders to start, one entry per VM.
    type: list
    elements: dict
    default: []
    suboptions:
      host:
        description: Name the VM goes by in the results.
        type: str
        required: true
      listen:
        description: Ports to answer on, as M(cloudops.multicloud.probe)'s O(cloudops.multicloud.probe#module:listen).
        type: list
        elements: dict
        required: true
        suboptions:
          proto:
            description: V(tcp) or V(udp).
            type: str
            choices: [tcp, udp]
            default: tcp
          port:
            description: The port.
            type: int
            required: true
      identity:
        description: The server the responder names in its answers.
        type: dict
        suboptions:
          name:
            description: The server's name.
            type: str
            required: true
          id:
            description: The server's cloud id.
            type: str
  probes:
    description: What to probe, one entry per source VM.
    type: list
    elements: dict
    default: []
    suboptions:
      src:
        description: Name of the source VM in the results.
        type: str
        required: true
      targets:
        description: The targets, as M(cloudops.multicloud.probe)'s O(cloudops.multicloud.probe#module:targets).
        type: list
        elements: dict
        required: true
  sshd_hosts:
    description: VMs whose own C(sshd) answers TCP port 22 (those given a key); no responder is started on that port there.
    type: list
    elements: str
    default: []
  netns:
    description:
      - The network namespace of every VM of O(listeners) and O(probes), by name; a VM's
        C(connection.netns) as M(cloudops.multicloud.server) returns it.
      - A VM without one, or whose namespace runs no init process, fails its own entry, not the task.
    type: dict
    required: true
  parallel:
    description: How many VMs start responders or probe at once.
    type: int
    default: 8
  target_parallel:
    description: How many targets each VM probes at once.
    type: int
    default: 32
  time_budget:
    description:
      - Seconds for the whole task, responders and probes; unset, no limit.
      - A VM still probing 5 seconds after the budget is spent is stopped, and its targets reported as not probed.
    type: float
  icmp_tool:
    description:
      - V(python) sends ICMP echoes from the module's own socket, without a process per ping;
        V(ping) runs C(ping) per target, as M(cloudops.multicloud.probe) does where it is installed.
    type: str
    choices: [python, ping]
    default: python
  count:
    description: Attempts per target.
    type: int
    default: 5
  interval:
    description: Seconds between two attempts to the same target.
    type: float
    default: 0.05
  timeout:
    description: Seconds one attempt may take.
    type: float
    default: 1
  path_mtu:
    description: Also search the path MTU of every ICMP target that answered.
    type: bool
    default: false
  mtu_max:
    description: Largest packet size the path MTU search tries.
    type: int
    default: 1500
  listen_for:
    description: Seconds the responders answer before they exit on their own.
    type: int
    default: 300
extends_documentation_fragment:
  - cloudops.multicloud.probe
seealso:
  - module: cloudops.multicloud.probe
'''

EXAMPLES = r'''
- name: Start responders in two lab VMs, then ping each from the other
  cloudops.multicloud.lab_probe:
    listeners:
      - {host: web-1, listen: [{proto: tcp, port: 5999}], identity: {name: web-1}}
      - {host: web-2, listen: [{proto: tcp, port: 5999}], identity: {name: web-2}}
    probes:
      - {src: web-1, targets: [{address: 10.10.1.3, name: web-2}]}
      - {src: web-2, targets: [{address: 10.10.1.2, name: web-1}]}
    netns: {web-1: cloudops-lab-vm-0a1b2c3d, web-2: cloudops-lab-vm-4e5f6a7b}
    parallel: 2
    time_budget: 30
  register: lab_probes
'''

RETURN = r'''
responders:
  description: Per entry of O(listeners), what M(cloudops.multicloud.probe) returns as C(responder), or why it failed.
  returned: always
  type: list
  elements: dict
  sample: [{host: web-1, responder: {pid: 42, listen: [{proto: tcp, port: 5999}], identity: {name: web-1, id: null},
            expires: '2026-11-25T10:05:00Z'}}]
probes:
  description:
    - Per entry of O(probes), C(src) and the C(results) M(cloudops.multicloud.probe) returns for its targets;
      or C(failed) and C(msg) when none ran, with C(budget_spent) when the time budget was why.
    - A target whose turn came after the budget was spent has C(budget_spent) true, no outcome, and
      says so in C(detail).
  returned: always
  type: list
  elements: dict
  sample: [{src: web-1, results: [{name: web-2, address: 10.10.1.3, proto: icmp, port: null, outcome: connected,
            sent: 5, received: 5, rtt_ms: [0.04], path_mtu: null, detail: 5 of 5 echo requests answered}]}]
seconds:
  description: How long the task took, in seconds.
  returned: always
  type: float
  sample: 3.4
'''

import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.fanout import lab_data_plane
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.probes import check_settings

PORT = {'proto': {'type': 'str', 'choices': ['tcp', 'udp'], 'default': 'tcp'}, 'port': {'type': 'int', 'required': True}}


def main():
    module = AnsibleModule(
        argument_spec={
            'listeners': {'type': 'list', 'elements': 'dict', 'default': [], 'options': {
                'host': {'type': 'str', 'required': True},
                'listen': {'type': 'list', 'elements': 'dict', 'required': True, 'options': PORT},
                'identity': {'type': 'dict', 'options': {'name': {'type': 'str', 'required': True},
                                                         'id': {'type': 'str'}}},
            }},
            'probes': {'type': 'list', 'elements': 'dict', 'default': [], 'options': {
                'src': {'type': 'str', 'required': True},
                'targets': {'type': 'list', 'elements': 'dict', 'required': True},
            }},
            'sshd_hosts': {'type': 'list', 'elements': 'str', 'default': []},
            'netns': {'type': 'dict', 'required': True},
            'parallel': {'type': 'int', 'default': 8},
            'target_parallel': {'type': 'int', 'default': 32},
            'time_budget': {'type': 'float'},
            'icmp_tool': {'type': 'str', 'choices': ['python', 'ping'], 'default': 'python'},
            'count': {'type': 'int', 'default': 5},
            'interval': {'type': 'float', 'default': 0.05},
            'timeout': {'type': 'float', 'default': 1},
            'path_mtu': {'type': 'bool', 'default': False},
            'mtu_max': {'type': 'int', 'default': 1500},
            'listen_for': {'type': 'int', 'default': 300},
        },
        supports_check_mode=True,
    )
    params = module.params
    started = time.monotonic()
    try:
        if params['parallel'] < 1:
            raise CloudError('parallel: at least one VM at a time, got %d' % params['parallel'])
        check_settings(params['count'], params['interval'], params['timeout'], params['mtu_max'],
                       params['target_parallel'])
        settings = {key: params[key] for key in ('count', 'interval', 'timeout', 'path_mtu', 'mtu_max')}
        settings['parallel'] = params['target_parallel']
        runner = Commands(module.run_command).output if params['icmp_tool'] == 'ping' else None
        result = lab_data_plane(params['listeners'], params['probes'], params['netns'], settings, params['parallel'],
                                params['time_budget'], runner, params['listen_for'], module.check_mode,
                                sshd_hosts=params['sshd_hosts'])
    except CloudError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=any(r.get('changed') for r in result['responders']), seconds=round(time.monotonic() - started, 3), **result)


if __name__ == '__main__':
    main()
