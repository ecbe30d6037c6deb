"""The ansible-core x Python matrix, as tests/run runs it (docs/testing.md says which cells and why).

Every series gets full sanity on its controller Python, compile and import sanity on its other
Pythons, and unit tests on each of its Pythons; the oldest series (or the newest, when the main
venv is the oldest) also gets the integration tests that exercise ansible-core's own interfaces,
which tests/run's full suite covers on the main venv's series. Each cell is
printed with its result and time; a cell whose Python the machine lacks fails and says so.

    python3 tests/matrix.py              every cell
    python3 tests/matrix.py 2.20         the cells of one series
    python3 tests/matrix.py --list       the cells, without running them
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
MAIN_VENV = ROOT / '.venv'
SERIES_VENVS = MAIN_VENV / 'series'
# series: (the Python that runs ansible-test and full sanity, every Python the series is tested on)
SERIES = {
    '2.19': ('3.11', ('3.11', '3.12', '3.13')),
    '2.20': ('3.12', ('3.12', '3.13')),
    '2.21': ('3.13', ('3.12', '3.13')),
}
OLDEST, NEWEST = min(SERIES, key=lambda s: tuple(map(int, s.split('.')))), max(SERIES, key=lambda s: tuple(map(int, s.split('.'))))
# The integration tests that go through ansible-core's plugin and runner interfaces: the netns
# connection, the inventory plugin and its cache, ansible-doc, the roles and playbooks, and the
# collection installed from its tarball under ansible-playbook and ansible-runner.
CORE_FACING_TESTS = ('test_connection_netns.py', 'test_inventory.py', 'test_docs.py', 'test_playbooks.py',
                     'test_installed.py', 'test_awx.py')
LOGS = ROOT / 'tests' / 'output' / 'matrix'


class CellFailed(Exception):
    pass


def find_python(version):
    proc = subprocess.run([str(ROOT / 'scripts' / 'find-python'), version], capture_output=True, text=True, check=False)
    if proc.returncode:
        raise CellFailed('needs Python %s, which this machine lacks' % version)
    return proc.stdout.strip()


def pythons_on_path(versions):
    """A directory of python3.X links to the machine's real interpreters, for ansible-test's
    --python X: a pyenv shim of a version that is not selected answers python3.X with exit 127."""
    shims = LOGS / 'bin'
    shims.mkdir(parents=True, exist_ok=True)
    for version in versions:
        link = shims / ('python' + version)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(find_python(version))
    return shims


def venv_series(venv):
    """The ansible-core series a venv has, e.g. '2.21', or None."""
    proc = subprocess.run([str(venv / 'bin' / 'python'), '-c', 'import ansible.release as r; print(r.__version__)'],
                          capture_output=True, text=True, check=False)
    return '.'.join(proc.stdout.split('.')[:2]) if proc.returncode == 0 else None


def venv_python(venv):
    proc = subprocess.run([str(venv / 'bin' / 'python'), '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def runner_venv(series, with_tests):
    """The venv whose ansible-test runs the series' cells: the main venv when it is that series on
    that Python, else .venv/series/<series> (with the test requirements when ``with_tests``)."""
    controller = SERIES[series][0]
    if venv_series(MAIN_VENV) == series and venv_python(MAIN_VENV) == controller:
        return MAIN_VENV
    venv = SERIES_VENVS / series
    if not (venv / 'bin' / 'python').exists():
        run_logged(['%s' % find_python(controller), '-m', 'venv', str(venv)], 'venv-%s' % series)
        (venv / 'constraints.txt').write_text('ansible-core==%s.*\n' % series)
    pip = [str(venv / 'bin' / 'pip'), 'install', '-q', '--disable-pip-version-check', '-c', str(venv / 'constraints.txt')]
    # ansible-test makes the venvs its tests run in; only the integration tests need ours.
    for name in ('requirements.txt', 'test-requirements.txt') if with_tests else ():
        stamp = venv / ('.installed-' + name + '-' + digest(ROOT / name))
        if not stamp.exists():
            run_logged(pip + ['-r', str(ROOT / name)], 'venv-%s' % series)
            stamp.touch()
    if not (venv / 'bin' / 'ansible-test').exists():
        run_logged(pip + ['ansible-core'], 'venv-%s' % series)
    return venv


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_logged(argv, name, cwd=None, env=None):
    """Run ``argv`` with its output in tests/output/matrix/<name>.log; on failure, the log's tail."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = LOGS / (name + '.log')
    with open(log, 'a') as handle:
        handle.write('$ %s\n' % ' '.join(argv))
        handle.flush()
        proc = subprocess.run(argv, stdout=handle, stderr=subprocess.STDOUT, cwd=cwd, env=env, check=False)
    if proc.returncode:
        tail = '\n      '.join(log.read_text(errors='replace').splitlines()[-40:])
        raise CellFailed('exit %d; last lines of %s:\n      %s' % (proc.returncode, log.relative_to(ROOT), tail))


