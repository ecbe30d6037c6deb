"""playbooks/lifecycle.yml run as a person runs it, on a cloud of a clouds file."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))


def lifecycle(clouds_file, cloud, topology, run_id, report_dir):
    """The finished ansible-playbook process of a lifecycle run of ``topology`` (a file of playbooks/topologies;
    None: the one the playbook picks for the cloud)."""
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR='1')
    chosen = ['-e', 'topology_file=%s' % (ROOT / 'playbooks' / 'topologies' / topology)] if topology else []
    return subprocess.run(
        [PLAYBOOK, str(ROOT / 'playbooks' / 'lifecycle.yml'), '-e', 'cloud=%s' % cloud, '-e', 'run_id=%s' % run_id,
         '-e', 'report_dir=%s' % report_dir] + chosen,
        capture_output=True, text=True, env=env, timeout=900, check=False)


def playbook(name, clouds_file, cloud, run_id, report_dir, *extra):
    """The finished ansible-playbook process of playbooks/``name`` on ``cloud``, as lifecycle() runs it."""
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR='1')
    return subprocess.run(
        [PLAYBOOK, str(ROOT / 'playbooks' / name), '-e', 'cloud=%s' % cloud, '-e', 'run_id=%s' % run_id,
         '-e', 'report_dir=%s' % report_dir] + list(extra),
        capture_output=True, text=True, env=env, timeout=900, check=False)
