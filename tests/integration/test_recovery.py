"""Teardown can always finish: objects whose kernel side broke or vanished are still removed."""

from __future__ import annotations

import os
import signal
import subprocess

from lab_helpers import LAB, lab_namespaces


def build(run):
    run('network', name='rec')
    run('subnet', name='rec', network='rec', cidr='10.88.0.0/24')
    run('router', name='rec', interfaces=['rec'], external_network='external')
    return run('server', name='rec-vm', networks=['rec'])['server']


def test_a_vm_whose_init_died_is_error_and_still_deleted(run, lab_clean):
    server = build(run)
    os.kill(server['connection']['pid'], signal.SIGKILL)
    info = run('server_info', name='rec-vm')
    assert info['servers'][0]['status'] == 'ERROR'
    assert run('server', name='rec-vm', state='absent')['changed']
    assert server['connection']['netns'] not in lab_namespaces()


def test_objects_whose_namespaces_vanished_are_still_deleted(run, lab_clean):
    server = build(run)
    for netns in lab_namespaces('cloudops-%s-' % LAB):
        subprocess.run(['ip', 'netns', 'delete', netns], check=True)
    os.kill(server['connection']['pid'], signal.SIGKILL)
    for module, name in (('server', 'rec-vm'), ('router', 'rec'), ('network', 'rec')):
        assert run(module, name=name, state='absent')['changed'], module
    assert lab_namespaces('cloudops-%s-' % LAB) == []
    assert run('cloud_info')['cloud']['counts'] == {kind: 0 for kind in run('cloud_info')['cloud']['counts']}
