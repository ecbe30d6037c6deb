"""Integration fixtures for OpenStack: modules run against the control plane of
tests/clouds/openstack/up (the openstack_* fixtures of tests/integration/conftest.py).

``osc`` is python-openstackclient from the harness's own venv: a client this collection did not
write, which confirms what the modules did. ``os_clean`` gives a test an empty demo project.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest

CLOUD = 'openstack-local'
ROOT = pathlib.Path(__file__).resolve().parents[3]
OPENSTACK_CLI = ROOT / '.venv' / 'openstack-services' / 'bin' / 'openstack'


@pytest.fixture
def run(run, openstack_clouds_file):
    """run('network', ...) on openstack-local unless the test names another cloud."""
    def run_on_openstack(module, **args):
        args.setdefault('cloud', CLOUD)
        args.setdefault('clouds_file', openstack_clouds_file)
        return run(module, **args)
    return run_on_openstack


@pytest.fixture(scope='session')
def clouds_yaml(openstack_settings):
    return openstack_settings['clouds_yaml']


@pytest.fixture(scope='session')
def osc(clouds_yaml):
    """osc('server', 'list') -> the openstack CLI's JSON answer as the demo user (admin=True: as admin)."""
    def openstack(*argv, admin=False, parse=True):
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds_yaml, OS_CLOUD=CLOUD + ('-admin' if admin else ''))
        args = [str(OPENSTACK_CLI)] + [str(a) for a in argv] + (['-f', 'json'] if parse else [])
        proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=120, check=False)
        assert proc.returncode == 0, '%s: %s' % (' '.join(args[1:]), proc.stderr[-2000:])
        return json.loads(proc.stdout) if parse and proc.stdout.strip() else proc.stdout
    return openstack


@pytest.fixture(scope='session')
def sdk(clouds_yaml):
    """openstacksdk connections to the harness: sdk() as the demo user, sdk(admin=True) as admin."""
    import openstack.config
    import openstack.connection
    config = openstack.config.OpenStackConfig(config_files=[clouds_yaml], load_envvars=False)
    made = {}

    def connection(admin=False):
        name = CLOUD + ('-admin' if admin else '')
        if name not in made:
            made[name] = openstack.connection.Connection(config=config.get_one(cloud=name))
        return made[name]
    yield connection
    for conn in made.values():
        conn.close()


def purge_project(conn):
    """Delete everything of the demo project but its default security group."""
    servers = list(conn.compute.servers())
    for server in servers:
        conn.compute.delete_server(server, ignore_missing=True)
    for server in servers:
        conn.compute.wait_for_delete(server, wait=120)
    for fip in conn.network.ips(project_id=conn.current_project_id):
        conn.network.delete_ip(fip, ignore_missing=True)
    for router in conn.network.routers(project_id=conn.current_project_id):
        for port in conn.network.ports(device_id=router.id, device_owner='network:router_interface'):
            conn.network.remove_interface_from_router(router, subnet_id=port.fixed_ips[0]['subnet_id'])
        conn.network.delete_router(router, ignore_missing=True)
    for port in conn.network.ports(project_id=conn.current_project_id):
        if not port.device_owner.startswith('network:'):
            conn.network.delete_port(port, ignore_missing=True)
    for network in conn.network.networks(project_id=conn.current_project_id):
        conn.network.delete_network(network, ignore_missing=True)
    for group in conn.network.security_groups(project_id=conn.current_project_id):
        if group.name != 'default':
            conn.network.delete_security_group(group, ignore_missing=True)
    for keypair in conn.compute.keypairs():
        conn.compute.delete_keypair(keypair, ignore_missing=True)


@pytest.fixture
def os_clean(sdk):
    """An empty demo project before and after the test."""
    purge_project(sdk())
    yield
    purge_project(sdk())


@pytest.fixture
def openstack_provider(openstack_settings):
    """The provider itself, for tests of its pieces below the modules."""
    from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.provider import OpenStackProvider
    return OpenStackProvider(CLOUD, openstack_settings, timeout=120)
