"""DigitalOcean (v2) through the stock driver against libcloud's recorded responses.

Recorded: one droplet 3164444 ("ubuntu-s-1vcpu-1gb-sfo3-01" in the listing, "example.com" as
created), key pair test1 (id 7717), regions nyc1 and sfo1, sizes 512mb and 1gb. The replay's
request log is the independent record of what the driver sent.
"""

from __future__ import annotations

import json

import pytest

from inventory_helpers import plain

DRIVER = 'digitalocean'
LISTED = 'ubuntu-s-1vcpu-1gb-sfo3-01'
TOKEN = 'replay-do-token-4c7q2m'
LOGIN_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMcPk2c3Wq8oPqkqB8vJtH3a8yJ0yQm1KpZ3v4Hq7bXy deploy@replay'


def posted(replay, path):
    return [json.loads(r['body']) for r in replay.requests('POST', path)]


def test_server_info_reads_the_recorded_droplet(run):
    servers = run('server_info')['servers']
    assert [(s['id'], s['name'], s['status']) for s in servers] == [('3164444', LISTED, 'ACTIVE')]
    server = servers[0]
    assert server['public_ip'] == '128.199.13.158' and server['private_ip'] == '10.124.0.2'
    assert server['size'] == 's-1vcpu-1gb' and server['labels'] == {}
    assert server['connection'] == {'type': 'ssh', 'host': '128.199.13.158', 'user': None}
    assert run('server_info', name='nothing-here')['servers'] == []


def test_inventory_has_the_droplet_in_the_common_shape(inventory):
    listed, output = inventory()
    (name, hostvars), = listed['_meta']['hostvars'].items()
    record = plain(hostvars['cloudops'])
    assert name == LISTED and 'was not listed' not in output
    assert record['addresses']['public'] == '128.199.13.158' and record['addresses']['private'] == '10.124.0.2'
    assert (record['id'], record['provider'], record['region'], record['state']) == ('3164444', 'libcloud', 'nyc1', 'ACTIVE')
    assert plain(hostvars['ansible_host']) == '128.199.13.158'


def test_image_and_size_info(run):
    sizes = {s['name']: s for s in run('size_info')['sizes']}
    assert set(sizes) == {'512mb', '1gb'}
    assert sizes['1gb']['ram_mb'] == 1024 and sizes['1gb']['vcpus'] == 2 and sizes['1gb']['disk_gb'] == 30
    images = run('image_info')['images']
    assert {'id': '449676376', 'name': '14.04 x32'}.items() <= [i for i in images if i['id'] == '449676376'][0].items()
    assert run('image_info', name='14.04 x64')['images'][0]['id'] == '119192817'


def test_cloud_info_lists_regions(run):
    cloud = run('cloud_info')['cloud']
    assert cloud['driver'] == 'digitalocean' and cloud['region'] == 'nyc1'
    assert [loc['id'] for loc in cloud['locations']] == ['nyc1', 'sfo1']
    assert cloud['capabilities']['keypairs'] and not cloud['capabilities']['networks']


def test_server_create_check_then_apply(run, replay):
    args = {'name': 'example.com', 'image': '449676376', 'size': '512mb', 'key_name': 'test1',
            'user_data': '#!/bin/sh\necho hi', 'labels': {'run-id': 'contract'}}
    checked = run('server', check=True, **args)
    assert checked['changed'] and checked['server']['status'] == 'ACTIVE'
    assert checked['server']['image'] == '14.04 x32' and checked['server']['size'] == '512mb'
    assert replay.requests('POST') == [], 'check mode created a droplet'

    created = run('server', **args)
    assert created['changed'] and created['server']['id'] == '3164444'
    assert posted(replay, '/v2/droplets') == [{
        'name': 'example.com', 'size': '512mb', 'image': '449676376', 'region': 'nyc1',
        'user_data': '#!/bin/sh\necho hi', 'tags': ['run-id:contract'], 'ssh_keys': [7717]}]


def test_server_already_listed_is_unchanged(run, replay):
    result = run('server', name=LISTED, image='20.04 (LTS) x64', size='s-1vcpu-1gb')
    assert result['changed'] is False and result['server']['id'] == '3164444'
    assert replay.requests('POST') == []


def test_server_delete(run, replay):
    checked = run('server', name=LISTED, state='absent', check=True)
    assert checked['changed'] and replay.requests('DELETE') == []
    deleted = run('server', name=LISTED, state='absent')
    assert deleted['changed'] and deleted['diff']['before'][LISTED]['id'] == '3164444'
    assert [r['path'].split('?')[0] for r in replay.requests('DELETE')] == ['/v2/droplets/3164444']


def test_bad_image_and_size_change_nothing(run, replay, failure_line):
    msg = failure_line(run('server', name='example.com', image='no-such-image', size='512mb'))
    assert msg.startswith("image: 'no-such-image' is not an image of digitalocean (")
    msg = failure_line(run('server', name='example.com', image='449676376', size='huge', check=True))
    assert msg == "size: 'huge' is not a size of digitalocean (2 known, e.g. 1gb, 512mb); see size_info"
    msg = failure_line(run('server', name='example.com', image='449676376', size='512mb', key_name='nope'))
    assert msg == "key_name: digitalocean has no key pair named 'nope' (it has test1)"
    assert replay.requests('POST') == []


