"""playbooks/lifecycle.yml run as a person runs it, on a cloud of a clouds file."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import sys

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