def sanity_tree():
    """A copy of the checkout's files at .../ansible_collections/cloudops/multicloud, as ansible-test needs."""
    base = pathlib.Path(tempfile.mkdtemp(prefix='cloudops-matrix-'))
    tree = base / 'ansible_collections' / 'cloudops' / 'multicloud'
    tree.mkdir(parents=True)
    files = subprocess.run(['git', '-C', str(ROOT), 'ls-files', '-co', '--exclude-standard', '-z'],
                           capture_output=True, check=True).stdout.decode().split('\0')
    for name in files:
        source = ROOT / name
        if name and os.path.lexists(source) and not source.is_dir():
            (tree / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name, follow_symlinks=False)
    return base, tree


def stand_in_get_pip(venv):
    """ansible-test downloads a pip bootstrap script from a host outside the package registries;
    tests/sanity/get_pip.py stands in for it in ansible-test's cache."""
    proc = subprocess.run([str(venv / 'bin' / 'python'), '-c',
                           'import ansible_test, pathlib; print(pathlib.Path(ansible_test.__file__).parent)'],
                          capture_output=True, text=True, check=True)
    text = (pathlib.Path(proc.stdout.strip()) / '_internal' / 'python_requirements.py').read_text()
    version = re.search(r"pip='([0-9.]+)'", text).group(1).replace('.', '_')
    cache = pathlib.Path.home() / '.ansible' / 'test' / 'cache'
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / 'tests' / 'sanity' / 'get_pip.py', cache / ('get_pip_%s.py' % version))


def cells(only=None):
    """(series, python, what) for every cell, in the order they run. The integration cell goes to the
    oldest series, or to the newest when the main venv, which tests/run's suite ran on, is the oldest."""
    integration = NEWEST if venv_series(MAIN_VENV) == OLDEST else OLDEST
    listed = []
    for series, (controller, pythons) in SERIES.items():
        if only and series != only:
            continue
        listed.append((series, controller, 'sanity'))
        listed += [(series, python, 'compile+import') for python in pythons if python != controller]
        listed += [(series, python, 'units') for python in pythons]
        if series == integration:
            listed.append((series, controller, 'integration'))
    return listed


def run_cell(series, python, what, tree):
    venv = runner_venv(series, with_tests=what == 'integration')
    shims = pythons_on_path([python])
    env = dict(os.environ, PATH='%s:%s:%s' % (venv / 'bin', shims, os.environ['PATH']))
    env.pop('VIRTUAL_ENV', None)
    name = '%s-py%s-%s' % (series, python, what.replace('+', '-'))
    if what == 'integration':
        # The checkout as cloudops.multicloud for this venv's Ansible, as scripts/env does for the main one.
        collections = venv / 'collections' / 'ansible_collections' / 'cloudops'
        collections.mkdir(parents=True, exist_ok=True)
        link = collections / 'multicloud'
        if not link.is_symlink():
            link.symlink_to(ROOT)
        env.update(ANSIBLE_COLLECTIONS_PATH=str(venv / 'collections'), ANSIBLE_PYTHON_INTERPRETER=str(venv / 'bin' / 'python'),
                   ANSIBLE_HOME=str(ROOT / '.ansible'))
        tests = [str(ROOT / 'tests' / 'integration' / test) for test in CORE_FACING_TESTS]
        run_logged([str(venv / 'bin' / 'pytest'), '-c', str(ROOT / 'tests' / 'pytest.ini'), '-n', '2'] + tests,
                   name, cwd=ROOT, env=env)
        return
    stand_in_get_pip(venv)
    if what == 'sanity':
        argv = ['ansible-test', 'sanity', '--venv', '--python', python, '--color', 'no']
    elif what == 'compile+import':
        argv = ['ansible-test', 'sanity', '--venv', '--python', python, '--test', 'compile', '--test', 'import',
                '--color', 'no']
    else:
        argv = ['ansible-test', 'units', '--venv', '--python', python, '--color', 'no']
    run_logged([str(venv / 'bin' / argv[0])] + argv[1:], name, cwd=tree, env=env)


def main(argv):
    only = next((a for a in argv if a in SERIES), None)
    planned = cells(only)
    if '--list' in argv:
        for series, python, what in planned:
            print('ansible-core %s  Python %s  %s' % (series, python, what))
        return 0
    shutil.rmtree(LOGS, ignore_errors=True)
    base, tree = sanity_tree()
    results = []
    try:
        for series, python, what in planned:
            label = 'ansible-core %s  Python %s  %-14s' % (series, python, what)
            print('matrix: %s ...' % label, flush=True)
            started = time.monotonic()
            try:
                run_cell(series, python, what, tree)
                verdict, detail = 'pass', ''
            except CellFailed as exc:
                verdict, detail = 'FAIL', str(exc)
            seconds = time.monotonic() - started
            results.append((label, verdict, seconds))
            print('matrix: %s %s in %.0f s%s' % (label, verdict, seconds, ('\n    ' + detail) if detail else ''),
                  flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print('\nmatrix: %d cells' % len(results))
    for label, verdict, seconds in results:
        print('  %s %-4s %5.0f s' % (label, verdict, seconds))
    return 1 if any(verdict != 'pass' for _label, verdict, _s in results) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