def test_bad_credentials_are_one_line_without_the_token(run, replay, failure_line):
    replay.scenario('UNAUTHORIZED')
    result = run('server_info')
    msg = failure_line(result)
    assert msg == ('listing servers failed: digitalocean refused the credentials (HTTP 401): Unable to '
                   'authenticate you.; check key and secret in the clouds file')
    assert TOKEN not in str(result)


def test_unsupported_operations_name_the_driver(run, failure_line):
    assert failure_line(run('network', name='front')) == 'creating network is not supported on digitalocean'
    assert run('network', name='front', state='absent')['changed'] is False
    msg = failure_line(run('server', name='example.com', image='449676376', size='512mb', security_groups=['web']))
    assert msg == 'security_groups: attaching security groups to servers is not supported on digitalocean'
    msg = failure_line(run('server', name='example.com', image='449676376', size='512mb', networks=['front']))
    assert msg == 'networks: attaching servers to networks is not supported on digitalocean'


def test_keypair_lifecycle(run, replay):
    existing = run('keypair', name='test1', public_key='ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAQQDGk5 example')
    assert existing['changed'] is False and existing['keypair']['id'] == '7717'

    checked = run('keypair', name='deploy', public_key=LOGIN_KEY, check=True)
    assert checked['changed'] and checked['keypair']['public_key'] == ' '.join(LOGIN_KEY.split()[:2])
    assert replay.requests('POST') == []
    created = run('keypair', name='deploy', public_key=LOGIN_KEY)
    assert created['changed']
    assert posted(replay, '/v2/account/keys') == [{'name': 'deploy', 'public_key': ' '.join(LOGIN_KEY.split()[:2])}]

    deleted = run('keypair', name='test1', state='absent')
    assert deleted['changed'] and [r['path'].split('?')[0] for r in replay.requests('DELETE')] == ['/v2/account/keys/7717']


def test_keypair_labels_are_refused(run, failure_line):
    msg = failure_line(run('keypair', name='deploy', public_key=LOGIN_KEY, labels={'run-id': 'x'}))
    assert msg == 'labels: key pairs on digitalocean carry no labels; leave labels out'


def test_throttling_is_retried(run, replay):
    replay.fault(429, count=2, path='/v2/droplets')
    assert [s['id'] for s in run('server_info')['servers']] == ['3164444']
    assert [r['status'] for r in replay.requests('GET', '/v2/droplets')] == [429, 429, 200]


def test_server_errors_are_retried_up_to_api_retries(run, replay, failure_line):
    replay.fault(503, count=None, path='/v2/droplets')
    msg = failure_line(run('server_info', api_retries=1))
    assert msg == 'listing servers failed on digitalocean (HTTP 503): replayed fault: HTTP 503 (code: 503)'
    assert len(replay.requests('GET', '/v2/droplets')) == 2


def test_create_is_not_repeated_after_a_server_error(provider, replay):
    from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
    replay.fault(503, count=1, path='/v2/droplets')
    with pytest.raises(CloudError, match=r"^creating server 'example.com' failed on digitalocean \(HTTP 503\)"):
        provider().create('server', 'example.com', {'image': '449676376', 'size': '512mb'})
    assert len(replay.requests('POST', '/v2/droplets')) == 1


def test_bulk_create_sends_one_request_per_server(provider, replay):
    servers = provider().create_many('server', ['a', 'b', 'c'], {'image': '449676376', 'size': '1gb'})
    assert [s.id for s in servers] == ['3164444'] * 3
    assert sorted(p['name'] for p in posted(replay, '/v2/droplets')) == ['a', 'b', 'c']


@pytest.mark.parametrize('action, scenario, body', [
    ('reboot', 'REBOOT', {'type': 'reboot'}),
    ('stop', 'SHUTDOWN', {'type': 'shutdown'}),
    ('start', 'POWERON', {'type': 'power_on'}),
])
def test_power_actions(provider, replay, action, scenario, body):
    p = provider()
    record = p.list('server')[0].to_dict()
    p.check_action(record, action)
    replay.scenario(scenario)
    assert p.server_action(record, action).id == '3164444'
    assert posted(replay, '/v2/droplets/3164444/actions') == [body]


def test_keypair_generated_here_is_handed_out_once(run, replay):
    checked = run('keypair', name='generated', check=True)
    assert checked['changed'] and not checked['keypair'].get('private_key')
    created = run('keypair', name='generated')
    assert created['keypair']['private_key'].startswith('-----BEGIN OPENSSH PRIVATE KEY-----')
    assert 'private_key' not in created['diff']['after']
    [body] = posted(replay, '/v2/account/keys')
    assert body['name'] == 'generated' and body['public_key'].startswith('ssh-ed25519 ')
