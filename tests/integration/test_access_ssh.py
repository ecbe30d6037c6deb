"""Validation over SSH on the lab: every guest task goes through sshd in the VM, by its floating IP
or through the run's bastion, and the run's private key shows up nowhere.

One default topology provisioned with access mode ssh serves every test; the lab VMs run sshd
with the run's key, as cloud-init would set up a cloud image.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.kernel import namespace_inits

from lab_helpers import LAB, lab_namespaces, lab_provider, purge_lab

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
RUN_ID = 'pytest-ssh'
QUICK = ['-e', 'validate_throughput_duration=1', '-e', 'validate_probe_count=3', '-e', 'validate_change_timeout=5',
         '-e', 'validate_connect_timeout=10']


def playbook(name, clouds_file, report_dir, *extra):
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR='1')
    return subprocess.run([PLAYBOOK, str(ROOT / 'playbooks' / name), '-e', 'cloud=%s' % LAB, '-e', 'run_id=%s' % RUN_ID,
                           '-e', 'access_mode=ssh', '-e', 'report_dir=%s' % report_dir] + list(extra),
                          capture_output=True, text=True, env=env, timeout=900, check=False)


@pytest.fixture(scope='module')
def lab(clouds_file, tmp_path_factory):
    purge_lab(LAB)
    run_dir = tmp_path_factory.mktemp('ssh-run')
    proc = playbook('provision.yml', clouds_file, run_dir, '-vvv')
    assert proc.returncode == 0, proc.stdout[-3000:]
    key = (run_dir / 'access' / 'id_ed25519').read_text()
    yield {'clouds_file': clouds_file, 'dir': run_dir, 'key': key, 'provision': proc.stdout + proc.stderr}
    proc = playbook('teardown.yml', clouds_file, run_dir, '-e', 'teardown_access_dir=%s' % (run_dir / 'access'))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert lab_namespaces('cloudops-%s-' % LAB) == []
    assert not (run_dir / 'access').exists()


def test_provision_rerun_over_ssh_changes_nothing(lab):
    proc = playbook('provision.yml', lab['clouds_file'], lab['dir'])
    recap = re.search(r'localhost\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0', proc.stdout)
    assert proc.returncode == 0 and recap and recap.group(1) == '0', proc.stdout[-3000:]
    assert (lab['dir'] / 'access' / 'id_ed25519').read_text() == lab['key']


def servers():
    return {s.name: s for s in lab_provider().list('server')}


def validate(lab, *extra):
    proc = playbook('validate.yml', lab['clouds_file'], lab['dir'], *(QUICK + list(extra)))
    report = json.loads((lab['dir'] / 'report.json').read_text())
    failed = {c['name']: c['reason'] for c in report['checks'] if c['verdict'] == 'fail'}
    return proc, report, failed


def test_every_check_passes_over_ssh_and_the_key_stays_in_its_file(lab):
    proc, report, failed = validate(lab, '-vvv')
    assert failed == {} and proc.returncode == 0, (failed, proc.stdout[-3000:])
    assert report['run']['access'] == 'ssh' and report['summary']['checks'] > 30
    out = proc.stdout + proc.stderr
    # Every guest task went over SSH: the netns connection entered only the outside vantage.
    entered = set(re.findall(r'ENTER LAB VM (\S+)', out))
    assert entered <= {'cloudops-%s-outside' % LAB}, entered
    guests = {s.name: s for s in servers().values()}
    for name in ('web', 'cache', 'db'):
        address = guests[name].public_ip or guests[name].private_ip
        assert re.search(r'<%s> SSH: EXEC ssh .* -F \S+/access/ssh_config .* %s ' % (re.escape(address), re.escape(address)), out), name
    # db has no floating IP: it is reached through the run's bastion.
    config = (lab['dir'] / 'access' / 'ssh_config').read_text()
    bastion = guests['%s-bastion' % RUN_ID].public_ip
    assert 'Host %s\n' % guests['db'].private_ip in config and 'ProxyJump root@%s' % bastion in config
    assert oct((lab['dir'] / 'access' / 'id_ed25519').stat().st_mode & 0o777) == '0o600'
    secret = ''.join(lab['key'].strip().splitlines()[1:-1])
    assert len(secret) > 40
    for text in [out, lab['provision']] + [p.read_text() for p in lab['dir'].iterdir() if p.is_file()]:
        assert secret not in text.replace('\\n', '').replace('\n', '')
        assert 'PRIVATE KEY-----' not in text


def test_the_same_guests_entered_with_netns_pass_too(lab):
    # Their sshd holds tcp/22, so no responder is started there in netns mode either.
    proc, report, failed = validate(lab, '-e', 'access_mode=netns')
    assert failed == {} and proc.returncode == 0, (failed, proc.stdout[-3000:])
    assert report['run']['access'] == 'netns'


def test_declared_groups_keep_their_rules_and_ssh_has_a_group_of_its_own(lab):
    provider = lab_provider()
    groups = {g.name: g for g in provider.list('security_group')}
    assert [r['port_min'] for r in groups['db'].rules if r['protocol'] == 'tcp'] == [5432]
    ssh = groups['%s-ssh' % RUN_ID].rules
    assert {(r['port_min'], r['remote_cidr'], r['remote_group']) for r in ssh} == {
        (22, '198.18.0.1/32', None), (22, None, '%s-bastion' % RUN_ID)}
    assert servers()['db'].security_groups == sorted(['db', '%s-ssh' % RUN_ID])


def test_a_guest_with_sshd_stopped_fails_only_its_own_checks(lab):
    netns = servers()['cache'].connection['netns']
    init = namespace_inits([netns])[netns]
    subprocess.run(['nsenter', '-t', str(init), '-p', '-m', '-n', 'pkill', '-x', 'sshd'], check=True)
    try:
        proc, _report, failed = validate(lab)
    finally:
        config = lab_provider().state_dir + '/sshd-%s/sshd_config' % servers()['cache'].id[:8]
        subprocess.run(['nsenter', '-t', str(init), '-p', '-m', '-n', '-u', '/usr/sbin/sshd', '-f', config], check=True)
    assert proc.returncode != 0 and failed
    for name, reason in failed.items():
        assert 'cache' in name or 'cache' in reason, (name, reason)
        assert 'unreachable over SSH' in reason, (name, reason)
    assert 'reach cache->web icmp' in failed and 'reach web->cache icmp' not in failed


@pytest.mark.parametrize('access, message', [
    ({'mode': 'rdp'}, "access.mode: 'rdp' is not one of auto, ssh, netns"),
    ({'mode': 'ssh', 'jump_host': 'ops@no-such-bastion.invalid'}, "access.jump_host: 'no-such-bastion.invalid' does not resolve"),
    ({'mode': 'ssh', 'ssh_from': 'the office'}, "access.ssh_from: 'the office' is not a CIDR"),
])
def test_bad_access_fails_in_one_line_before_anything_is_created(clouds_file, tmp_path, access, message):
    topology = tmp_path / 'topology.yml'
    spec = (ROOT / 'playbooks/topologies/default.yml').read_text()
    topology.write_text(spec + 'access: %s\n' % json.dumps(access))
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([PLAYBOOK, str(ROOT / 'playbooks/provision.yml'), '-e', 'cloud=%s' % LAB, '-e', 'run_id=pytest-bad',
                           '-e', 'topology_file=%s' % topology, '-e', 'report_dir=%s' % tmp_path],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert proc.returncode != 0
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if message in line]
    assert lines and 'Traceback' not in proc.stdout + proc.stderr, proc.stdout[-2000:]
    assert lab_provider().labelled({'run-id': 'pytest-bad'}) == []


@pytest.mark.parametrize('access', ['ssh', 'netns'])
def test_probes_fanned_out_pass_as_one_guest_at_a_time_does(lab, access):
    # Over SSH as async jobs, two guests at a time; entered with netns from one controller task,
    # which starts no responder on tcp/22, where the guests' sshd answers.
    proc, report, failed = validate(lab, '-e', 'access_mode=%s' % access, '-e', 'validate_parallel=2', '-e', 'validate_parallel_ssh=2')
    assert failed == {} and proc.returncode == 0, (failed, proc.stdout[-3000:])
    assert report['run']['access'] == access
    marker = 'Start the batch' if access == 'ssh' else 'many VMs at once'
    assert marker in proc.stdout
