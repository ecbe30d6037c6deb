#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: probe
short_description: Probe addresses with ICMP, TCP and UDP, or answer such probes
description:
  - With O(targets), sends ICMP echoes, TCP connection requests or UDP datagrams to every target from the
    host the task runs on, all targets at once, and tells for each what happened, V(connected),
    V(refused), V(timeout) or V(unreachable).
  - ICMP uses C(ping) where it is installed, else an ICMP socket of the module's own, an unprivileged one
    where the user's group is in C(net.ipv4.ping_group_range), a raw one as root; both classify alike.
    Filtered or prohibited answers (and a port unreachable) are V(refused), host or network unreachable
    answers (and a name that does not resolve) are V(unreachable), no answer is V(timeout).
  - TCP counts a completed handshake as V(connected), a reset as V(refused); UDP counts a datagram
    echoed back as V(connected) and an ICMP port unreachable as V(refused). A host or network
    unreachable error is V(unreachable) for both, and no answer within O(timeout) a V(timeout).
  - With O(path_mtu), also finds the largest packet that reaches every ICMP target that answered,
    by a binary search with pings that may not be fragmented.
  - With O(listen), starts a responder in the background instead, that accepts TCP connections and
    echoes UDP datagrams on the given ports of every address, so that other hosts can probe this one.
    It stops on its own after O(listen_for) seconds.
  - A responder given an O(identity) says which server it runs on - a TCP responder sends one line,
    C(cloudops-multicloud <name> <id>), and closes; a UDP responder echoes the datagram followed by
    that line. A TCP or UDP probe reads it into RV(results[].answered_by), so that traffic that
    reaches the wrong server (a floating IP NATed to another VM, a stale ARP entry, a reused
    address) is told apart from traffic that reaches the right one, see O(targets[].expect).
author:
  - cloudops.multicloud maintainers (@cloudops)
requirements:
  - Python 3 on the host that runs the module. For ICMP targets without C(ping) from iputils, a group
    in C(net.ipv4.ping_group_range) or root.
