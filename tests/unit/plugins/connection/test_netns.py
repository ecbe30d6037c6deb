"""The netns connection's choice of namespace and its refusals, without entering any namespace."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleConnectionFailure
from ansible.playbook.play_context import PlayContext
from ansible.plugins.loader import connection_loader


def netns_connection(**host_vars):
    connection = connection_loader.get('cloudops.multicloud.netns', PlayContext())
    connection.set_options(var_options=dict({'inventory_hostname': 'web-1'}, **host_vars))
    return connection


def test_namespace_comes_from_ansible_host_then_cloudops_netns():
    assert netns_connection().netns == 'web-1'
    assert netns_connection(ansible_host='cloudops-lab-vm-0a1b2c3d').netns == 'cloudops-lab-vm-0a1b2c3d'
    assert netns_connection(ansible_host='10.0.0.5', cloudops_netns='cloudops-lab-vm-0a1b2c3d').netns == (
        'cloudops-lab-vm-0a1b2c3d')


def test_pipelining_is_on_unless_turned_off():
    assert netns_connection().is_pipelining_enabled()
    assert not netns_connection(ansible_pipelining=False).is_pipelining_enabled()


def test_not_root_is_said_plainly(monkeypatch):
    monkeypatch.setattr('os.geteuid', lambda: 1000)
    with pytest.raises(AnsibleConnectionFailure, match='must run as root on the controller to enter lab VM web-1'):
        netns_connection().exec_command('true')


def test_missing_namespace_is_a_connection_failure(tmp_path, monkeypatch):
    monkeypatch.setattr('os.geteuid', lambda: 0)
    monkeypatch.setattr('shutil.which', lambda name: '/usr/bin/' + name)
    monkeypatch.setattr('ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.kernel.NETNS_DIR',
                        str(tmp_path))
    with pytest.raises(AnsibleConnectionFailure, match='^lab VM namespace web-1 does not exist$'):
        netns_connection().exec_command('true')
