"""The lifecycle the way a user runs it: the collection built and installed by ansible-galaxy into a
path of its own, a plain ansible-playbook (none of scripts/env), and a broken ``python3.13`` first on
PATH, as a pyenv shim for a version not selected is. Interpreter discovery would pick that shim for
the lab's VMs (the netns connection inherits the controller's environment); the inventory the
provision role writes must spare them discovery, so every check still passes. The same lifecycle
also runs under ansible-runner, as AWX runs a job template, in the same environment."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml
from ansible import constants as C

from collection_helpers import ROOT, build_collection, install_collection
from lab_helpers import PREFIX, lab_namespaces, purge_lab

# A lab of this test's own: other labs on the host are left alone.
LAB = os.environ.get('CLOUDOPS_TEST_LAB', 'inst')
RUN_ID = 'pytest-installed'
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
GALAXY = str(pathlib.Path(sys.executable).with_name('ansible-galaxy'))
RUNNER = str(pathlib.Path(sys.executable).with_name('ansible-runner'))
# Short measurements: the checks are the point here, not the numbers.
QUICK = ['-e', 'validate_throughput_duration=1', '-e', 'validate_probe_count=3', '-e', 'validate_change_timeout=5']
BROKEN = 'python3.13'


def broken_pythons(directory):
    """``directory`` with a ``python3.13`` that exits 127, and the same for every name interpreter
    discovery tries before it; returns those names."""
    fallback = C.config.get_config_value('INTERPRETER_PYTHON_FALLBACK')
    names = [name for name in fallback[:fallback.index(BROKEN) + 1] if '/' not in name] if BROKEN in fallback else [BROKEN]
    directory.mkdir()
    for name in names:
        shim = directory / name
        shim.write_text('#!/bin/sh\necho "pyenv: %s: command not found" >&2\nexit 127\n' % name)
        shim.chmod(0o755)
    return names


def user_path(shims):
    """PATH as a user's shell has it, without this venv or checkout, behind the broken shims."""
    venv = str(pathlib.Path(sys.executable).parent)
    kept = [entry for entry in os.environ['PATH'].split(os.pathsep)
            if entry and entry != venv and not entry.startswith(str(ROOT) + os.sep)]
    return os.pathsep.join([str(shims)] + kept)


@pytest.fixture
def user(tmp_path):
    """A user's environment: the collection installed in a scratch path named by
    ANSIBLE_COLLECTIONS_PATH, a clouds file with this test's lab, and nothing else of ANSIBLE_*."""
    collections = install_collection(build_collection(tmp_path / 'build'), tmp_path / 'collections')
    clouds_file = tmp_path / 'clouds.yml'
    clouds_file.write_text('clouds:\n  %s:\n    provider: local\n' % LAB)
    env = {name: value for name, value in os.environ.items()
           if not name.startswith('ANSIBLE_') and name not in ('VIRTUAL_ENV', 'PYTHONPATH')}
    env.update(PATH=user_path(tmp_path / 'shims'), ANSIBLE_COLLECTIONS_PATH=str(collections),
               CLOUDOPS_CLOUDS_FILE=str(clouds_file))
    names = broken_pythons(tmp_path / 'shims')
    work = tmp_path / 'work'
    work.mkdir()
    purge_lab(LAB)
    yield {'env': env, 'collections': collections, 'shims': names, 'cwd': work, 'reports': tmp_path / 'reports'}
    purge_lab(LAB)


def test_lifecycle_of_the_installed_collection_with_a_broken_python_on_path(user):
    env = user['env']
    # The shim is what discovery would find first, and the lab's tools are the system's.
    fallback = C.config.get_config_value('INTERPRETER_PYTHON_FALLBACK')
    first = next(found for found in (shutil.which(name, path=env['PATH']) for name in fallback) if found)
    assert first == str(user['cwd'].parent / 'shims' / user['shims'][0])
    assert shutil.which(BROKEN, path=env['PATH']) == str(user['cwd'].parent / 'shims' / BROKEN)
    assert subprocess.run([BROKEN], env=env, capture_output=True, check=False).returncode == 127
    for tool in ('ip', 'nsenter', 'nft', 'iperf3', 'ping'):
        found = shutil.which(tool, path=env['PATH'])
        assert found and not found.startswith(str(ROOT)), tool
    assert shutil.which('ansible-playbook', path=env['PATH']) != PLAYBOOK

    # cloudops.multicloud resolves to the scratch install only.
    listed = subprocess.run([GALAXY, 'collection', 'list', 'cloudops.multicloud', '--format', 'json'], env=env,
                            cwd=user['cwd'], capture_output=True, text=True, check=True, timeout=120).stdout
    assert list(json.loads(listed)) == [str(user['collections'] / 'ansible_collections')]

    proc = subprocess.run([PLAYBOOK, 'cloudops.multicloud.lifecycle', '-e', 'cloud=%s' % LAB, '-e', 'run_id=%s' % RUN_ID,
                           '-e', 'report_dir=%s' % user['reports'], *QUICK],
                          env=env, cwd=user['cwd'], capture_output=True, text=True, timeout=900, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert 'deserialization failed' not in output and 'discovered Python interpreter' not in output

    passed_every_check(user['reports'], RUN_ID)
    assert re.search(r'All \d+ checks passed', proc.stdout)
    assert lab_namespaces(PREFIX + LAB + '-') == []


def passed_every_check(reports, run_id):
    report = json.loads((reports / 'report.json').read_text())
    checks = report['checks']
    assert report['run']['id'] == run_id and report['summary']['verdict'] == 'pass'
    assert report['summary']['checks'] == len(checks) > 0
    assert [c['name'] for c in checks if c['verdict'] != 'pass'] == []


def test_lifecycle_of_the_installed_collection_under_ansible_runner(user, tmp_path):
    # A private data dir as AWX lays one out: a project whose playbook imports the collection's,
    # extra vars, and the job's environment, which is the user's: the scratch install and no project path.
    private = tmp_path / 'private'
    (private / 'project').mkdir(parents=True)
    (private / 'project' / 'lifecycle.yml').write_text(
        '---\n- name: Lifecycle\n  ansible.builtin.import_playbook: cloudops.multicloud.lifecycle\n')
    (private / 'env').mkdir()
    run_id = RUN_ID + '-runner'
    extravars = {'cloud': LAB, 'run_id': run_id, 'report_dir': str(user['reports'] / 'runner'),
                 'validate_throughput_duration': 1, 'validate_probe_count': 3, 'validate_change_timeout': 5}
    (private / 'env' / 'extravars').write_text(yaml.safe_dump(extravars))
    # ansible-runner finds ansible-playbook on PATH, as in an execution environment: that command only.
    tools = tmp_path / 'ansible-bin'
    tools.mkdir()
    (tools / 'ansible-playbook').symlink_to(PLAYBOOK)
    env = dict(user['env'], PATH='%s:%s' % (tools, user['env']['PATH']))
    proc = subprocess.run([RUNNER, 'run', str(private), '-p', 'lifecycle.yml', '--ident', 'lifecycle'],
                          env=env, cwd=user['cwd'], capture_output=True, text=True, timeout=900, check=False)
    stdout = (private / 'artifacts' / 'lifecycle' / 'stdout').read_text()
    assert proc.returncode == 0, stdout[-4000:] + proc.stderr[-2000:]
    assert (private / 'artifacts' / 'lifecycle' / 'status').read_text() == 'successful'
    assert 'deserialization failed' not in stdout and 'discovered Python interpreter' not in stdout
    passed_every_check(user['reports'] / 'runner', run_id)
    assert lab_namespaces(PREFIX + LAB + '-') == []
