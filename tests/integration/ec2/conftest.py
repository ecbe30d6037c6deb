"""Integration fixtures for EC2: modules run against the moto server of tests/clouds/ec2/up.

The server is started once per session (and stopped at its end if this session started it);
every test that asks for ``ec2_clean`` gets an empty region, as a new AWS account has.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request

import pytest
import yaml

HARNESS = os.path.join(os.path.dirname(__file__), '..', '..', 'clouds', 'ec2')
CLOUD = 'aws-local'


def _running():
    return os.path.exists(os.path.join(HARNESS, '.state', 'pid'))


@pytest.fixture(scope='session')
def ec2_clouds_file():
    started = not _running()
    path = subprocess.run([os.path.join(HARNESS, 'up')], check=True, capture_output=True,
                          text=True).stdout.strip()
    yield path
    if started:
        subprocess.run([os.path.join(HARNESS, 'down')], check=True)


@pytest.fixture(scope='session')
def ec2_settings(ec2_clouds_file):
    with open(ec2_clouds_file) as handle:
        return yaml.safe_load(handle)['clouds'][CLOUD]


@pytest.fixture
def ec2_clean(ec2_settings):
    """An empty moto region before and after the test."""
    url = 'http://%s:%s/moto-api/reset' % (ec2_settings['host'], ec2_settings['port'])
    urllib.request.urlopen(urllib.request.Request(url, method='POST'), timeout=10)
    yield
    urllib.request.urlopen(urllib.request.Request(url, method='POST'), timeout=10)


@pytest.fixture
def run(run, ec2_clouds_file):
    """run('network', ...) on aws-local unless the test names another cloud."""
    def run_on_ec2(module, **args):
        args.setdefault('cloud', CLOUD)
        args.setdefault('clouds_file', ec2_clouds_file)
        return run(module, **args)
    return run_on_ec2


@pytest.fixture
def aws(ec2_settings):
    """boto3's EC2 client on the same server: a client this collection did not write."""
    import boto3
    return boto3.client(
        'ec2', region_name=ec2_settings['region'],
        endpoint_url='http://%s:%s' % (ec2_settings['host'], ec2_settings['port']),
        aws_access_key_id=ec2_settings['key'], aws_secret_access_key=ec2_settings['secret'])


@pytest.fixture
def ec2_provider(ec2_settings):
    """The provider itself, for tests of its pieces below the modules."""
    from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2 import Ec2Provider
    return Ec2Provider(CLOUD, ec2_settings, timeout=60)
