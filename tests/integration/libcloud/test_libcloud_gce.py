"""Google Compute Engine through the stock driver against libcloud's recorded responses.

Recorded: project project_name, zone us-central1-a with instance node-name (the listing) and
lcnode-000 (what a create returns), networks cf, custom and default (plus lcnetwork, which a
create returns). The service account signs in through the replay too (its token endpoint).
"""

from __future__ import annotations

import json

import pytest

DRIVER = 'gce'
IMAGE = 'debian-7-wheezy-v20131120'
SIZE = 'n1-standard-1'
INSTANCES = '/zones/us-central1-a/instances'


def posted(replay, path):
    return [json.loads(r['body']) for r in replay.requests('POST', path)]


def test_server_info_reads_the_recorded_instance(run):
    servers = run('server_info')['servers']
    assert [(s['id'], s['name'], s['status']) for s in servers] == [('4006034190819017667', 'node-name', 'ACTIVE')]
    server = servers[0]
    assert server['image'] == IMAGE and server['size'] == SIZE and server['labels'] == {}
    assert server['private_ip'] == '10.240.72.75' and server['public_ip'] == '23.236.58.15'
    assert server['networks'] == [{'network': 'default', 'subnet': None, 'address': '10.240.72.75', 'interface': 'eth0'}]


def test_image_and_size_info(run):
    assert [i['name'] for i in run('image_info', name=IMAGE)['images']] == [IMAGE]
    size = run('size_info', name=SIZE)['sizes'][0]
    assert size['vcpus'] == 1 and size['ram_mb'] == 3840
    assert len(run('size_info')['sizes']) == 23


def test_server_create_check_then_apply(run, replay):
    args = {'name': 'lcnode-000', 'image': IMAGE, 'size': SIZE, 'networks': ['default'],
            'user_data': 'echo booted', 'labels': {'run-id': 'contract'}}
    checked = run('server', check=True, **args)
    assert checked['changed'] and checked['server']['image'] == IMAGE and checked['server']['size'] == SIZE
    assert replay.requests('POST', INSTANCES) == [], 'check mode created an instance'

    created = run('server', **args)
    assert created['changed'] and created['server']['id'] == '17170905942674172532'
    assert created['server']['name'] == 'lcnode-000' and created['server']['status'] == 'ACTIVE'
    [body] = posted(replay, INSTANCES)
    assert body['name'] == 'lcnode-000' and body['labels'] == {'run-id': 'contract'}
    assert body['machineType'].endswith('/machineTypes/' + SIZE)
    assert body['disks'][0]['initializeParams']['sourceImage'].endswith('/images/' + IMAGE)
    assert body['networkInterfaces'][0]['network'].endswith('/global/networks/default')
    assert {'key': 'startup-script', 'value': 'echo booted'} in body['metadata']['items']


def test_server_already_listed_is_unchanged_then_relabelled(run, replay):
    assert run('server', name='node-name', image=IMAGE, size=SIZE)['changed'] is False
    assert replay.requests('POST', INSTANCES) == []
    relabelled = run('server', name='node-name', labels={'tier': 'web'})
    assert relabelled['changed']
    assert posted(replay, INSTANCES + '/node-name/setLabels')[0]['labels'] == {'tier': 'web'}


def test_server_stop_and_delete(run, replay):
    stopped = run('server', name='node-name', state='stopped', wait=False)
    assert stopped['changed'] and len(replay.requests('POST', INSTANCES + '/node-name/stop')) == 1
    deleted = run('server', name='node-name', state='absent')
    assert deleted['changed'] and deleted['diff']['before']['node-name']['id'] == '4006034190819017667'
    assert [r['path'] for r in replay.requests('DELETE')] == ['/compute/v1/projects/project_name' + INSTANCES + '/node-name']


def test_bad_image_changes_nothing(run, replay, failure_line):
    msg = failure_line(run('server', name='lcnode-000', image='debian-7', size=SIZE))
    assert msg.startswith("image: 'debian-7' is not an image of gce (52 known, e.g. ")
    msg = failure_line(run('server', name='lcnode-000', image=IMAGE, size=SIZE, networks=['nope']))
    assert msg == "networks[0].name: gce has no network named 'nope' (it has cf, custom, default)"
    assert replay.requests('POST', INSTANCES) == []


def test_bad_credentials_are_one_line(run, replay, failure_line):
    replay.fault(401, count=None)
    msg = failure_line(run('server_info'))
    assert 'gce refused the credentials (HTTP 401)' in msg and msg.endswith('check key and secret in the clouds file')


def test_keypairs_are_not_supported(run, failure_line):
    assert run('keypair', name='deploy', state='absent')['changed'] is False
    assert failure_line(run('keypair', name='deploy')) == 'creating keypair is not supported on gce'


def test_network_lifecycle(run, replay, provider, failure_line):
    assert run('network', name='default')['changed'] is False
    checked = run('network', name='lcnetwork', check=True)
    assert checked['changed'] and checked['network']['mtu'] == 1460
    assert replay.requests('POST') == []

    created = run('network', name='lcnetwork')
    assert created['changed'] and created['network']['id'] == '16211908079305042870'
    assert posted(replay, '/global/networks') == [{'name': 'lcnetwork', 'description': None, 'autoCreateSubnetworks': True}]

    msg = failure_line(run('network', name='lcnetwork2', labels={'run-id': 'x'}))
    assert msg == 'labels: networks on gce carry no labels; leave labels out'

    # lcnetwork is not in the recorded listing, so no module finds it to delete: ask the provider.
    provider().delete('network', created['network'])
    assert [r['path'] for r in replay.requests('DELETE')] == ['/compute/v1/projects/project_name/global/networks/lcnetwork']


def test_server_errors_are_retried(provider, replay):
    replay.fault(503, count=2, path=INSTANCES)
    assert [s.name for s in provider().list('server')] == ['node-name']
    assert [r['status'] for r in replay.requests('GET', INSTANCES)] == [503, 503, 200]


def test_unknown_create_option_is_named(provider):
    from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
    p = provider(settings={'extra': {'project': 'project_name', 'datacenter': 'us-central1-a', 'auth_type': 'SA',
                                     'credential_file': provider().settings['extra']['credential_file'],
                                     'create_node': {'ex_colour': 'blue'}}})
    with pytest.raises(CloudError, match=r'^extra\.create_node\.ex_colour: gce creates servers without such an argument'):
        p.check_create('server', 'lcnode-000', {'image': IMAGE, 'size': SIZE})
