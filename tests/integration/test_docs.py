"""ansible-doc renders every plugin and role, and every module's EXAMPLES are named tasks that use it."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_DOC = str(pathlib.Path(sys.executable).with_name('ansible-doc'))
PLUGINS = sorted(
    (kind, path.stem)
    for kind, folder in (('module', 'modules'), ('connection', 'connection'), ('filter', 'filter'), ('inventory', 'inventory'))
    for path in (ROOT / 'plugins' / folder).glob('*.py')
    if not path.name.startswith('_')
)


@pytest.mark.parametrize('kind, name', PLUGINS, ids=['%s:%s' % p for p in PLUGINS])
def test_ansible_doc_renders(kind, name):
    fqcn = 'cloudops.multicloud.' + name
    proc = subprocess.run([ANSIBLE_DOC, '-t', kind, '--json', fqcn], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[fqcn]
    assert doc['doc']['short_description']
    text = subprocess.run([ANSIBLE_DOC, '-t', kind, fqcn], capture_output=True, text=True, check=False)
    assert text.returncode == 0 and 'ERROR' not in text.stderr, text.stderr
    if kind == 'module':
        examples = yaml.safe_load(doc['examples'])
        assert any(fqcn in task for task in examples)
        assert all(task.get('name') for task in examples)


ROLES = sorted(path.name for path in (ROOT / 'roles').iterdir() if (path / 'meta/argument_specs.yml').exists())


@pytest.mark.parametrize('name', ROLES)
def test_ansible_doc_renders_every_role(name):
    fqcn = 'cloudops.multicloud.' + name
    proc = subprocess.run([ANSIBLE_DOC, '-t', 'role', '--json', fqcn], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    main = json.loads(proc.stdout)[fqcn]['entry_points']['main']
    assert main['short_description'] and main['options']
    assert all(option.startswith(name + '_') for option in main['options'])
    assert all(spec.get('description') for spec in main['options'].values())
