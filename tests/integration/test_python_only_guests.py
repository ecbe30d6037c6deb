"""probe and throughput inside lab VMs whose PATH has neither iperf3 nor ping: the Python fallbacks.

Each task that must not find them runs with ``environment: {PATH: <a directory with only python3
and sh>}``; the module's interpreter is named by its full path, so it still starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from lab_helpers import LAB, purge_lab
from test_probe import SAVE, build_lab, run_in_vms, vm_processes

NO_ROUTE = '203.0.113.1'  # TEST-NET-3: the router has no route to it
RECEIVER = 'cloudops-multicloud-throughput'

TOPOLOGY = r'''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/cloudops.multicloud.clouds: {cloud: "{{ lab }}", clouds_file: "{{ clouds_file }}"}
  tasks:
    - {name: front network, cloudops.multicloud.network: {name: front}}
    - {name: back network, cloudops.multicloud.network: {name: back, mtu: 1400}}
    - {name: front subnet, cloudops.multicloud.subnet: {name: front, network: front, cidr: 10.86.1.0/24}}
    - {name: back subnet, cloudops.multicloud.subnet: {name: back, network: back, cidr: 10.86.2.0/24}}
    - {name: router, cloudops.multicloud.router: {name: edge, interfaces: [front, back]}}
    - name: throughput and ICMP from the front only
      cloudops.multicloud.security_group:
        name: sink
        rules:
          - {protocol: tcp, port: 5201, remote_cidr: 10.86.1.0/24}
          - {protocol: udp, port: 5201, remote_cidr: 10.86.1.0/24}
          - {protocol: icmp, remote_cidr: 10.86.1.0/24}
    - {name: front servers, cloudops.multicloud.server: {names: [source, peer, blocked, walled], networks: [front]}, register: front}
    - {name: back server, cloudops.multicloud.server: {name: sink, networks: [back], security_groups: [sink]}, register: sink}
    - name: report
      ansible.builtin.copy:
        dest: "{{ workdir }}/servers.json"
        mode: "0600"
        content: "{{ (front.servers + [sink.server]) | to_json }}"
'''

# Drops ICMP in one VM, rejects it as administratively prohibited in another: nft of the test's own.
FIREWALLS = {
    'blocked': 'table inet pyfb_test {\n chain input {\n type filter hook input priority -10\n meta l4proto icmp drop\n }\n}\n',
    'walled': ('table inet pyfb_test {\n chain input {\n type filter hook input priority -10\n'
               ' meta l4proto icmp reject with icmp type admin-prohibited\n }\n}\n'),
}

UDP_LIMIT = ('table inet pyfb_test {\n chain input {\n type filter hook input priority -10\n'
             ' ip saddr %s udp dport 5201 limit rate over 25 mbytes/second burst 64 kbytes drop\n }\n}\n')

PLAYBOOK = r'''
- hosts: sink
  gather_facts: false
  environment: {PATH: "{{ bare_path }}"}
  tasks:
    - name: iperf3 and ping are out of reach
      ansible.builtin.shell: command -v iperf3 ping || echo neither
      register: no_iperf3
      failed_when: false
      changed_when: false
    - name: would start the python receiver
      cloudops.multicloud.throughput: {listen: true, listen_for: 120}
      check_mode: true
      register: checked
    - name: start it
      cloudops.multicloud.throughput: {listen: true, listen_for: 120}
      register: started
    - name: again
      cloudops.multicloud.throughput: {listen: true, listen_for: 120}
      register: again
    - name: one that leaves after two idle seconds
      cloudops.multicloud.throughput: {listen: true, port: 5301, listen_for: 2}
      register: brief
    - name: a port another program holds
      cloudops.multicloud.throughput: {listen: true, port: 5401}
      register: taken
      ignore_errors: true
    - name: collect
      ansible.builtin.set_fact:
        found: {no_iperf3: "{{ no_iperf3 }}", checked: "{{ checked }}", started: "{{ started }}", again: "{{ again }}",
                brief: "{{ brief }}", taken: "{{ taken.msg }}"}

- hosts: peer
  gather_facts: false
  tasks:
    - name: iperf3 where it is installed
      cloudops.multicloud.throughput: {listen: true, port: 5202, listen_for: 120}
      register: iperf3_server
    - name: the python receiver asked for where iperf3 holds the port
      cloudops.multicloud.throughput: {listen: true, port: 5202, tool: python}
      register: clash
      ignore_errors: true
    - name: UDP search to what takes 200 Mbit/s from here, with python alone
      cloudops.multicloud.throughput: {server: "{{ sink }}", proto: udp, duration: 1, rate_max: 1000}
      environment: {PATH: "{{ bare_path }}"}
      register: udp_limited
    - name: collect
      ansible.builtin.set_fact:
        found: {iperf3_server: "{{ iperf3_server }}", clash: "{{ clash.msg }}", udp_limited: "{{ udp_limited }}"}

- hosts: source
  gather_facts: false
  tasks:
    - name: iperf3 and ping are out of reach
      ansible.builtin.shell: command -v iperf3 ping || echo neither
      environment: {PATH: "{{ bare_path }}"}
      register: no_ping
      failed_when: false
      changed_when: false
    - name: TCP with python alone
      cloudops.multicloud.throughput: {server: "{{ sink }}", proto: tcp, duration: 2}
      environment: {PATH: "{{ bare_path }}"}
      register: tcp
    - name: UDP search with python alone
      cloudops.multicloud.throughput: {server: "{{ sink }}", proto: udp, duration: 1}
      environment: {PATH: "{{ bare_path }}"}
      register: udp
    - name: TCP where iperf3 is installed, against the python receiver
      cloudops.multicloud.throughput: {server: "{{ sink }}", proto: tcp, duration: 1}
      register: tcp_with_iperf3_here
    - name: an iperf3 server, without iperf3 here
      cloudops.multicloud.throughput: {server: "{{ peer }}", port: 5202, duration: 1}
      environment: {PATH: "{{ bare_path }}"}
      register: mismatch
      ignore_errors: true
    - name: the same server, with iperf3 here
      cloudops.multicloud.throughput: {server: "{{ peer }}", port: 5202, duration: 1}
      register: iperf3_tcp
    - name: nobody listens
      cloudops.multicloud.throughput: {server: 127.0.0.1, port: 5209, duration: 1}
      environment: {PATH: "{{ bare_path }}"}
      register: nobody
      ignore_errors: true
    - name: ICMP with python alone
      cloudops.multicloud.probe: {targets: "{{ targets }}", count: 3, timeout: 0.5, path_mtu: true}
      environment: {PATH: "{{ bare_path }}"}
      register: probed
    - name: ICMP with ping, for comparison
      cloudops.multicloud.probe: {targets: "{{ targets }}", count: 3, timeout: 0.5}
      register: pinged
    - name: collect
      ansible.builtin.set_fact:
        found: {no_ping: "{{ no_ping }}", tcp: "{{ tcp }}", udp: "{{ udp }}", tcp_with_iperf3_here: "{{ tcp_with_iperf3_here }}",
                mismatch: "{{ mismatch.msg }}", iperf3_tcp: "{{ iperf3_tcp }}", nobody: "{{ nobody.msg }}",
                probed: "{{ probed }}", pinged: "{{ pinged }}"}

- hosts: sink, peer
  gather_facts: false
  tasks:
    - name: the path MTU from a VM whose own link is the smaller one, and from one that may open ICMP sockets
      cloudops.multicloud.probe:
        targets: [{address: "{{ source }}", name: source}]
        count: 1
        timeout: 0.5
        path_mtu: true
      environment: {PATH: "{{ bare_path }}"}
      register: back_probe
    - name: collect
      ansible.builtin.set_fact:
        found: "{{ (found | default({})) | combine({'back_probe': back_probe}) }}"

- hosts: sink, peer, source
  gather_facts: false
  tasks:
''' + SAVE


@pytest.fixture(scope='module')
def lab(clouds_file, tmp_path_factory):
    purge_lab(LAB)
    try:
        servers = build_lab(tmp_path_factory.mktemp('python-only-lab'), clouds_file, TOPOLOGY)
        for name, ruleset in FIREWALLS.items():
            subprocess.run(['ip', 'netns', 'exec', servers[name]['connection']['netns'], 'nft', '-f', '-'], input=ruleset,
                           text=True, check=True)
        peer = servers['peer']['connection']['netns']
        # An unprivileged ICMP socket for root in peer; the other VMs keep the kernel's default, raw sockets only.
        subprocess.run(['ip', 'netns', 'exec', peer, 'sysctl', '-qw', 'net.ipv4.ping_group_range=0 0'], check=True)
        # sink takes 200 Mbit/s of UDP from peer and drops the rest, for the UDP search to find; a qdisc in peer
        # would only slow its sender down.
        subprocess.run(['ip', 'netns', 'exec', servers['sink']['connection']['netns'], 'nft', '-f', '-'], check=True, text=True,
                       input=UDP_LIMIT % servers['peer']['private_ip'])
        yield servers
    finally:
        purge_lab(LAB)


@pytest.fixture(scope='module')
def bare_path(tmp_path_factory):
    """A PATH directory with python3 and sh, and nothing else."""
    directory = tmp_path_factory.mktemp('bare-path')
    os.symlink(sys.executable, directory / 'python3')
    os.symlink('/bin/sh', directory / 'sh')
    return str(directory)


@pytest.fixture(scope='module')
def observed(lab, bare_path, tmp_path_factory):
    squatter = subprocess.Popen(
        ['nsenter', '-t', str(lab['sink']['connection']['pid']), '-n', '--', sys.executable, '-c',
         'import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 5401)); s.listen(); time.sleep(90)'])
    try:
        targets = [{'name': name, 'address': lab[name]['private_ip']} for name in ('peer', 'sink', 'blocked', 'walled')]
        targets.append({'name': 'nowhere', 'address': NO_ROUTE})
        started = time.monotonic()
        found = run_in_vms(tmp_path_factory.mktemp('python-only-run'), lab, PLAYBOOK, bare_path=bare_path, targets=targets,
                           sink=lab['sink']['private_ip'], peer=lab['peer']['private_ip'], source=lab['source']['private_ip'])
        elapsed = time.monotonic() - started
        receivers = vm_processes(lab['sink'], RECEIVER)
    finally:
        squatter.kill()
        squatter.wait()
    return found, receivers, elapsed


def test_the_tools_are_really_out_of_reach(observed):
    found, _receivers, _elapsed = observed
    for result in (found['sink']['no_iperf3'], found['source']['no_ping']):
        assert result['stdout'] == 'neither', result


def test_the_python_receiver_starts_once_and_leaves_when_idle(observed):
    found, receivers, elapsed = observed
    sink = found['sink']
    assert sink['checked']['changed'] and sink['checked']['listener'] == {'pid': None, 'port': 5201, 'listen_for': 120,
                                                                          'tool': 'python'}
    listener = sink['started']['listener']
    assert sink['started']['changed'] and listener['tool'] == 'python' and listener['pid']
    assert sink['again']['changed'] is False and sink['again']['listener'] == listener
    assert sink['taken'] == 'port: tcp/5401 is already in use in this network namespace'
    assert [pid for pid, _argv in receivers] == [listener['pid']], 'one receiver served every run; the idle one left'
    assert 'Receiver' not in receivers[0][1], 'the code stays off the command line, which ps shows'
    assert sink['brief']['changed'] and sink['brief']['listener']['port'] == 5301 and elapsed > 5


def test_tcp_and_the_udp_search_measured_with_python(observed):
    source = observed[0]['source']
    tcp = source['tcp']
    assert tcp['tool'] == 'python' and tcp['proto'] == 'tcp' and tcp['changed'] is False
    assert tcp['gbps'] > 0.1 and tcp['seconds'] == pytest.approx(2, abs=0.3), tcp
    assert isinstance(tcp['retransmits'], int) and len(tcp['intervals_gbps']) == 2 and all(g > 0 for g in tcp['intervals_gbps'])

    udp = source['udp']
    assert udp['tool'] == 'python' and udp['proto'] == 'udp' and 'retransmits' not in udp
    assert 0 < udp['gbps'] and udp['loss_pct'] <= 5, udp
    assert 1 <= len(udp['steps']) <= 8 and udp['steps'][0]['target_mbps'] == 10000
    passing = [s for s in udp['steps'] if s['loss_pct'] <= 5]
    assert udp['target_mbps'] == max(s['target_mbps'] for s in passing)

    # Into about 200 Mbit/s (nft's 25 MiB/s and its burst), halving from 1000 and bisecting into the loss band.
    limited = observed[0]['peer']['udp_limited']
    assert limited['tool'] == 'python' and limited['loss_pct'] <= 5 and len(limited['steps']) >= 4, limited
    assert limited['steps'][0]['loss_pct'] > 20 and 125 <= limited['target_mbps'] <= 300, limited
    assert 0.1 < limited['gbps'] <= 0.3

    # With iperf3 installed, auto still runs the client the server speaks.
    assert source['tcp_with_iperf3_here']['tool'] == 'python' and source['tcp_with_iperf3_here']['gbps'] > 0.1


def test_an_iperf3_server_needs_iperf3_on_the_client(lab, observed):
    found = observed[0]
    assert found['peer']['iperf3_server']['listener']['tool'] == 'iperf3'
    assert found['peer']['clash'] == ('tool: an iperf3 server already listens on port 5202 here; ask for tool: iperf3 or '
                                      'auto, or another port')
    assert found['source']['mismatch'] == (
        'server: %s:5202 is not the python receiver (iperf3, by its answer), and iperf3 is not installed on this host; '
        'start the server side with tool: python' % lab['peer']['private_ip'])
    assert found['source']['iperf3_tcp']['tool'] == 'iperf3' and found['source']['iperf3_tcp']['gbps'] > 0.1
    assert found['source']['nobody'] == ('server: no throughput server answers on 127.0.0.1:5209 (Connection refused); '
                                         'start one there with listen: true')


def test_icmp_outcomes_and_path_mtu_with_python(observed):
    source = observed[0]['source']
    probed = {r['name']: r for r in source['probed']['results']}
    pinged = {r['name']: r for r in source['pinged']['results']}
    outcomes = {name: r['outcome'] for name, r in probed.items()}
    assert outcomes == {'peer': 'connected', 'sink': 'connected', 'blocked': 'timeout', 'walled': 'refused',
                        'nowhere': 'unreachable'}, json.dumps(source['probed']['results'], indent=1)
    # The router rate-limits its ICMP errors (a burst of about six), and the python run just had three.
    del outcomes['nowhere']
    assert outcomes == {name: r['outcome'] for name, r in pinged.items() if name != 'nowhere'}, 'ping and the socket agree'
    assert {r['tool'] for r in probed.values()} == {'python'} and {r['tool'] for r in pinged.values()} == {'ping'}
    assert probed['peer']['received'] == 3 and 0 < probed['peer']['stats']['max'] < 100
    assert 'Destination Net Unreachable' in probed['nowhere']['detail']
    assert probed['walled']['detail'].endswith('Packet filtered')
    # Across the bridge 1500; across the router into back, whose MTU is 1400, "frag needed (mtu = 1400)".
    assert probed['peer']['path_mtu'] == 1500 and probed['sink']['path_mtu'] == 1400
    assert probed['sink']['seconds'] < 1, 'the router named the MTU: no search on timeouts'
    assert probed['blocked']['path_mtu'] is None


def test_path_mtu_from_a_smaller_link_and_with_an_icmp_socket(observed):
    found = observed[0]
    # sink's own link is 1400: a larger packet fails at once with "message too long" and its MTU.
    from_sink = found['sink']['back_probe']['results'][0]
    assert (from_sink['outcome'], from_sink['path_mtu'], from_sink['tool']) == ('connected', 1400, 'python'), from_sink
    assert from_sink['seconds'] < 1
    from_peer = found['peer']['back_probe']['results'][0]
    assert (from_peer['outcome'], from_peer['path_mtu'], from_peer['tool']) == ('connected', 1500, 'python'), from_peer
