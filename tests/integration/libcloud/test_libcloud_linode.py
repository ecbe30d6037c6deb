"""Linode (API v4) through the stock driver against libcloud's recorded responses.

Recorded: instances 22344420 (test_2) and 22344421 (test_1), what a create returns (TestNode),
key pair "My SSH Key" (id 42), region us-east. New instances need a root password, which the
clouds file gives under extra.create_node and which no output shows.
"""

from __future__ import annotations

import json

DRIVER = 'linode'
IMAGE = 'linode/centos7'
SIZE = 'g6-nanode-1'
ROOT_PASS = 'replay-linode-root-5t3p'


def posted(replay, path):
    return [json.loads(r['body']) for r in replay.requests('POST', path) if r['body']]


def test_server_info_reads_the_recorded_instances(run):
    servers = run('server_info')['servers']
    assert [(s['id'], s['name'], s['status']) for s in servers] == [('22344421', 'test_1', 'ACTIVE'), ('22344420', 'test_2', 'ACTIVE')]
    assert servers[1]['image'] == IMAGE and servers[1]['size'] == SIZE and servers[1]['public_ip'] == '138.89.34.81'
    assert servers[1]['labels'] == {'testing': '', '123': '', 'abcdefg': ''}


def test_image_size_and_cloud_info(run):
    assert run('image_info', name='Alpine 3.10')['images'][0]['id'] == 'linode/alpine3.10'
    assert run('size_info', name='Nanode 1GB')['sizes'][0]['id'] == SIZE
    assert 'us-east' in [loc['id'] for loc in run('cloud_info')['cloud']['locations']]


def test_server_create_sends_key_labels_and_the_root_password(run, replay):
    args = {'name': 'TestNode', 'image': IMAGE, 'size': SIZE, 'key_name': 'My SSH Key', 'labels': {'run-id': 'contract'}}
    assert run('server', check=True, **args)['changed'] and replay.requests('POST') == []
    created = run('server', wait=False, **args)
    assert created['changed'] and ROOT_PASS not in str(created)
    [body] = posted(replay, '/v4/linode/instances')
    assert body['label'] == 'TestNode' and body['region'] == 'us-east' and body['type'] == SIZE and body['image'] == IMAGE
    assert body['tags'] == ['run-id:contract'] and body['root_pass'] == ROOT_PASS
    assert body['authorized_keys'] == ['ssh-rsa AAAA_valid_public_ssh_key_123456785== user@their-computer']


def test_power_states_and_delete(run, replay):
    assert run('server', name='test_2', state='stopped', wait=False)['changed']
    assert run('server', name='test_2', state='rebooted', wait=False)['changed']
    assert [r['path'].split('?')[0] for r in replay.requests('POST')] == [
        '/v4/linode/instances/22344420/shutdown', '/v4/linode/instances/22344420/reboot']
    assert run('server', name='test_2', state='absent')['changed']
    assert [r['path'].split('?')[0] for r in replay.requests('DELETE')] == ['/v4/linode/instances/22344420']


def test_keypair_import(run, replay):
    key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcPk2c3Wq8oPqkqB8vJtH3a8yJ0yQm1KpZ3v4Hq7bXy deploy@replay'
    assert run('keypair', name='My SSH Key')['changed'] is False
    assert run('keypair', name='deploy', public_key=key)['changed']
    assert posted(replay, '/v4/profile/sshkeys') == [{'label': 'deploy', 'ssh_key': ' '.join(key.split()[:2])}]


def test_unsupported_and_bad_input(run, failure_line):
    assert failure_line(run('network', name='front')) == 'creating network is not supported on linode'
    msg = failure_line(run('server', name='TestNode', image=IMAGE, size=SIZE, security_groups=['web'], wait=False))
    assert msg == 'security_groups: attaching security groups to servers is not supported on linode'
    msg = failure_line(run('server', name='TestNode', image=IMAGE, size=SIZE, labels={'run-id': 7}, wait=False))
    assert msg == 'labels.run-id: label values are strings, got 7'
