"""throughput inside lab VMs: an iperf3 server that stays for many runs and leaves when idle, TCP, the UDP search."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from lab_helpers import LAB, purge_lab
from test_probe import SAVE, build_lab, run_in_vms, vm_processes

SUPERVISOR = 'cloudops-multicloud-iperf3'

TOPOLOGY = r'''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/cloudops.multicloud.clouds: {cloud: "{{ lab }}", clouds_file: "{{ clouds_file }}"}
  tasks:
    - {name: front network, cloudops.multicloud.network: {name: front}}
    - {name: back network, cloudops.multicloud.network: {name: back}}
    - {name: front subnet, cloudops.multicloud.subnet: {name: front, network: front, cidr: 10.82.1.0/24}}
    - {name: back subnet, cloudops.multicloud.subnet: {name: back, network: back, cidr: 10.82.2.0/24}}
    - {name: router, cloudops.multicloud.router: {name: edge, interfaces: [front, back]}}
    - name: iperf3 from the front only
      cloudops.multicloud.security_group:
        name: iperf
        rules:
          - {protocol: tcp, port: 5201, remote_cidr: 10.82.1.0/24}
          - {protocol: udp, port: 5201, remote_cidr: 10.82.1.0/24}
    - {name: client, cloudops.multicloud.server: {name: source, networks: [front]}, register: source}
    - {name: server, cloudops.multicloud.server: {name: sink, networks: [back], security_groups: [iperf]}, register: sink}
    - name: report
      ansible.builtin.copy:
        dest: "{{ workdir }}/servers.json"
        mode: "0600"
        content: "{{ [source.server, sink.server] | to_json }}"
'''

PLAYBOOK = r'''
- hosts: sink
  gather_facts: false
  tasks:
    - name: would start iperf3
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
        found: {checked: "{{ checked }}", started: "{{ started }}", again: "{{ again }}", brief: "{{ brief }}",
                taken: "{{ taken.msg }}"}

- hosts: source
  gather_facts: false
  tasks:
    - name: TCP
      cloudops.multicloud.throughput: {server: "{{ sink }}", proto: tcp, duration: 2}
      register: tcp
    - name: UDP search
      cloudops.multicloud.throughput: {server: "{{ sink }}", proto: udp, duration: 1}
      register: udp
    - name: nobody listens
      cloudops.multicloud.throughput: {server: 127.0.0.1, port: 5202, duration: 1}
      register: nobody
      ignore_errors: true
    - name: collect
      ansible.builtin.set_fact:
        found: {tcp: "{{ tcp }}", udp: "{{ udp }}", nobody: "{{ nobody.msg }}"}

- hosts: sink, source
  gather_facts: false
  tasks:
''' + SAVE


@pytest.fixture(scope='module')
def lab(clouds_file, tmp_path_factory):
    purge_lab(LAB)
    try:
        yield build_lab(tmp_path_factory.mktemp('throughput-lab'), clouds_file, TOPOLOGY)
    finally:
        purge_lab(LAB)


def test_iperf3_server_tcp_and_udp_search(lab, tmp_path):
    squatter = subprocess.Popen(
        ['nsenter', '-t', str(lab['sink']['connection']['pid']), '-n', '--', sys.executable, '-c',
         'import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 5401)); s.listen(); time.sleep(60)'])
    try:
        started_at = time.monotonic()
        found = run_in_vms(tmp_path, lab, PLAYBOOK, sink=lab['sink']['private_ip'])
        elapsed = time.monotonic() - started_at
    finally:
        squatter.kill()
        squatter.wait()
    server, client = found['sink'], found['source']

    assert server['checked']['changed'] and server['checked']['listener']['pid'] is None
    listener = server['started']['listener']
    assert server['started']['changed'] and listener['port'] == 5201 and listener['pid']
    assert server['again']['changed'] is False and server['again']['listener']['pid'] == listener['pid']
    assert server['taken'] == ('port: 5401 is already in use in this network namespace (iperf3: error - '
                               'unable to start listener for connections: Address already in use)')
    supervisors = vm_processes(lab['sink'], SUPERVISOR)
    assert [pid for pid, _argv in supervisors] == [listener['pid']], 'one server served every run; none left idle'

    tcp = client['tcp']
    assert tcp['changed'] is False and tcp['proto'] == 'tcp'
    assert tcp['gbps'] > 1, tcp
    assert isinstance(tcp['retransmits'], int) and tcp['seconds'] == pytest.approx(2, abs=0.2)
    assert len(tcp['intervals_gbps']) == 2 and all(g > 0 for g in tcp['intervals_gbps'])

    udp = client['udp']
    assert udp['proto'] == 'udp' and 'retransmits' not in udp
    assert 0 < udp['gbps'] and udp['loss_pct'] <= 5, udp
    assert 1 <= len(udp['steps']) <= 8 and udp['steps'][0]['target_mbps'] == 10000
    passing = [s for s in udp['steps'] if s['loss_pct'] <= 5]
    assert udp['target_mbps'] == max(s['target_mbps'] for s in passing)

    assert client['nobody'] == ('server: no iperf3 server answers on 127.0.0.1:5202 (unable to connect to server: '
                                'Connection refused); start one there with listen: true')

    # The other server saw no test for two seconds while the client ran, and left.
    assert server['brief']['changed'] and server['brief']['listener']['port'] == 5301
    assert elapsed > 5
    assert vm_processes(lab['sink'], '5301') == []
