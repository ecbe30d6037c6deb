#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: throughput
short_description: Measure TCP and UDP throughput with iperf3 or plain Python, or serve such measurements
description:
  - With O(server), runs a throughput client from the host the task runs on against a server started
    with O(listen=true) (or any C(iperf3) server) and returns the rate it measured.
  - The client and server are C(iperf3) where it is installed, else a sender and receiver built into
    the module that need only Python 3 (O(tool)). Nothing is installed on either host.
  - For TCP, one run of O(duration) seconds over O(streams) connections. The rate is what the server
    received; retransmits are the sender's.
  - For UDP, a search for the highest rate the path carries with a loss of at most the high end of
    O(loss_band). It starts at O(rate_max) and halves the rate while the loss is above the band,
    then bisects between the fastest rate that passed and the slowest that did not, until a rate's
    loss falls inside the band or O(max_steps) runs are spent. The result is the fastest run whose
    loss was at most the band's high end (the least lossy run when none was); every run is in RV(steps).
    A search takes up to O(max_steps) times O(duration) seconds.
  - With O(listen=true), starts a server on O(port) in the background instead, C(iperf3 -s) or the
    Python receiver. It serves any number of runs, and stops once no test has run for O(listen_for) seconds.
  - The Python receiver greets every connection with a line that names it. With O(tool=auto) the
    client connects once first to read it, and runs the Python client against the Python receiver,
    C(iperf3) against anything else. The two do not talk to each other, so a host without C(iperf3)
    cannot measure against an C(iperf3) server; the task then fails and says so. Where only some
    hosts have C(iperf3), give O(tool=python) to both sides.
author:
  - cloudops.multicloud maintainers (@cloudops)
requirements:
  - Python 3 on both hosts.
  - C(iperf3) 3.1 or later on both hosts, for O(tool=iperf3); O(tool=auto) uses it where it is installed.
options:
  server:
    description:
      - Address or host name of the server to measure against.
      - Required unless O(listen=true), and not used with it.
    type: str
  port:
    description:
      - TCP port of the server (and UDP port of its data, for UDP).
      - The Python receiver listens on both, TCP and UDP, as long as it runs; C(iperf3) on UDP only during a UDP test.
    type: int
    default: 5201
  tool:
    description:
      - What measures, and what O(listen) starts.
      - V(iperf3) is C(iperf3), and fails where it is not installed.
      - V(python) is the sender and receiver of this module, in Python alone, with C(iperf3) installed or not.
        Its TCP rate is what the receiver counted over the run; its UDP datagrams are as large as the
        control connection's TCP segments, as C(iperf3) makes them, and the loss is what the receiver
        did not get of what the client sent.
      - V(auto) starts C(iperf3) with O(listen) where it is installed, else the Python receiver; as a
        client it runs the Python client against the Python receiver and C(iperf3) against any other server.
      - A server that already listens on O(port) is kept with V(auto) and with its own tool; asking for the
        other tool fails.
    type: str
    choices: [auto, iperf3, python]
    default: auto
  proto:
    description: Measure TCP throughput, or search the UDP rate.
    type: str
    choices: [tcp, udp]
    default: tcp
  duration:
    description:
      - Seconds each run sends for; whole seconds only, at least 1, as C(iperf3) takes them.
    type: float
    default: 2
  streams:
    description:
      - Parallel streams (C(iperf3 -P)) of each run; with the Python client, TCP connections or UDP sockets.
      - For UDP, the rate of a run is shared among them.
    type: int
    default: 1
  loss_band:
    description:
      - UDP loss band C([low, high]) in percent. The search ends at a rate whose loss is in the band, and
        the result is a rate whose loss is at most C(high).
    type: list
    elements: float
    default: [2, 5]
  rate_max:
    description: UDP rate the search starts at, in Mbit/s; the result is never above it.
    type: int
    default: 10000
  bandwidth:
    description:
      - Most Mbit/s each stream may send, for measuring on a production cloud without filling its links.
      - For TCP, C(iperf3 -b) per stream, or the Python sender's own pacing; for UDP, the search starts at
        no more than O(bandwidth) times O(streams), and O(rate_max) still holds.
      - Unset, every stream sends as fast as the path goes.
    type: float
  max_steps:
    description: Most runs one UDP search may take.
    type: int
    default: 8
  listen:
    description:
      - Start a server on O(port) here (of O(tool)), instead of measuring.
      - An C(iperf3) server or Python receiver that already listens on O(port) here is left as it is.
    type: bool
    default: false
  listen_for:
    description: Seconds without any test after which the server started by O(listen) stops.
    type: int
    default: 300
extends_documentation_fragment:
  - cloudops.multicloud.probe
