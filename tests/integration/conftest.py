"""Integration fixtures: modules run on a dedicated lab through pytest-ansible.

pytest-ansible is used only here (its `localhost` fixture), so it can be swapped out.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request

import pytest
import yaml
from ansible import context
from ansible.utils.context_objects import CLIArgs

from lab_helpers import LAB, assert_host_clean, purge_lab


# tests/run spreads the suite over two pytest-xdist workers: every test of the shared test lab
# goes to one worker, every test of the other clouds' harnesses (moto, OpenStack, the replays,
# and the inventory over moto and a lab of its own) to one worker, and unit tests fill in.
CLOUD_HARNESS_TESTS = ('ec2', 'libcloud', 'openstack', 'test_inventory.py')


def harness_of(nodeid):
    """'lab' or 'clouds' for an integration test's node id ('integration/<path>::<name>'), else None."""
    where = nodeid.split('::', 1)[0].split('/')
    if len(where) < 2 or where[0] != 'integration':
        return None
    return 'clouds' if where[1] in CLOUD_HARNESS_TESTS else 'lab'


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: absent when it is not loaded
def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByHarness(LoadScopeScheduling):
        """One scope per harness, so its tests never run on two workers at once; a unit test module is a scope of its own."""

        def _split_scope(self, nodeid):
            return harness_of(nodeid) or super()._split_scope(nodeid)

    return ByHarness(config, log)


@pytest.fixture(scope='session')
def clouds_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('clouds') / 'clouds.multicloud.yml'
    path.write_text('clouds:\n  %s:\n    provider: local\n' % LAB)
    yield str(path)
    purge_lab(LAB)
    assert_host_clean(LAB)


@pytest.fixture
def run(localhost, request, monkeypatch):
    """run('network', name=..., check=True) -> the module's result dict on the test lab.

    The lab's clouds file is asked for only when the test names none: a worker that runs only
    other clouds' tests never purges the lab another worker is using.
    """
    configure = localhost._configure_adhoc_cli

    def run_module(module, check=False, diff=True, **args):
        args.setdefault('cloud', LAB)
        if 'clouds_file' not in args:
            args['clouds_file'] = request.getfixturevalue('clouds_file')

        def configure_with_flags():
            # pytest-ansible has no check/diff switch; tasks read both from the CLI arguments.
            configure()
            context.CLIARGS = CLIArgs(dict(context.CLIARGS, check=check, diff=diff))

        monkeypatch.setattr(localhost, '_configure_adhoc_cli', configure_with_flags)
        result = getattr(localhost, 'cloudops.multicloud.' + module)(**args)
        return dict(result['localhost'])
    return run_module


@pytest.fixture(autouse=True)
def results_store(tmp_path_factory, monkeypatch):
    """Each test's runs go to a results store of its own, so none is compared with another test's."""
    store = tmp_path_factory.mktemp('results') / 'results.sqlite'
    monkeypatch.setenv('CLOUDOPS_RESULTS_STORE', str(store))
    return store


@pytest.fixture
def lab_clean():
    """A test that needs an empty lab gets one, and leaves one."""
    purge_lab(LAB)
    yield
    purge_lab(LAB)


def namespace_exec(netns, *argv, timeout=10):
    return subprocess.run(['ip', 'netns', 'exec', netns] + list(argv), capture_output=True, text=True,
                          timeout=timeout, check=False)


# The EC2 backend: the moto server of tests/clouds/ec2/up, started once per session (and stopped
# at its end if this session started it); ``ec2_clean`` gives a test an empty region.
EC2_HARNESS = os.path.join(os.path.dirname(__file__), '..', 'clouds', 'ec2')
EC2_CLOUD = 'aws-local'


def _ec2_running():
    return os.path.exists(os.path.join(EC2_HARNESS, '.state', 'pid'))


@pytest.fixture(scope='session')
def ec2_clouds_file():
    started = not _ec2_running()
    path = subprocess.run([os.path.join(EC2_HARNESS, 'up')], check=True, capture_output=True,
                          text=True).stdout.strip()
    yield path
    if started:
        subprocess.run([os.path.join(EC2_HARNESS, 'down')], check=True)


