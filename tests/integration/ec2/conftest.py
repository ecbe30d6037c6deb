"""Integration fixtures for EC2: modules run against the moto server of tests/clouds/ec2/up
(the ec2_* fixtures of tests/integration/conftest.py)."""

from __future__ import annotations

import pytest

CLOUD = 'aws-local'


@pytest.fixture
def run(run, ec2_clouds_file):
    """run('network', ...) on aws-local unless the test names another cloud."""
    def run_on_ec2(module, **args):
        args.setdefault('cloud', CLOUD)
        args.setdefault('clouds_file', ec2_clouds_file)
        return run(module, **args)
    return run_on_ec2


@pytest.fixture
def ec2_provider(ec2_settings):
    """The provider itself, for tests of its pieces below the modules."""
    from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2 import Ec2Provider
    return Ec2Provider(CLOUD, ec2_settings, timeout=60)