options:
  targets:
    description:
      - What to probe. Exclusive with O(listen); one of the two is required.
    type: list
    elements: dict
    suboptions:
      address:
        description: IP address or host name to probe.
        type: str
        required: true
      proto:
        description: How to probe it.
        type: str
        choices: [icmp, tcp, udp]
        default: icmp
      port:
        description: Destination port; required for V(tcp) and V(udp), not taken by V(icmp).
        type: int
      name:
        description: Name of the target in the results. Defaults to O(targets[].address).
        type: str
      expect:
        description:
          - Name of the server that should answer, as its responder's O(identity.name) gives it;
            V(tcp) and V(udp) only, since an ICMP echo does not say who answered.
          - When another server answers, the outcome is still V(connected) (the packets passed), but
            RV(results[].wrong_server) is true and RV(results[].detail) says C(answered by <name>).
          - With O(wait_for=connected), an answer from another server does not end the wait.
        type: str
  count:
    description: Attempts per target, per round; echo requests for ICMP, connects for TCP, datagrams for UDP.
    type: int
    default: 5
  interval:
    description:
      - Seconds between two attempts to the same target.
      - Below 0.2, older versions of C(ping) refuse users other than root; the ICMP probe then runs
        again at the least interval C(ping) allows, and says so in its RV(results[].detail).
    type: float
    default: 0.05
  timeout:
    description:
      - Seconds one attempt may take; also how long C(ping) waits for the last reply.
      - A target that drops traffic takes about O(count) times this long with TCP or UDP.
    type: float
    default: 1
  path_mtu:
    description:
      - Also search the path MTU to every ICMP target that answered, between 576 and O(mtu_max).
      - Each size that does not fit, and draws no error that names the MTU, costs O(timeout) seconds.
    type: bool
    default: false
  mtu_max:
    description: Upper end of the path MTU search, in bytes of IP packet.
    type: int
    default: 1500
  parallel:
    description: How many targets are probed at the same time.
    type: int
    default: 32
  wait_for:
    description:
      - Probe every target again, round after round, until its outcome is V(connected), or anything
        but connected (V(blocked)), or O(wait_timeout) passes; the result is that of the last round.
      - For watching a change take effect, such as a security group rule.
    type: str
    choices: [connected, blocked]
  wait_timeout:
    description: Seconds to keep probing a target with O(wait_for).
    type: float
    default: 30
  listen:
    description:
      - Ports to answer probes on, on every IPv4 address of this host. Exclusive with O(targets).
      - A responder for exactly these ports that still runs is left as it is; one for other ports is
        replaced.
      - A port that another program holds fails the task and names the port.
    type: list
    elements: dict
    suboptions:
      proto:
        description: V(tcp) accepts connections and closes them at once; V(udp) echoes every datagram.
        type: str
        choices: [tcp, udp]
        default: tcp
      port:
        description: Port to listen on.
        type: int
        required: true
  identity:
    description:
      - The server the responder of O(listen) runs on, which it names in every answer.
      - A responder with other ports or another identity is replaced; the same ports and identity
        leave it as it is.
      - Without it, the responder answers without saying who it is, and probes find no RV(results[].answered_by).
    type: dict
    suboptions:
      name:
        description: The server's name.
        type: str
        required: true
      id:
        description: The server's id in its cloud.
        type: str
  listen_for:
    description:
      - Seconds the responder runs before it exits on its own.
      - A responder that already runs on the same ports with the same identity is kept, with its own
        end time, while it has all but a minute (or half) of O(listen_for) left; one that ends sooner
        is restarted, so that a later task, a later run, gets a responder for nearly as long as it asks.
    type: int
    default: 300
  time_budget:
    description:
      - Seconds, from when the module starts, within which targets may start being probed; a target
        whose turn comes later is not probed, and says so in RV(results[].budget_spent) and RV(results[].detail).
      - Unset, every target is probed.
    type: float
  budget:
    description:
      - The budget RV(results[].detail) names for a target left out, when O(time_budget) is what is left of a
        larger one (the validate role's C(validate_time_budget)). Defaults to O(time_budget).
    type: float
notes:
  - Routers send ICMP errors at a limited rate (Linux by default about one a second towards each
    source, after a short burst), so a target without a route, probed many ways at once, may show
    some probes as V(timeout). A TCP or UDP target stops at its first V(unreachable) answer for that reason.
extends_documentation_fragment:
  - cloudops.multicloud.probe
'''

EXAMPLES = r'''
- name: Answer probes on the database ports for ten minutes, as the server db
  cloudops.multicloud.probe:
    listen:
      - {proto: tcp, port: 5432}
      - {proto: udp, port: 5432}
    identity: {name: db, id: 0a1b2c3d}
    listen_for: 600
  delegate_to: db

- name: Probe the database from the web server, and the path MTU to it
  cloudops.multicloud.probe:
    targets:
      - {address: 10.10.2.3, proto: icmp, name: db}
      - {address: 10.10.2.3, proto: tcp, port: 5432, name: db, expect: db}
      - {address: 10.10.2.3, proto: udp, port: 5432, name: db, expect: db}
    count: 5
    interval: 0.05
    timeout: 1
    path_mtu: true
  delegate_to: web
  register: reach

- name: Every target answered
  ansible.builtin.assert:
    that: reach.results | rejectattr('outcome', 'eq', 'connected') | list | length == 0
    fail_msg: "{{ reach.results | rejectattr('outcome', 'eq', 'connected') | map(attribute='detail') | list }}"

- name: Wait until a new rule lets the web server in
  cloudops.multicloud.probe:
    targets: [{address: 10.10.2.3, proto: tcp, port: 8080}]
    count: 1
    wait_for: connected
    wait_timeout: 30
  delegate_to: web
'''

RETURN = r'''
results:
  description: One entry per target, in the order of O(targets).
  returned: with O(targets)
  type: list
  elements: dict
  contains:
    name:
      description: The target's O(targets[].name), or its address.
      type: str
      sample: db
    address:
      description: The address probed.
      type: str
      sample: 10.10.2.3
    proto:
      description: V(icmp), V(tcp) or V(udp).
      type: str
      sample: tcp
    port:
      description: The port probed; null for ICMP.
      type: int
      sample: 5432
    outcome:
      description: What happened, V(connected), V(refused), V(timeout) or V(unreachable); any answer in a round makes it V(connected).
      type: str
      sample: connected
    sent:
      description: Attempts made in the last round.
      type: int
      sample: 5
    received:
      description: Attempts that were answered (echo replies, completed handshakes, echoed datagrams).
      type: int
      sample: 5
    rtt_ms:
      description: Milliseconds per answered attempt; the ICMP round trip, the TCP connect time, or the UDP echo round trip.
      type: list
      elements: float
      sample: [0.061, 0.043, 0.041, 0.047, 0.04]
    stats:
      description: Summary of RV(results[].rtt_ms); null when nothing answered.
      type: dict
      sample: {count: 5, min: 0.04, avg: 0.0464, p50: 0.043, p90: 0.0554, p99: 0.0604, max: 0.061}
    path_mtu:
      description: Largest IP packet, in bytes, that reached the target unfragmented; null when not searched or nothing fitted.
      type: int
      sample: 1400
    seconds:
      description: How long probing this target took, all rounds of O(wait_for) included.
      type: float
      sample: 0.212
    detail:
      description: One line on how the outcome was reached, such as the ICMP error received, or C(answered by <name>).
      type: str
      sample: From 10.10.1.1 icmp_seq=1 Destination Net Unreachable
    answered_by:
      description:
        - The server whose responder answered, as its O(identity) names it; with answers from several,
          the first that is not O(targets[].expect).
        - Null for ICMP, when nothing answered, or when what answered did not say who it is.
      type: dict
      sample: {name: db, id: 0a1b2c3d}
      contains:
        name:
          description: The server's name.
          type: str
        id:
          description: The server's cloud id; null when its responder was not given one.
          type: str
    wrong_server:
      description: True when O(targets[].expect) is set and RV(results[].answered_by) names another server.
      type: bool
      sample: false
    budget_spent:
      description: True when the target was not probed because O(time_budget) was spent before its turn; absent otherwise.
      type: bool
      sample: true
    tool:
      description:
        - What probed - for ICMP V(ping), or V(python) (the module's own ICMP socket, where C(ping) is not
          installed); for TCP and UDP V(socket).
      type: str
      sample: ping
responder:
  description: The responder that answers on the ports of O(listen).
  returned: with O(listen)
  type: dict
  contains:
    pid:
      description: Its process id, as the host (or VM) the task ran on sees it; null in check mode when it would start.
      type: int
      sample: 42
    listen:
      description: The ports it answers on.
      type: list
      elements: dict
      sample: [{proto: tcp, port: 5432}, {proto: udp, port: 5432}]
    identity:
      description: The server it names in its answers; null when it answers without an identity.
      type: dict
      sample: {name: db, id: 0a1b2c3d}
    expires:
      description: When it exits on its own, UTC; null in check mode when it would start.
      type: str
      sample: '2026-11-25T10:05:00Z'
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.probes import probe_targets
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.responder import ensure_responder


def main():
    module = AnsibleModule(
        argument_spec={
            'targets': {'type': 'list', 'elements': 'dict', 'options': {
                'address': {'type': 'str', 'required': True},
                'proto': {'type': 'str', 'choices': ['icmp', 'tcp', 'udp'], 'default': 'icmp'},
                'port': {'type': 'int'},
                'name': {'type': 'str'},
                'expect': {'type': 'str'},
            }},
            'count': {'type': 'int', 'default': 5},
            'interval': {'type': 'float', 'default': 0.05},
            'timeout': {'type': 'float', 'default': 1},
            'path_mtu': {'type': 'bool', 'default': False},
            'mtu_max': {'type': 'int', 'default': 1500},
            'parallel': {'type': 'int', 'default': 32},
            'wait_for': {'type': 'str', 'choices': ['connected', 'blocked']},
            'wait_timeout': {'type': 'float', 'default': 30},
            'listen': {'type': 'list', 'elements': 'dict', 'options': {
                'proto': {'type': 'str', 'choices': ['tcp', 'udp'], 'default': 'tcp'},
                'port': {'type': 'int', 'required': True},
            }},
            'identity': {'type': 'dict', 'options': {
                'name': {'type': 'str', 'required': True},
                'id': {'type': 'str'},
            }},
            'listen_for': {'type': 'int', 'default': 300},
            'time_budget': {'type': 'float'},
            'budget': {'type': 'float'},
        },
        mutually_exclusive=[('targets', 'listen')],
        required_one_of=[('targets', 'listen')],
        required_by={'identity': 'listen'},
        supports_check_mode=True,
    )
    params = module.params
    try:
        if params['listen'] is not None:
            result = ensure_responder(params['listen'], params['listen_for'], module.check_mode, params['identity'])
        else:
            result = {'changed': False, 'results': probe_targets(
                params['targets'], params['count'], params['interval'], params['timeout'], params['path_mtu'],
                params['mtu_max'], params['parallel'], params['wait_for'], params['wait_timeout'],
                runner=Commands(module.run_command).output, time_budget=params['time_budget'], budget=params['budget'])}
    except CloudError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
