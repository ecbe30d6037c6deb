"""server, floating_ip, keypair and the info modules on OpenStack (nova with its fake driver, neutron,
glance): bulk create, power states, changes in place, floating IPs; the openstack CLI confirms."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from inventory_helpers import plain

pytestmark = pytest.mark.usefixtures('os_clean')
LABELS = {'run-id': 't-srv'}
PUBLIC_KEY = Ed25519PrivateKey.generate().public_key().public_bytes(
    serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode() + ' test@cloudops'


@pytest.fixture
def routed(run):
    """A network with a subnet behind a router with a gateway on the external network."""
    run('network', name='app', labels=LABELS)
    run('subnet', name='app-s', network='app', cidr='10.9.0.0/24', labels=LABELS)
    run('router', name='app-r', interfaces=['app-s'], external_network='external', labels=LABELS)
    run('security_group', name='app-g', rules=[{'protocol': 'tcp', 'port': 22}], labels=LABELS)


def inventory_hosts(clouds_file, source_dir):
    """{host: (id, ansible_host, state)} as ansible-inventory lists openstack-local through the clouds plugin."""
    source = pathlib.Path(source_dir) / 'openstack.clouds.yml'
    source.write_text(yaml.safe_dump({'plugin': 'cloudops.multicloud.clouds', 'clouds_file': clouds_file,
                                      'clouds': ['openstack-local'], 'fail_on_errors': True}))
    proc = subprocess.run([str(pathlib.Path(sys.executable).with_name('ansible-inventory')), '-i', str(source), '--list'],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    hostvars = {name: plain(v) for name, v in json.loads(proc.stdout)['_meta']['hostvars'].items()}
    return {name: (v['cloudops']['id'], v['ansible_host'], v['cloudops']['state']) for name, v in hostvars.items()}


def test_servers_bulk_lifecycle(run, osc, routed, openstack_clouds_file, tmp_path):
    assert run('keypair', name='ops', public_key=PUBLIC_KEY)['changed']
    args = {'name': 'web', 'count': 3, 'image': 'cirros-tiny', 'size': 'm1.tiny', 'networks': ['app'],
            'security_groups': ['app-g'], 'key_name': 'ops', 'user_data': '#!/bin/sh\necho hi\n',
            'floating_ip': True, 'labels': LABELS}
    checked = run('server', check=True, **args)
    assert checked['changed'] and [s['name'] for s in checked['servers']] == ['web-1', 'web-2', 'web-3']
    assert osc('server', 'list') == [] and osc('floating', 'ip', 'list') == []

    created = run('server', **args)
    assert created['changed'], created.get('msg')
    servers = {s['name']: s for s in created['servers']}
    assert sorted(servers) == ['web-1', 'web-2', 'web-3']
    listed = {s['Name']: s for s in osc('server', 'list', '--long')}
    fips = {f['Fixed IP Address']: f['Floating IP Address'] for f in osc('floating', 'ip', 'list')}
    for name, server in servers.items():
        assert server['status'] == 'ACTIVE' and listed[name]['ID'] == server['id'] and listed[name]['Status'] == 'ACTIVE'
        assert server['image'] == 'cirros-tiny' and server['size'] == 'm1.tiny' and server['key_name'] == 'ops'
        assert server['security_groups'] == ['app-g'] and server['labels'] == LABELS
        assert server['networks'][0]['network'] == 'app' and server['networks'][0]['subnet'] == 'app-s'
        assert server['private_ip'].startswith('10.9.0.') and fips[server['private_ip']] == server['public_ip']
        shown = osc('server', 'show', server['id'])
        assert shown['key_name'] == 'ops' and shown['properties'] == LABELS
    assert run('server', **args)['changed'] is False
    assert run('server', names=['web-1', 'web-2', 'web-3'], networks=['app'], labels=LABELS)['changed'] is False
    assert inventory_hosts(openstack_clouds_file, tmp_path) == {
        name: (s['id'], s['public_ip'], 'ACTIVE') for name, s in servers.items()}

    run('security_group', name='app-h', rules=[{'protocol': 'icmp'}])
    changed = run('server', name='web-1', security_groups=['app-g', 'app-h'], labels={'run-id': 't-srv', 'role': 'a'})
    assert changed['changed'] and changed['server']['security_groups'] == ['app-g', 'app-h']
    assert changed['server']['labels'] == {'run-id': 't-srv', 'role': 'a'}
    assert osc('server', 'show', servers['web-1']['id'])['properties'] == {'run-id': 't-srv', 'role': 'a'}
    port = osc('port', 'list', '--server', servers['web-1']['id'], '--long')[0]
    assert sorted(port['Security Groups']) == sorted(g['ID'] for g in osc('security', 'group', 'list')
                                                     if g['Name'] in ('app-g', 'app-h'))

    moved = run('server', name='web-1', networks=['other'], labels=LABELS)
    assert moved['failed'] and moved['msg'].startswith("networks: server 'web-1' is attached to app (10.9.0.")

    stopped = run('server', name='web-2', state='stopped', labels=LABELS)
    assert stopped['changed'] and stopped['server']['status'] == 'SHUTOFF'
    assert osc('server', 'show', servers['web-2']['id'])['status'] == 'SHUTOFF'
    assert run('server', name='web-2', state='stopped', labels=LABELS)['changed'] is False
    assert run('server', name='web-2', state='started', labels=LABELS)['server']['status'] == 'ACTIVE'
    rebooted = run('server', name='web-2', state='rebooted', labels=LABELS)
    assert rebooted['changed'] and rebooted['server']['status'] == 'ACTIVE'

    info = run('server_info', labels=LABELS)
    assert [s['name'] for s in info['servers']] == ['web-1', 'web-2', 'web-3']

    gone_check = run('server', name='web', count=3, floating_ip=True, state='absent', labels=LABELS, check=True)
    assert gone_check['changed'] and len(osc('server', 'list')) == 3
    gone = run('server', name='web', count=3, floating_ip=True, state='absent', labels=LABELS)
    assert gone['changed'] and osc('server', 'list') == [] and osc('floating', 'ip', 'list') == []
    assert run('server', name='web', count=3, floating_ip=True, state='absent', labels=LABELS)['changed'] is False


def test_floating_ip_allocate_associate_detach_release(run, osc, routed):
    run('server', name='solo', networks=['app'], labels=LABELS)
    assert run('floating_ip', server='solo', network='external', labels=LABELS, check=True)['changed']
    assert osc('floating', 'ip', 'list') == []
    associated = run('floating_ip', server='solo', network='external', labels=LABELS)
    fip = associated['floating_ip']
    address = fip['address']
    assert associated['changed'] and fip['server'] == 'solo' and fip['status'] == 'ACTIVE' and fip['router'] == 'app-r'
    assert fip['network'] == 'external' and fip['labels'] == LABELS
    shown = osc('floating', 'ip', 'show', address)
    assert shown['fixed_ip_address'] == fip['fixed_address'] and shown['status'] == 'ACTIVE'
    assert 'run-id=t-srv' in shown['tags']
    assert run('floating_ip', server='solo', labels=LABELS)['changed'] is False

    second = run('floating_ip', server='solo', address='198.18.100.250')
    assert second['failed'] and "server: 'solo' already has floating IP %s" % address in second['msg'], second['msg']

    detached = run('floating_ip', address=address, state='detached')
    assert detached['changed'] and detached['floating_ip']['server'] is None
    assert osc('floating', 'ip', 'show', address)['port_id'] is None
    assert run('floating_ip', address=address, state='detached')['changed'] is False
    again = run('floating_ip', address=address, server='solo')
    assert again['changed'] and again['floating_ip']['server'] == 'solo'
    assert osc('floating', 'ip', 'show', address)['port_id'] is not None

    assert run('floating_ip', address=address, state='absent', check=True)['changed']
    released = run('floating_ip', address=address, state='absent')
    assert released['changed'] and osc('floating', 'ip', 'list') == []
    assert run('floating_ip', address=address, state='absent')['changed'] is False


def test_a_server_on_a_named_subnet_gets_a_port_that_goes_with_it(run, osc, routed):
    run('subnet', name='app-t', network='app', cidr='10.9.1.0/24', labels=LABELS)
    args = {'name': 'pinned', 'networks': [{'name': 'app', 'subnet': 'app-t', 'fixed_ip': '10.9.1.20'}],
            'security_groups': ['app-g'], 'labels': LABELS}
    created = run('server', **args)
    assert created['changed'] and created['server']['networks'][0] == {
        'network': 'app', 'subnet': 'app-t', 'address': '10.9.1.20', 'interface': 'eth0'}, created
    port = osc('port', 'list', '--server', created['server']['id'], '--long')[0]
    assert port['Fixed IP Addresses'][0]['ip_address'] == '10.9.1.20' and port['Name'] == 'pinned-eth0'
    assert run('server', **args)['changed'] is False
    taken = run('server', name='second', networks=[{'name': 'app', 'fixed_ip': '10.9.1.20'}])
    assert taken['failed'] and taken['msg'] == "networks[0].fixed_ip: 10.9.1.20 is already in use on network 'app'"
    assert run('server', name='pinned', state='absent', labels=LABELS)['changed']
    assert [p['Name'] for p in osc('port', 'list', '--network', 'app') if p['Name'] == 'pinned-eth0'] == []


def test_keypairs(run, osc):
    imported = run('keypair', name='imported', public_key=PUBLIC_KEY)
    assert imported['changed'] and imported['keypair']['public_key'] == ' '.join(PUBLIC_KEY.split()[:2])
    assert osc('keypair', 'show', 'imported')['name'] == 'imported'
    assert run('keypair', name='imported', public_key=PUBLIC_KEY)['changed'] is False
    generated = run('keypair', name='made')
    assert generated['changed'] and generated['keypair']['private_key'].startswith('-----BEGIN OPENSSH PRIVATE KEY')
    assert osc('keypair', 'show', 'made', '--public-key', parse=False).strip() == generated['keypair']['public_key']
    assert 'private_key' not in run('keypair', name='made')['keypair']
    labelled = run('keypair', name='labelled', labels=LABELS)
    assert labelled['failed'] and labelled['msg'].startswith('labels: OpenStack key pairs carry no labels')
    for name in ('imported', 'made'):
        assert run('keypair', name=name, state='absent')['changed']
        assert run('keypair', name=name, state='absent')['changed'] is False
    assert osc('keypair', 'list') == []


def test_what_the_cloud_offers(run, osc):
    images = run('image_info')['images']
    assert 'cirros-tiny' in [i['name'] for i in images]
    assert sorted(i['ID'] for i in osc('image', 'list')) == sorted(i['id'] for i in images)
    sizes = run('size_info')['sizes']
    flavors = {f['Name']: f for f in osc('flavor', 'list')}
    assert sorted(s['name'] for s in sizes) == sorted(flavors)
    tiny = [s for s in sizes if s['name'] == 'm1.tiny'][0]
    assert tiny['ram_mb'] == flavors['m1.tiny']['RAM'] and tiny['vcpus'] == flavors['m1.tiny']['VCPUs']
    cloud = run('cloud_info')['cloud']
    assert cloud['provider'] == 'openstack' and cloud['region'] == 'RegionOne'
    assert cloud['capabilities']['data_plane'] is True and cloud['capabilities']['bulk_create'] is True
    # The controller is on the provider network as the address its clouds file's ssh_from names.
    assert [n['upstream_address'] for n in cloud['external_networks']] == ['198.18.100.1']