'''

EXAMPLES = r'''
- name: Serve iperf3 on the database server for five idle minutes
  cloudops.multicloud.throughput:
    listen: true
    port: 5201
    listen_for: 300
  delegate_to: db

- name: TCP throughput from the web server to the database server
  cloudops.multicloud.throughput:
    server: 10.10.2.3
    proto: tcp
    duration: 2
  delegate_to: web
  register: tcp

- name: Highest UDP rate with at most 5 % loss
  cloudops.multicloud.throughput:
    server: 10.10.2.3
    proto: udp
    duration: 1
    loss_band: [2, 5]
    rate_max: 10000
  delegate_to: web
  register: udp

- name: Show both
  ansible.builtin.debug:
    msg: "TCP {{ tcp.gbps }} Gbit/s; UDP {{ udp.gbps }} Gbit/s at {{ udp.loss_pct }} % loss, measured with {{ tcp.tool }}"

- name: Hosts where only some have iperf3 - the Python receiver and client on both sides
  cloudops.multicloud.throughput:
    listen: true
    tool: python
  delegate_to: db

- name: TCP throughput with the Python client
  cloudops.multicloud.throughput:
    server: 10.10.2.3
    tool: python
  delegate_to: web
'''

RETURN = r'''
proto:
  description: The protocol measured.
  returned: with O(server)
  type: str
  sample: tcp
tool:
  description: What measured, V(iperf3) or V(python).
  returned: with O(server)
  type: str
  sample: iperf3
gbps:
  description: Rate the server received, in Gbit/s; for UDP, that of the best run of the search.
  returned: with O(server)
  type: float
  sample: 18.9413
seconds:
  description: How long the run (for UDP, the best run) took, as iperf3 measured it, or the Python receiver (TCP) or client (UDP).
  returned: with O(server)
  type: float
  sample: 2.0
retransmits:
  description: TCP segments the sender sent again; null where the system does not tell.
  returned: with O(proto=tcp)
  type: int
  sample: 144
loss_pct:
  description: Percentage of the best UDP run's datagrams that did not arrive.
  returned: with O(proto=udp)
  type: float
  sample: 2.2305
target_mbps:
  description: Rate the best UDP run was asked to send at, in Mbit/s.
  returned: with O(proto=udp)
  type: float
  sample: 1250.0
intervals_gbps:
  description: Rate of each interval (a second) of the run, as the client measured it, in Gbit/s.
  returned: with O(server)
  type: list
  elements: float
  sample: [17.134, 20.868]
steps:
  description: Every run of the UDP search, in the order they ran.
  returned: with O(proto=udp)
  type: list
  elements: dict
  contains:
    target_mbps:
      description: Rate the run was asked to send at, in Mbit/s.
      type: float
    gbps:
      description: Rate the server received, in Gbit/s.
      type: float
    loss_pct:
      description: Percentage of datagrams lost.
      type: float
  sample: [{target_mbps: 10000.0, gbps: 0.585, loss_pct: 6.1}, {target_mbps: 5000.0, gbps: 0.78, loss_pct: 0.39}]
listener:
  description: The server, C(iperf3) or the Python receiver.
  returned: with O(listen=true)
  type: dict
  contains:
    tool:
      description: Which server it is, V(iperf3) or V(python).
      type: str
      sample: python
    pid:
      description:
        - Process id of the process that runs it, as the host (or VM) the task ran on sees it.
        - Null in check mode when it would start.
      type: int
      sample: 57
    port:
      description: Port it listens on.
      type: int
      sample: 5201
    listen_for:
      description: Idle seconds after which it stops, as asked by this task.
      type: int
      sample: 300
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.throughput_tool import (
    check_options, listen, measure,
)


def main():
    module = AnsibleModule(
        argument_spec={
            'server': {'type': 'str'},
            'port': {'type': 'int', 'default': 5201},
            'tool': {'type': 'str', 'choices': ['auto', 'iperf3', 'python'], 'default': 'auto'},
            'proto': {'type': 'str', 'choices': ['tcp', 'udp'], 'default': 'tcp'},
            'duration': {'type': 'float', 'default': 2},
            'streams': {'type': 'int', 'default': 1},
            'loss_band': {'type': 'list', 'elements': 'float', 'default': [2, 5]},
            'rate_max': {'type': 'int', 'default': 10000},
            'bandwidth': {'type': 'float'},
            'max_steps': {'type': 'int', 'default': 8},
            'listen': {'type': 'bool', 'default': False},
            'listen_for': {'type': 'int', 'default': 300},
        },
        # listen has a default, so required_one_of would always count it as given.
        required_if=[('listen', False, ('server',))],
        supports_check_mode=True,
    )
    params = module.params
    try:
        check_options(params)
        if params['listen']:
            result = listen(params, module.check_mode)
        else:
            result = measure(params, Commands(module.run_command))
    except CloudError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
