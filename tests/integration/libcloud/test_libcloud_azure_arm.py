"""Azure Resource Manager through the stock driver against libcloud's recorded responses.

Recorded: tenant 77777777-..., subscription 99999999, resource group 000000, VMs test-node-1 and
test-node-2 (on two pages of the listing), location eastus with sizes Standard_A0-A2. Every call
signs in first (the recorded token has expired), through the replay as well. Azure records no
image listing, so images are named by their URN (publisher:offer:sku:version).
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from inventory_helpers import plain

DRIVER = 'azure_arm'
IMAGE = 'OpenLogic:CentOS:7.3:latest'
VMS = '/resourceGroups/000000/providers/Microsoft.Compute/virtualMachines/'
SECRET = 'replay-azure-secret-9f3k'


def test_server_info_follows_every_page(run, replay):
    servers = run('server_info')['servers']
    assert [(s['name'], s['status'], s['private_ip']) for s in servers] == [
        ('test-node-1', 'BUILD', '10.0.0.1'), ('test-node-2', 'BUILD', '10.0.0.2')]
    assert servers[0]['image'] == IMAGE and servers[0]['size'] == 'Standard_A1'
    assert servers[0]['id'].endswith(VMS + 'test-node-1')
    assert any('skiptoken' in r['path'] for r in replay.requests('GET', '/virtualMachines'))


def test_inventory_lists_every_page(inventory, replay):
    listed, output = inventory()
    hosts = {name: plain(vars_) for name, vars_ in listed['_meta']['hostvars'].items()}
    assert sorted(hosts) == ['test-node-1', 'test-node-2'] and 'was not listed' not in output
    record = hosts['test-node-1']['cloudops']
    assert (record['provider'], record['region'], record['state'], record['size']) == (
        'libcloud', 'eastus', 'BUILD', 'Standard_A1')
    assert record['id'].endswith(VMS + 'test-node-1') and hosts['test-node-1']['ansible_host'] == '10.0.0.1'
    assert set(listed['cloud_azure_replay']['hosts']) == set(hosts) == set(listed['state_build']['hosts'])
    assert any('skiptoken' in r['path'] for r in replay.requests('GET', '/virtualMachines'))


def test_size_info_and_image_info(run, failure_line):
    assert [s['name'] for s in run('size_info')['sizes']] == ['Standard_A0', 'Standard_A1', 'Standard_A2']
    msg = failure_line(run('image_info'))
    assert msg.startswith('listing images failed on azure_arm (HTTP 404): [NotFound] no recorded response')


def test_server_check_mode_validates_a_new_vm(run, replay, failure_line):
    checked = run('server', name='web-1', image=IMAGE, size='Standard_A1', labels={'run-id': 'contract'}, check=True)
    assert checked['changed'] and checked['server']['image'] == IMAGE and checked['server']['labels'] == {'run-id': 'contract'}
    assert replay.requests('PUT') == [], 'check mode created a VM'
    msg = failure_line(run('server', name='web-1', image=IMAGE, size='Standard_Z9', check=True))
    assert msg == "size: 'Standard_Z9' is not a size of azure_arm (3 known, e.g. Standard_A0, Standard_A1, Standard_A2); see size_info"
    msg = failure_line(run('server', name='web-1', image=IMAGE, size='Standard_A1', key_name='deploy', check=True))
    assert msg.startswith('key_name: azure_arm keeps no key pairs; give the login key as extra.create_node.auth')


def test_server_relabel_and_delete(run, replay):
    relabelled = run('server', name='test-node-1', labels={'tier': 'web'})
    assert relabelled['changed']
    [patch] = replay.requests('PATCH', VMS + 'test-node-1')
    assert json.loads(patch['body']) == {'tags': {'tier': 'web'}}

    deleted = run('server', name='test-node-1', state='absent')
    assert deleted['changed']
    paths = [r['path'].split('?')[0] for r in replay.requests('DELETE')]
    assert paths[0].endswith(VMS + 'test-node-1')
    assert any(p.endswith('/networkInterfaces/test-node-1-nic') for p in paths)
    assert any(p.endswith('/disks/test-node-disk-1') for p in paths)
    # The driver waits for the VM to go before removing its NIC: the replay answered 404 once it was deleted.
    assert 404 in [r['status'] for r in replay.requests('GET', VMS + 'test-node-1')]


def test_create_sends_the_vm_the_settings_give(provider, replay):
    server = provider().create('server', 'test-node-1', {'image': IMAGE, 'size': 'Standard_A1', 'labels': {'run-id': 'contract'}})
    assert server.name == 'test-node-1' and server.status == 'BUILD' and server.private_ip == '10.0.0.1'
    [vm] = [json.loads(r['body']) for r in replay.requests('PUT', '/virtualMachines/test-node-1')]
    assert vm['tags'] == {'run-id': 'contract'} and vm['location'] == 'eastus'
    assert vm['properties']['hardwareProfile'] == {'vmSize': 'Standard_A1'}
    assert vm['properties']['storageProfile']['imageReference'] == {
        'publisher': 'OpenLogic', 'offer': 'CentOS', 'sku': '7.3', 'version': 'latest'}
    ssh = vm['properties']['osProfile']['linuxConfiguration']['ssh']['publicKeys'][0]
    assert ssh['keyData'].startswith('ssh-ed25519 ')
    [nic] = replay.requests('PUT', '/networkInterfaces/test-node-1-nic')
    assert '/virtualnetworks/000000/subnets/default' in nic['body']


def test_waiting_for_running_is_bounded(provider):
    with pytest.raises(CloudError, match=r"^timeout: server 'test-node-1' did not reach running within 2s on azure_arm "
                                         r"\(it is updating\)$"):
        provider(wait=True, timeout=2).create('server', 'test-node-1', {'image': IMAGE, 'size': 'Standard_A1'})


def test_missing_create_options_are_named(provider, settings):
    desired = {'image': IMAGE, 'size': 'Standard_A1'}
    extra = {k: v for k, v in settings['extra'].items() if k != 'create_node'}
    with pytest.raises(CloudError, match=r'^extra\.create_node\.auth: azure_arm needs a login for a new server; set auth: '
                                         r'\{ssh_key: "<public key>"\} under extra\.create_node in the clouds file$'):
        provider(settings={'extra': extra}).check_create('server', 'web-1', desired)
    extra['create_node'] = {'auth': settings['extra']['create_node']['auth']}
    with pytest.raises(CloudError, match=r'^extra\.create_node\.ex_resource_group: azure_arm creates servers only with '
                                         r'ex_resource_group; set it in the clouds file$'):
        provider(settings={'extra': extra}).check_create('server', 'web-1', desired)


def test_bad_credentials_are_one_line_without_the_secret(run, replay, failure_line):
    replay.fault(401, count=None, path='/oauth2/token')
    result = run('server_info')
    msg = failure_line(result)
    assert msg.startswith("connecting to cloud 'azure-replay' failed: azure_arm refused the credentials (HTTP 401)")
    assert SECRET not in str(result)
    assert SECRET in replay.requests('POST', '/oauth2/token')[0]['body'], 'the secret was sent, and only there'


def test_unsupported_operations_name_the_driver(run, failure_line):
    assert failure_line(run('keypair', name='deploy')) == 'creating keypair is not supported on azure_arm'
    assert run('network', name='test_network')['changed'] is False
    assert failure_line(run('network', name='front')) == 'creating network is not supported on azure_arm'
    assert failure_line(run('floating_ip', server='test-node-1')).endswith('is not supported on azure_arm')
