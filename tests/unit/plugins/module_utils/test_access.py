from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.access import (
    check_access, control_path, host_vars, image_user, parse_jump_host, resolve_access, ssh_config,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

LAB = {'name': 'lab', 'provider': 'local', 'capabilities': {'data_plane': True},
       'access': {'default_mode': 'netns', 'netns': True, 'user': 'root', 'groupless_open': True,
                  'ssh_from': '198.18.0.1/32', 'proxy_command': 'ip netns exec cloudops-lab-outside nc %h %p'}}
CLOUD = {'name': 'osp', 'provider': 'openstack', 'capabilities': {'data_plane': True},
         'access': {'default_mode': 'ssh', 'netns': False, 'endpoint_host': '127.0.0.1'}}
TOPOLOGY = {
    'run_id': 'r1',
    'networks': [{'name': 'front', 'cidr': '10.10.1.0/24'}, {'name': 'back', 'cidr': '10.10.2.0/24'}],
    'routers': [{'name': 'edge', 'interfaces': ['front', 'back'], 'external': True}],
    'security_groups': [{'name': 'db'}],
    'servers': [{'name': 'web', 'network': 'front', 'floating_ip': True},
                {'name': 'db', 'network': 'back', 'security_groups': ['db']}],
}


@pytest.mark.parametrize('access, message', [
    ({'mode': 'telnet'}, r"^access.mode: 'telnet' is not one of auto, ssh, netns$"),
    ({'ssh_from': '10.0.0.300/8'}, r"^access.ssh_from: '10.0.0.300/8' is not a CIDR"),
    ({'jump_host': 'bastion.invalid'}, r"^access.jump_host: 'bastion.invalid' does not resolve"),
    ({'jump_host': 'me@host:99999'}, r'^access.jump_host: port 99999 is outside 1-65535$'),
    ({'user': 'Root Admin'}, r"^access.user: 'Root Admin' is not a login name$"),
    ({'port': 22}, r'^access.port: not an access key'),
    ('ssh', r"^access: expected a mapping, got 'ssh'$"),
])
def test_bad_access_names_the_field(access, message):
    with pytest.raises(CloudError, match=message):
        check_access(access)


def test_jump_host_forms():
    assert parse_jump_host('ops@127.0.0.1:2222') == {'user': 'ops', 'host': '127.0.0.1', 'port': 2222}
    assert parse_jump_host('[::1]', resolve=False) == {'user': None, 'host': '::1', 'port': 22}


def test_auto_is_netns_on_the_lab_and_ssh_elsewhere(tmp_path):
    assert resolve_access(TOPOLOGY, LAB, str(tmp_path))['mode'] == 'netns'
    access = resolve_access(TOPOLOGY, CLOUD, str(tmp_path))
    assert access['mode'] == 'ssh' and access['ssh_from'] == '127.0.0.1/32'


def test_netns_is_refused_off_the_lab(tmp_path):
    with pytest.raises(CloudError, match=r'^access.mode: netns reaches only local-lab VMs'):
        resolve_access(dict(TOPOLOGY, access={'mode': 'netns'}), CLOUD, str(tmp_path))


def test_ssh_on_the_lab_adds_key_group_and_bastion(tmp_path):
    access = resolve_access(dict(TOPOLOGY, access={'mode': 'ssh'}), LAB, str(tmp_path))
    assert access['ssh_from'] == '198.18.0.1/32' and access['key_file'] == str(tmp_path / 'id_ed25519')
    servers = {s['name']: s for s in access['servers']}
    # A groupless lab server is open already: the SSH group would close everything else.
    assert 'security_groups' not in servers['web'] and servers['web']['key'] == 'r1-access'
    assert servers['db']['security_groups'] == ['db', 'r1-ssh']
    assert servers['r1-bastion'] == {'name': 'r1-bastion', 'network': 'front', 'floating_ip': True,
                                     'key': 'r1-access', 'security_groups': ['r1-bastion']}


def test_a_jump_host_replaces_the_bastion_and_groupless_clouds_get_the_group(tmp_path):
    access = resolve_access(dict(TOPOLOGY, access={'jump_host': 'ops@127.0.0.1'}), CLOUD, str(tmp_path))
    assert access['bastion'] is None and [s['name'] for s in access['servers']] == ['web', 'db']
    assert access['servers'][0]['security_groups'] == ['r1-ssh']


def test_ssh_config_and_host_vars(tmp_path):
    access = resolve_access(dict(TOPOLOGY, access={'mode': 'ssh'}), LAB, str(tmp_path))
    servers = [{'name': 'web', 'public_ip': '198.18.0.5', 'private_ip': '10.10.1.2', 'image': 'lab-host'},
               {'name': 'db', 'id': 'c0ffee00-1111', 'public_ip': None, 'private_ip': '10.10.2.2'},
               {'name': 'r1-bastion', 'public_ip': '198.18.0.6', 'private_ip': '10.10.1.3'}]
    text = ssh_config(servers, access)
    blocks = {b.split('\n')[0]: b for b in text.split('\nHost ')[1:]}
    assert 'ProxyCommand ip netns exec cloudops-lab-outside nc %h %p' in blocks['198.18.0.5']
    assert 'ProxyJump root@198.18.0.6' in blocks['10.10.2.2']
    assert 'StrictHostKeyChecking accept-new' in blocks['10.10.2.2']
    assert 'UserKnownHostsFile %s' % (tmp_path / 'known_hosts') in blocks['10.10.2.2']
    # A host key is the server's: an address that moves to another server does not carry it along.
    assert 'HostKeyAlias c0ffee00-1111' in blocks['10.10.2.2'] and 'HostKeyAlias' not in blocks['198.18.0.5']
    assert host_vars(servers[1], access) == {
        'ansible_connection': 'ssh', 'ansible_host': '10.10.2.2', 'ansible_user': 'root',
        'ansible_ssh_common_args': '-F %s' % (tmp_path / 'ssh_config'),
        'ansible_ssh_private_key_file': str(tmp_path / 'id_ed25519'),
        'ansible_control_path': control_path(servers[1], access)}
    # One master per server and address, named short enough for a Unix socket wherever the run's files are.
    assert control_path(servers[1], access).startswith('%(directory)s/') and len(control_path(servers[1], access)) < 32
    moved = dict(servers[1], public_ip='198.18.0.9')
    assert control_path(moved, access) != control_path(servers[1], access)
    assert control_path(dict(servers[1], id='c0ffee00-2222'), access) != control_path(servers[1], access)


def test_netns_vars_carry_the_controllers_python(tmp_path):
    access = resolve_access(TOPOLOGY, LAB, str(tmp_path))
    server = {'name': 'web', 'connection': {'type': 'cloudops.multicloud.netns', 'netns': 'cloudops-lab-vm-1'}}
    assert host_vars(server, access, '/usr/bin/python3') == {
        'ansible_connection': 'cloudops.multicloud.netns', 'ansible_host': 'cloudops-lab-vm-1',
        'ansible_python_interpreter': '/usr/bin/python3'}


@pytest.mark.parametrize('image, user', [('ubuntu-24.04', 'ubuntu'), ('debian-12-genericcloud', 'debian'),
                                         ('al2023-ami-2023.5', 'ec2-user'), ('cirros-tiny', 'cirros'), ('lab-host', 'root')])
def test_image_users(image, user):
    assert image_user(image) == user


def test_nothing_is_prepared_where_no_guest_is_reached(tmp_path):
    moto = dict(CLOUD, capabilities={'data_plane': False}, access=dict(CLOUD['access'], endpoint_host=None))
    access = resolve_access(TOPOLOGY, moto, str(tmp_path))
    assert access['mode'] == 'ssh' and 'servers' not in access and 'key_name' not in access


def test_a_server_with_a_key_of_its_own_is_not_given_the_run_key(tmp_path):
    access = resolve_access(dict(TOPOLOGY, access={'mode': 'ssh'}), LAB, str(tmp_path))
    own = {'name': 'web', 'public_ip': '198.18.0.5', 'key_name': 'ops'}
    assert 'IdentityFile' not in ssh_config([own], access)
    assert 'ansible_ssh_private_key_file' not in host_vars(own, access)
    assert 'IdentityFile' in ssh_config([dict(own, key_name='r1-access')], access)
