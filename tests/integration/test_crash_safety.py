"""A provision killed with SIGKILL at any point leaves nothing that teardown by run id, or the
reaper, cannot find and delete: checked with ip and nft, not with the collection's own view."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from lab_helpers import LAB, PREFIX, assert_host_clean, lab_namespaces
from lifecycle_helpers import PLAYBOOK, ROOT, playbook

STATE = '/run/cloudops-multicloud/%s/state.json' % LAB
# Three networks, twelve servers in three bulk groups, six floating IPs: every stage lasts long
# enough to be caught in the middle.
TOPOLOGY = """
run_id: crash
networks:
  - {name: a, cidr: 10.61.1.0/24}
  - {name: b, cidr: 10.61.2.0/24}
  - {name: c, cidr: 10.61.3.0/24}
routers:
  - {name: edge, interfaces: [a, b, c], external: true}
security_groups:
  - name: db
    rules: [{proto: tcp, port: 5432, remote: a}]
servers:
  - {name: web, network: a, count: 6, floating_ip: true}
  - {name: app, network: b, count: 4}
  - {name: db, network: c, count: 2, security_groups: [db]}
"""


def lab_records(run_id='crash'):
    """{kind's plural: [records of the run]} as the lab has them on disk."""
    try:
        with open(STATE) as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return {}
    return {plural: [r for r in records.values() if r.get('labels', {}).get('run-id') == run_id]
            for plural, records in state.items() if isinstance(records, dict)}


def lab_netns():
    return lab_namespaces('%s%s-' % (PREFIX, LAB))


# When to kill: a look at the run's records and the lab's VMs that says the stage is under way.
STAGES = {
    'after-networks': lambda records, vms: records.get('networks') and not records.get('servers'),
    'during-servers': lambda records, vms: 1 < vms < 7,  # inside the first bulk create
    'during-floating-ips': lambda records, vms: 0 < len(records.get('floating_ips') or []) < 6,
}


def descendants(pid):
    """Every living process below ``pid`` (Ansible runs modules in sessions of their own)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as handle:
                    parent = int(handle.read().rsplit(')', 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid):
    """SIGKILL ``pid`` and everything it started, stopped first so that none forks on meanwhile."""
    stopped = {pid}
    os.kill(pid, signal.SIGSTOP)
    while True:
        more = set(descendants(pid)) - stopped
        if not more:
            break
        for child in more:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGSTOP)
        stopped |= more
    for victim in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(victim, signal.SIGKILL)


def provision_killed(clouds_file, tmp_path, stage):
    """Start provision.yml and SIGKILL it, with every process it started, once ``stage`` is seen;
    the lab's VMs, which are detached from it as a cloud's are, live on."""
    topology = tmp_path / 'crash.yml'
    topology.write_text(TOPOLOGY)
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.Popen([PLAYBOOK, str(ROOT / 'playbooks' / 'provision.yml'), '-e', 'cloud=%s' % LAB,
                             '-e', 'topology_file=%s' % topology, '-e', 'report_dir=%s' % tmp_path],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + 300
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if STAGES[stage](lab_records(), len(lab_namespaces('%s%s-vm-' % (PREFIX, LAB)))):
                kill_tree(proc.pid)
                proc.wait()
                return
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
            proc.wait()
    pytest.fail('provision finished (rc %s) before the stage %s was seen' % (proc.returncode, stage))


# Another run on the same lab, with the same names: teardown of the killed run must find all of
# its own and leave this one as it was.
BYSTANDER = {'run_id': 'bystander', 'networks': [{'name': 'a', 'cidr': '10.61.1.0/24'}],
             'routers': [{'name': 'edge', 'interfaces': ['a'], 'external': True}],
             'servers': [{'name': 'web-1', 'network': 'a', 'floating_ip': True}]}


@pytest.mark.parametrize('stage', sorted(STAGES))
def test_teardown_by_run_id_leaves_nothing_after_a_killed_provision(run, clouds_file, lab_clean, tmp_path, stage):
    bystander = run('topology', topology=BYSTANDER)
    assert bystander['changed'], bystander.get('msg')
    before = lab_netns()
    provision_killed(clouds_file, tmp_path, stage)
    assert any(lab_records().values()), 'the kill left nothing to clean up'

    proc = playbook('teardown.yml', clouds_file, LAB, 'crash')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert lab_netns() == before
    assert run('topology', state='audit', topology=BYSTANDER)['drift'] == []
    assert run('topology', run_id='bystander', state='absent')['changed']
    assert_host_clean(LAB)
    assert not os.path.exists(STATE)


def test_the_reaper_deletes_what_a_killed_provision_left_once_its_lease_ends(clouds_file, lab_clean, tmp_path):
    provision_killed(clouds_file, tmp_path, 'during-servers')
    early = playbook('reap.yml', clouds_file, LAB, 'crash', '-e', '{"clouds": ["%s"]}' % LAB)
    assert early.returncode == 0 and '%s: nothing has expired' % LAB in early.stdout, early.stdout[-3000:]
    later = playbook('reap.yml', clouds_file, LAB, 'crash', '-e', '{"clouds": ["%s"]}' % LAB,
                     '-e', 'as_of=2099-01-01T00:00:00Z')
    assert later.returncode == 0, later.stdout[-3000:]
    assert 'expired resources of runs crash deleted' in later.stdout
    assert_host_clean(LAB)
