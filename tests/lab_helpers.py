"""The test lab: its name, a purge that always finishes, and the host-is-clean check."""

from __future__ import annotations

import os
import subprocess

from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.provider import LocalProvider
from ansible_collections.cloudops.multicloud.plugins.plugin_utils.commands import run_command

LAB = os.environ.get('CLOUDOPS_TEST_LAB', 'citest')
PREFIX = 'cloudops-'


def lab_provider(name=LAB):
    """The lab's provider as a module would open it, its commands run as controller plugins run them."""
    return LocalProvider(name, {'provider': 'local'}, Commands(run_command))


def purge_lab(name=LAB):
    lab_provider(name).purge()


def lab_namespaces(prefix=PREFIX):
    try:
        return sorted(n for n in os.listdir('/run/netns') if n.startswith(prefix))
    except FileNotFoundError:
        return []


def assert_host_clean(name=LAB):
    """No namespace of the lab is left; the host namespace has no lab bridge or nft table."""
    assert lab_namespaces(PREFIX + name + '-') == []
    links = subprocess.run(['ip', '-o', 'link'], capture_output=True, text=True, check=True).stdout
    assert 'br-' not in links and ' p-' not in links
    tables = subprocess.run(['nft', 'list', 'tables'], capture_output=True, text=True, check=True).stdout
    assert 'cloudops' not in tables
