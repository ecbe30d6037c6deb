"""The playbooks on the test lab: provision twice (the rerun changes nothing), teardown, lifecycle."""

from __future__ import annotations

import json
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


def test_provision_rerun_changes_nothing_then_teardown_cleans(clouds_file, lab_clean, tmp_path):
    proc, first = play('provision.yml', clouds_file, '-e', 'run_id=pytest-provision', '-e', 'report_dir=%s' % tmp_path)
    assert proc.returncode == 0 and first['changed'] > 0, proc.stdout[-3000:]
    assert json.loads((tmp_path / 'manifest.json').read_text())['run_id'] == 'pytest-provision'
    proc, second = play('provision.yml', clouds_file, '-e', 'run_id=pytest-provision', '-e', 'report_dir=%s' % tmp_path)
    assert proc.returncode == 0 and second['changed'] == 0, proc.stdout[-3000:]
    proc, down = play('teardown.yml', clouds_file, '-e', 'run_id=pytest-provision')
    assert proc.returncode == 0 and down['changed'] > 0, proc.stdout[-3000:]
    proc, again = play('teardown.yml', clouds_file, '-e', 'run_id=pytest-provision')
    assert proc.returncode == 0 and again['changed'] == 0, proc.stdout[-3000:]
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_lifecycle_is_green_reports_and_leaves_nothing(clouds_file, lab_clean, tmp_path):
    proc, recap = play('lifecycle.yml', clouds_file, '-e', 'report_dir=%s' % tmp_path,
                       '-e', 'validate_throughput_duration=1')
    assert proc.returncode == 0 and recap['failed'] == 0, proc.stdout[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ['junit.xml', 'manifest.json', 'report.html', 'report.json']
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['summary']['verdict'] == 'pass' and report['run']['id'] == 'pytest-lifecycle'
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_lifecycle_tears_down_when_a_check_fails(clouds_file, lab_clean, tmp_path):
    # The topology claims ssh to the database is open; its security group says otherwise.
    topology = (ROOT / 'playbooks/topologies/default.yml').read_text()
    topology = topology.replace('port: 22, verdict: deny', 'port: 22, verdict: allow')
    path = tmp_path / 'wrong-intent.yml'
    path.write_text(topology)
    proc, recap = play('lifecycle.yml', clouds_file, '-e', 'topology_file=%s' % path, '-e', 'report_dir=%s' % tmp_path,
                       '-e', '{"validate_checks": ["reachability"]}')
    assert proc.returncode != 0 and recap['failed'] == 1
    assert '1 of ' in proc.stdout and 'reach web->db tcp/22' in proc.stdout
    assert 'Prove nothing labelled with this run id is left' in proc.stdout
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['summary']['failed_checks'] == ['reach web->db tcp/22']
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_lifecycle_tears_down_when_provisioning_fails(clouds_file, lab_clean, tmp_path):
    # The cloud has no such image: the whole plan is checked before anything is made, so the
    # manifest records nothing, and teardown still runs and proves it.
    topology = (ROOT / 'playbooks/topologies/default.yml').read_text().replace(
        '{name: db, network: back,', '{name: db, image: no-such-image, network: back,')
    path = tmp_path / 'no-image.yml'
    path.write_text(topology)
    proc, recap = play('lifecycle.yml', clouds_file, '-e', 'topology_file=%s' % path, '-e', 'report_dir=%s' % tmp_path)
    assert proc.returncode != 0 and recap['failed'] == 1
    assert "image: 'no-such-image' is not in the lab catalog" in proc.stdout
    assert json.loads((tmp_path / 'manifest.json').read_text())['resources'] == []
    assert 'Prove nothing labelled with this run id is left' in proc.stdout
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_a_bad_topology_is_refused_with_the_field_before_anything_is_made(clouds_file, lab_clean, tmp_path):
    topology = (ROOT / 'playbooks/topologies/default.yml').read_text().replace('network: back,', 'network: middle,')
    path = tmp_path / 'bad.yml'
    path.write_text(topology)
    proc, _recap = play('provision.yml', clouds_file, '-e', 'topology_file=%s' % path)
    assert proc.returncode != 0
    assert "topology servers[2].network: 'middle' is not a network of the topology" in proc.stdout
    assert 'Traceback' not in proc.stdout + proc.stderr
    assert lab_namespaces('cloudops-%s-' % LAB) == []


def test_the_readme_lifecycle_over_ssh_is_green_and_leaves_nothing(clouds_file, lab_clean, tmp_path):
    # scripts/lifecycle as the README gives it: it bootstraps, sources scripts/env and runs lifecycle.yml.
    # A report directory deeper than a Unix socket path can be: SSH masters must not live below it.
    reports = tmp_path / ('reports-of-a-run-with-a-long-name-' + 'x' * 60)
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([str(ROOT / 'scripts' / 'lifecycle'), '-e', 'cloud=%s' % LAB, '-e', 'run_id=pytest-script-ssh',
                           '-e', 'access_mode=ssh', '-e', 'report_dir=%s' % reports, '-e', 'validate_throughput_duration=1'],
                          capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    report = json.loads((reports / 'report.json').read_text())
    assert report['run']['access'] == 'ssh' and report['summary']['verdict'] == 'pass'
    assert 'All %d checks passed' % report['summary']['checks'] in proc.stdout
    assert not (reports / 'access').exists()
    assert lab_namespaces('cloudops-%s-' % LAB) == []
