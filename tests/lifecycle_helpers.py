"""playbooks/lifecycle.yml run as a person runs it, on a cloud of a clouds file."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from lab_helpers import LAB, lab_namespaces, purge_lab

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))


def lifecycle(clouds_file, cloud, topology, run_id, report_dir):
    """The finished ansible-playbook process of a lifecycle run of ``topology`` (a file of playbooks/topologies;
    None: the one the playbook picks for the cloud)."""
    chosen = ['-e', 'topology_file=%s' % (ROOT / 'playbooks' / 'topologies' / topology)] if topology else []
    return playbook('lifecycle.yml', clouds_file, cloud, run_id, '-e', 'report_dir=%s' % report_dir, *chosen)


def playbook(name, clouds_file, cloud, run_id, *extra, env=None):
    """The finished ansible-playbook process of playbooks/``name`` on ``cloud`` of ``clouds_file``, as a
    person runs it; ``env`` adds to its environment."""
    environment = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                       ANSIBLE_NOCOLOR='1', **(env or {}))
    return subprocess.run(
        [PLAYBOOK, str(ROOT / 'playbooks' / name), '-e', 'cloud=%s' % cloud, '-e', 'run_id=%s' % run_id] + list(extra),
        capture_output=True, text=True, env=environment, timeout=900, check=False)


@contextlib.contextmanager
def provisioned_lab(clouds_file, run_id, manifest_dir):
    """The default topology on the test lab for the block; torn down after it, and proved gone."""
    purge_lab(LAB)
    proc = playbook('provision.yml', clouds_file, LAB, run_id, '-e', 'report_dir=%s' % manifest_dir)
    assert proc.returncode == 0, proc.stdout[-3000:]
    yield
    proc = playbook('teardown.yml', clouds_file, LAB, run_id)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert lab_namespaces('cloudops-%s-' % LAB) == []


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


def killed_while(clouds_file, cloud, topology_file, report_dir, seen, stage):
    """Start provision.yml of ``topology_file`` on ``cloud`` and SIGKILL it, with every process it
    started, as soon as ``seen()``; what the cloud runs (the lab's VMs too) lives on."""
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.Popen([PLAYBOOK, str(ROOT / 'playbooks' / 'provision.yml'), '-e', 'cloud=%s' % cloud,
                             '-e', 'topology_file=%s' % topology_file, '-e', 'report_dir=%s' % report_dir],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + 600
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            if seen():
                kill_tree(proc.pid)
                proc.wait()
                return
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            kill_tree(proc.pid)
            proc.wait()
    pytest.fail('provision finished (rc %s) before the stage %s was seen' % (proc.returncode, stage))