@pytest.fixture(scope='session')
def ec2_settings(ec2_clouds_file):
    with open(ec2_clouds_file) as handle:
        return yaml.safe_load(handle)['clouds'][EC2_CLOUD]


@pytest.fixture
def ec2_clean(ec2_settings):
    """An empty moto region before and after the test."""
    url = 'http://%s:%s/moto-api/reset' % (ec2_settings['host'], ec2_settings['port'])
    urllib.request.urlopen(urllib.request.Request(url, method='POST'), timeout=10)
    yield
    urllib.request.urlopen(urllib.request.Request(url, method='POST'), timeout=10)


@pytest.fixture
def aws(ec2_settings):
    """boto3's EC2 client on the same server: a client this collection did not write."""
    import boto3
    return boto3.client(
        'ec2', region_name=ec2_settings['region'],
        endpoint_url='http://%s:%s' % (ec2_settings['host'], ec2_settings['port']),
        aws_access_key_id=ec2_settings['key'], aws_secret_access_key=ec2_settings['secret'])


# The OpenStack backend: the control plane of tests/clouds/openstack/up, started once per session
# (and stopped at its end if this session started it).
OPENSTACK_HARNESS = os.path.join(os.path.dirname(__file__), '..', 'clouds', 'openstack')


def host_state():
    """What the OpenStack harness could leave on this host: links, namespaces, its daemons' processes."""
    def lines(*argv):
        return set(subprocess.run(argv, capture_output=True, text=True, check=False).stdout.splitlines())
    links = {line.split(':')[1].strip().split('@')[0] for line in lines('ip', '-o', 'link')}
    namespaces = {line.split()[0] for line in lines('ip', 'netns', 'list')
                  if line.strip() and not line.startswith('cloudops-')}
    # Its daemons, and the guests' sshds, whose configs are under its state directory; not the lab's.
    state = os.path.realpath(os.path.join(OPENSTACK_HARNESS, '.state'))
    daemons = {line.split(None, 1)[1] for line in lines('pgrep', '-a', '-f', 'ovsdb-server|ovs-vswitchd|ovn-|' + state)}
    return {'links': links, 'namespaces': namespaces, 'processes': daemons}


@pytest.fixture(scope='session')
def openstack_clouds_file():
    started = not os.path.exists(os.path.join(OPENSTACK_HARNESS, '.state'))
    before = host_state()
    proc = subprocess.run([os.path.join(OPENSTACK_HARNESS, 'up')], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, 'tests/clouds/openstack/up failed:\n' + proc.stderr[-4000:]
    yield proc.stdout.strip()
    if started:
        subprocess.run([os.path.join(OPENSTACK_HARNESS, 'down')], check=True)
        # down leaves nothing up found missing: no bridge, tap, veth, namespace or daemon of its own
        # (up may take back what a killed harness left).
        after = host_state()
        assert {kind: after[kind] - before[kind] for kind in after} == {kind: set() for kind in after}


@pytest.fixture(scope='session')
def openstack_settings(openstack_clouds_file):
    with open(openstack_clouds_file) as handle:
        return yaml.safe_load(handle)['clouds']['openstack-local']


def local_service(name, state):
    """What tests/clouds/<name>/up prints (its address), for the session; stopped at its end when
    this session started it (``state``: the file under .state/ that says it runs)."""
    harness = os.path.join(os.path.dirname(__file__), '..', 'clouds', name)
    started = not os.path.exists(os.path.join(harness, '.state', state))
    proc = subprocess.run([os.path.join(harness, 'up')], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, 'tests/clouds/%s/up failed:\n%s' % (name, proc.stderr[-4000:])
    yield proc.stdout.strip()
    if started:
        subprocess.run([os.path.join(harness, 'down')], check=True)


@pytest.fixture(scope='session')
def postgresql_dsn():
    """The DSN of a real PostgreSQL on 127.0.0.1, for the results store."""
    yield from local_service('postgresql', 'dsn')


@pytest.fixture(scope='session')
def pushgateway_url():
    """The URL of a real Prometheus Pushgateway on 127.0.0.1."""
    yield from local_service('pushgateway', 'pid')
