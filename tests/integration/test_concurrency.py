"""Parallel forks share one lab through its lock; a busy lab makes a task wait up to its timeout."""

from __future__ import annotations

import fcntl
import os
import pathlib
import subprocess
import sys

from lab_helpers import LAB

PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
FORKS = 6


def test_parallel_forks_agree(run, clouds_file, lab_clean, tmp_path):
    run('network', name='par')
    run('subnet', name='par', network='par', cidr='10.55.0.0/24')
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('\n'.join('vm%d ansible_connection=local' % i for i in range(FORKS)) + '\n')
    playbook = tmp_path / 'parallel.yml'
    playbook.write_text('''
- hosts: all
  gather_facts: false
  tasks:
    - cloudops.multicloud.server:
        cloud: %s
        clouds_file: %s
        name: "{{ inventory_hostname }}"
        networks: [par]
''' % (LAB, clouds_file))
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([PLAYBOOK, '-i', str(inventory), '-f', str(FORKS), str(playbook)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    servers = run('server_info')['servers']
    assert sorted(s['name'] for s in servers) == ['vm%d' % i for i in range(FORKS)]
    addresses = [s['private_ip'] for s in servers]
    assert len(set(addresses)) == FORKS and all(s['status'] == 'ACTIVE' for s in servers)
    assert run('server', names=['vm%d' % i for i in range(FORKS)], state='absent')['changed']


def test_busy_lab_times_out_with_one_line(run, lab_clean):
    run('network', name='busy')
    lock = '/run/cloudops-multicloud/%s.lock' % LAB
    with open(lock, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        failed = run('network', name='busy', mtu=1400, timeout=1)
    assert failed['failed']
    assert failed['msg'] == 'timeout: the lab is busy (lock %s held for over 1s)' % lock
    assert run('network', name='busy')['network']['mtu'] == 1500
