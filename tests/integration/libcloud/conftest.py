"""Contract fixtures: stock libcloud drivers against libcloud's own recorded responses.

Each test module names its DRIVER; a replay server (tests/clouds/replay) for that driver runs
on a free port of 127.0.0.1 for the module, and every test starts from its recorded state. The
clouds file points the driver there only through host, port and secure, so modules (which run
in processes of their own) and the provider alike reach it. Recorded ids and names are fixed
(GCE: node-name, lcnode-000; Azure: test-node-1, test-node-2; DigitalOcean: droplet 3164444;
Linode: 22344420).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'clouds'))

from replay import ReplayServer  # noqa: E402  (tests/clouds is on the path from here on)

CLOUDS = {'gce': 'gce-replay', 'azure_arm': 'azure-replay', 'digitalocean': 'do-replay', 'linode': 'linode-replay'}
# Secrets as libcloud's recorded requests expect them; tests assert that none reaches any output.
SECRETS = {
    'azure_arm': 'replay-azure-secret-9f3k',
    'digitalocean': 'replay-do-token-4c7q2m',
    'linode': 'replay-linode-token-8w1e',
    'linode-root': 'replay-linode-root-5t3p',
}
LOGIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcPk2c3Wq8oPqkqB8vJtH3a8yJ0yQm1KpZ3v4Hq7bXy replay'


def service_account_key(path):
    """GCE signs its token request with a service account's RSA key; any key does for a replay."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return str(path)


def cloud_settings(driver, port, workdir):
    """The clouds file entry for ``driver`` on the replay at ``port``."""
    settings = {'provider': 'libcloud', 'driver': driver, 'host': '127.0.0.1', 'port': port, 'secure': False}
    if driver == 'gce':
        settings.update(key='email@developer.gserviceaccount.com', secret=service_account_key(workdir / 'sa.pem'),
                        extra={'project': 'project_name', 'datacenter': 'us-central1-a', 'auth_type': 'SA',
                               'credential_file': str(workdir / 'gce-token.json')})
    elif driver == 'azure_arm':
        settings.update(key='55555555-5555-5555-5555-555555555555', secret=SECRETS[driver], region='eastus',
                        extra={'tenant_id': '77777777-7777-7777-7777-777777777777', 'subscription_id': '99999999',
                               'create_node': {'ex_resource_group': '000000', 'ex_network': '000000',
                                               'ex_use_managed_disks': True, 'auth': {'ssh_key': LOGIN_KEY}}})
    elif driver == 'digitalocean':
        settings.update(key=SECRETS[driver], region='nyc1')
    elif driver == 'linode':
        settings.update(key=SECRETS[driver], region='us-east', extra={'create_node': {'root_pass': SECRETS['linode-root']}})
    return settings


@pytest.fixture(scope='module')
def driver_name(request):
    return request.module.DRIVER


@pytest.fixture(scope='module')
def replay(driver_name):
    """The module's replay server, stopped when the module ends."""
    server = ReplayServer(driver_name)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def recorded_state(replay):
    """Every test starts from the recorded responses: nothing deleted, no scenario, no faults."""
    replay.reset()
    yield


@pytest.fixture(scope='module')
def cloud(driver_name):
    return CLOUDS[driver_name]


@pytest.fixture(scope='module')
def settings(driver_name, replay, tmp_path_factory):
    return cloud_settings(driver_name, replay.port, tmp_path_factory.mktemp(driver_name))


@pytest.fixture(scope='module')
def libcloud_clouds_file(cloud, settings, tmp_path_factory):
    path = tmp_path_factory.mktemp('clouds') / 'clouds.multicloud.yml'
    path.write_text(yaml.safe_dump({'clouds': {cloud: settings}}))
    return str(path)


@pytest.fixture
def run(run, cloud, libcloud_clouds_file):
    """run('server_info', ...) on the replayed cloud, through the collection's modules."""
    def run_on_replay(module, **args):
        args.setdefault('cloud', cloud)
        args.setdefault('clouds_file', libcloud_clouds_file)
        return run(module, **args)
    return run_on_replay


@pytest.fixture
def provider(cloud, settings):
    """LibcloudProvider itself, for paths no module reaches with recorded responses."""
    from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.provider import LibcloudProvider

    def make(**options):
        options.setdefault('timeout', 30)
        options.setdefault('wait', False)
        return LibcloudProvider(cloud, dict(settings, **options.pop('settings', {})), **options)
    return make


@pytest.fixture
def failure_line():
    """failure_line(result) -> a failed module's message, checked to be one line with no secret in the result."""
    def check(result):
        assert result.get('failed'), result
        assert '\n' not in result['msg'], result['msg']
        text = str(result)
        assert 'Traceback' not in text and 'PRIVATE KEY' not in text
        for secret in SECRETS.values():
            assert secret not in text
        return result['msg']
    return check


@pytest.fixture
def inventory(cloud, libcloud_clouds_file, tmp_path):
    """inventory() -> (hostvars of ansible-inventory --list over the replayed cloud, its output);
    checked to be free of every secret."""
    def listing():
        source = tmp_path / 'replay.clouds.yml'
        source.write_text(yaml.safe_dump({'plugin': 'cloudops.multicloud.clouds', 'clouds_file': libcloud_clouds_file}))
        proc = subprocess.run([str(pathlib.Path(sys.executable).with_name('ansible-inventory')), '-i', str(source),
                               '--list'], capture_output=True, text=True, timeout=120, check=True)
        for secret in SECRETS.values():
            assert secret not in proc.stdout + proc.stderr
        return json.loads(proc.stdout), proc.stderr
    return listing
