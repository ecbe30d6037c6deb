"""The netns connection: ordinary tasks run inside a lab VM, and a VM that cannot be entered is unreachable."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud import connect
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.kernel import namespace_inits
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import StateMachine
from ansible_collections.cloudops.multicloud.plugins.plugin_utils.commands import run_command

from lab_helpers import LAB, purge_lab

PLUGIN = 'cloudops.multicloud.netns'
MISSING = 'cloudops-%s-vm-00000000' % LAB

INSIDE_PLAYBOOK = r'''
- hosts: vm
  gather_facts: false
  tasks:
    - name: hostname
      ansible.builtin.command: hostname
      register: hostname
    - name: facts
      ansible.builtin.setup:
        gather_subset: [network]
    - name: a directory only the VM sees, so files must be copied inside its mount namespace
      ansible.builtin.shell: mkdir -p {{ workdir }}/private && mount -t tmpfs vm-private {{ workdir }}/private
    - name: copy
      ansible.builtin.copy:
        content: "hello from {{ inventory_hostname }}\n"
        dest: "{{ workdir }}/private/greeting.txt"
        mode: "0644"
    - name: slurp
      ansible.builtin.slurp:
        src: "{{ workdir }}/private/greeting.txt"
      register: slurped
    - name: fetch
      ansible.builtin.fetch:
        src: "{{ workdir }}/private/greeting.txt"
        dest: "{{ workdir }}/fetched.txt"
        flat: true
    - name: processes
      ansible.builtin.command: ps -e -o pid=,comm=
      register: ps
    - name: a module of this collection, inside the VM
      cloudops.multicloud.image_info:
        cloud: "{{ lab }}"
        clouds_file: "{{ clouds_file }}"
      register: own_module
    - name: report
      delegate_to: localhost
      ansible.builtin.copy:
        dest: "{{ workdir }}/results.json"
        mode: "0600"
        content: "{{ {'hostname': hostname.stdout, 'ipv4': ansible_default_ipv4.address,
                      'interfaces': ansible_interfaces, 'slurped': slurped.content | b64decode,
                      'ps': ps.stdout_lines, 'own_module': own_module} | to_json }}"
'''

HOSTNAME_PLAYBOOK = r'''
- hosts: all
  gather_facts: false
  tasks:
    - name: hostname
      ansible.builtin.command: hostname
      register: hostname
    - name: report
      delegate_to: localhost
      ansible.builtin.copy:
        dest: "{{ workdir }}/{{ inventory_hostname }}.txt"
        mode: "0600"
        content: "{{ hostname.stdout }}"
'''


@pytest.fixture(scope='module')
def lab_vms(clouds_file):
    """Two running VMs on one subnet: {name: server record}."""
    purge_lab(LAB)
    provider = connect(LAB, clouds_file, commands=Commands(run_command))
    StateMachine(provider, 'network').present('n', {'mtu': None, 'labels': {}})
    StateMachine(provider, 'subnet').present('s', {'network': 'n', 'cidr': '10.66.0.0/24'})
    servers = StateMachine(provider, 'server')
    yield {name: servers.present(name, {'networks': [{'name': 'n'}]}).after for name in ('vm1', 'vm2')}
    purge_lab(LAB)


def ansible_playbook(workdir, playbook, inventory, extra_vars, **env):
    (workdir / 'playbook.yml').write_text(playbook)
    (workdir / 'inventory.ini').write_text(inventory)
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', str(workdir / 'inventory.ini'),
               '-e', json.dumps(dict(extra_vars, workdir=str(workdir))), str(workdir / 'playbook.yml')]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=str(workdir),
                          env=dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='false', ANSIBLE_RETRY_FILES_ENABLED='false',
                                   **env))


def host_line(name, netns, **host_vars):
    fields = dict(host_vars, ansible_connection=PLUGIN, ansible_python_interpreter=sys.executable)
    if netns:
        fields.setdefault('ansible_host', netns)
    return ' '.join([name] + ['%s=%s' % item for item in sorted(fields.items())])


def unreachable(stdout, host):
    """The result the default callback prints for an unreachable host."""
    marker = 'fatal: [%s]: UNREACHABLE! => ' % host
    for line in stdout.splitlines():
        if line.startswith(marker):
            return json.loads(line[len(marker):])
    return None


@pytest.mark.parametrize('pipelining', ['true', 'false'])
def test_tasks_run_inside_the_vm(lab_vms, clouds_file, tmp_path, pipelining):
    vm = lab_vms['vm1']
    netns = vm['connection']['netns']
    proc = ansible_playbook(tmp_path, INSIDE_PLAYBOOK, '[vm]\n%s\n' % host_line('vm1', netns),
                            {'lab': LAB, 'clouds_file': clouds_file}, ANSIBLE_PIPELINING=pipelining)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    results = json.loads((tmp_path / 'results.json').read_text())

    assert results['hostname'] == 'vm1'
    assert results['ipv4'] == vm['private_ip'] == '10.66.0.2'
    assert sorted(results['interfaces']) == ['eth0', 'lo']
    assert results['slurped'] == 'hello from vm1\n'
    assert (tmp_path / 'fetched.txt').read_text() == 'hello from vm1\n'
    assert not os.listdir(tmp_path / 'private'), 'the copy landed in the host mount namespace'

    processes = [line.split() for line in results['ps']]
    assert ['1', 'sleep'] in processes
    assert len(processes) < 10, results['ps']
    assert not any(comm.startswith(('pytest', 'ansible-playboo')) for pid, comm in processes)

    assert results['own_module']['changed'] is False
    assert 'lab-host' in [image['name'] for image in results['own_module']['images']]


def test_netns_var_names_the_namespace(lab_vms, tmp_path):
    vm = lab_vms['vm1']
    inventory = host_line('web', None, ansible_host=vm['private_ip'], cloudops_netns=vm['connection']['netns'])
    proc = ansible_playbook(tmp_path, HOSTNAME_PLAYBOOK, inventory + '\n', {})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / 'web.txt').read_text() == 'vm1'


def test_missing_and_stopped_vms_are_unreachable(lab_vms, tmp_path):
    stopped = lab_vms['vm2']['connection']['netns']
    init = namespace_inits([stopped])[stopped]
    os.kill(init, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while namespace_inits([stopped]) and time.monotonic() < deadline:
        time.sleep(0.01)

    inventory = '\n'.join([host_line('running', lab_vms['vm1']['connection']['netns']),
                           host_line('stopped', stopped), host_line('missing', MISSING)]) + '\n'
    proc = ansible_playbook(tmp_path, HOSTNAME_PLAYBOOK, inventory, {})
    assert proc.returncode == 4, proc.stdout + proc.stderr

    assert (tmp_path / 'running.txt').read_text() == 'vm1'
    # ansible-core puts "Task failed: " in front of the plugin's message.
    assert unreachable(proc.stdout, 'missing')['msg'].endswith(': lab VM namespace %s does not exist' % MISSING)
    assert unreachable(proc.stdout, 'stopped')['msg'].endswith(
        ': lab VM %s is stopped: no init process runs in its namespace' % stopped)
