"""The playbooks on the test lab: provision twice (the rerun changes nothing), teardown, lifecycle."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys

from lab_helpers import LAB, lab_namespaces

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))


def play(name, clouds_file, *extra):
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, str(ROOT / 'playbooks' / name), '-e', 'cloud=%s' % LAB,
                           '-e', 'run_id=pytest-%s' % name.split('.')[0]] + list(extra),
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    recap = re.search(r'localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)', proc.stdout)
    assert recap, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, dict(zip(('ok', 'changed', 'unreachable', 'failed'), map(int, recap.groups())))


def test_provision_rerun_changes_nothing_then_teardown_cleans(clouds_file, lab_clean):
    proc, first = play('provision.yml', clouds_file, '-e', 'run_id=pytest-provision')
    assert proc.returncode == 0 and first['changed'] > 0, proc.stdout[-3000:]
    proc, second = play('provision.yml', clouds_file, '-e', 'run_id=pytest-provision')
    assert proc.returncode == 0 and second['changed'] == 0, proc.stdout[-3000:]
    proc, down = play('teardown.yml', clouds_file, '-e', 'run_id=pytest-provision')
    assert proc.returncode == 0 and down['changed'] > 0, proc.stdout[-3000:]
    proc, again = play('teardown.yml', clouds_file, '-e', 'run_id=pytest-provision')
    assert proc.returncode == 0 and again['changed'] == 0, proc.stdout[-3000:]
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_lifecycle_is_green_and_leaves_nothing(clouds_file, lab_clean):
    proc, recap = play('lifecycle.yml', clouds_file)
    assert proc.returncode == 0 and recap['failed'] == 0, proc.stdout[-3000:]
    assert 'outside -> web' in proc.stdout
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_lifecycle_tears_down_when_a_check_fails(clouds_file, lab_clean, tmp_path):
    # A security group without ICMP makes the mesh ping to db fail; teardown must still run.
    topology = (ROOT / 'playbooks/topologies/default.yml').read_text().replace('      - {proto: icmp}\n', '')
    path = tmp_path / 'no-icmp.yml'
    path.write_text(topology)
    proc, recap = play('lifecycle.yml', clouds_file, '-e', 'topology_file=%s' % path)
    assert proc.returncode != 0 and recap['failed'] == 1
    assert 'Prove nothing labelled with this run id is left' in proc.stdout
    assert lab_namespaces('cloudops-%s-' % LAB) == []
