"""network and subnet on OpenStack (neutron): check mode, apply, rerun, labels, MTU, cidr, refusals;
the openstack CLI confirms."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures('os_clean')


def test_network_and_subnet_lifecycle(run, osc):
    args = {'name': 'net-a', 'mtu': 1400, 'cidr': '10.40.0.0/16', 'labels': {'run-id': 't-net'}}
    checked = run('network', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {} and checked['network']['mtu'] == 1400
    assert osc('network', 'list', '--name', 'net-a') == [], 'check mode created a network'

    created = run('network', **args)
    network = created['network']
    assert created['changed'] and network['status'] == 'ACTIVE' and network['mtu'] == 1400
    assert network['labels'] == {'run-id': 't-net'} and network['cidr'] == '10.40.0.0/16' and not network['external']
    shown = osc('network', 'show', network['id'])
    assert shown['name'] == 'net-a' and shown['mtu'] == 1400 and 'run-id=t-net' in shown['tags']
    assert run('network', **args)['changed'] is False

    subnet_args = {'name': 'sub-a', 'network': 'net-a', 'cidr': '10.40.1.0/24', 'labels': {'run-id': 't-net'}}
    assert run('subnet', check=True, **subnet_args)['subnet']['gateway_ip'] == '10.40.1.1'
    assert osc('subnet', 'list', '--name', 'sub-a') == []
    subnet = run('subnet', **subnet_args)
    assert subnet['changed'] and subnet['subnet']['cidr'] == '10.40.1.0/24' and subnet['subnet']['network'] == 'net-a'
    assert osc('subnet', 'show', subnet['subnet']['id'])['gateway_ip'] == '10.40.1.1'
    assert run('subnet', **subnet_args)['changed'] is False
    assert run('network', name='net-a', labels={'run-id': 't-net'})['network']['subnets'] == ['sub-a']

    changed = run('network', name='net-a', mtu=1300, labels={'run-id': 't-net', 'tier': 'front'})
    assert changed['changed'] and changed['diff']['before']['mtu'] == 1400 and changed['network']['mtu'] == 1300
    shown = osc('network', 'show', network['id'])
    assert shown['mtu'] == 1300 and 'tier=front' in shown['tags']

    assert run('subnet', name='sub-a', state='absent', check=True)['changed']
    assert len(osc('subnet', 'list', '--name', 'sub-a')) == 1
    assert run('subnet', name='sub-a', state='absent')['changed']
    assert run('subnet', name='sub-a', state='absent')['changed'] is False
    assert run('network', name='net-a', state='absent', check=True)['changed']
    deleted = run('network', name='net-a', state='absent')
    assert deleted['changed'] and deleted['network'] is None
    assert osc('network', 'list', '--name', 'net-a') == []
    assert run('network', name='net-a', state='absent')['changed'] is False


def test_the_external_network_is_listed_and_left_alone(run):
    info = run('cloud_info')
    external = info['cloud']['external_networks']
    assert [n['name'] for n in external] == ['public'] and external[0]['cidr']
    for args in ({'name': 'public', 'state': 'absent'}, {'name': 'public', 'mtu': 1400}):
        refused = run('network', **args)
        assert refused['failed'] and 'is an external network of cloud openstack-local' in refused['msg']
    refused = run('network', name='external')
    assert refused['failed'] and refused['msg'].startswith("name: 'external' names the cloud's external network")


def test_subnet_refusals_change_nothing(run, osc):
    run('network', name='net-b', cidr='10.50.0.0/16')
    run('subnet', name='sub-b', network='net-b', cidr='10.50.1.0/24')
    for args, message in (
            ({'network': 'nowhere', 'cidr': '10.50.2.0/24'}, "network: network 'nowhere' does not exist on cloud openstack-local"),
            ({'network': 'net-b', 'cidr': '10.60.0.0/24'}, "cidr: 10.60.0.0/24 is outside network 'net-b', whose range is 10.50.0.0/16"),
            ({'network': 'net-b', 'cidr': '10.50.1.128/25'}, 'cidr: 10.50.1.128/25 overlaps'),
            ({'network': 'public', 'cidr': '10.70.0.0/24'}, "network: 'public' is an external network"),
            ({'network': 'net-b', 'cidr': '10.50.3.0/24', 'labels': {'a': 'x,y'}}, 'labels.a: neutron tags may not contain ","')):
        for check in (True, False):
            failed = run('subnet', name='sub-c', check=check, **args)
            assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
            assert '\n' not in failed['msg']
    assert [s['Name'] for s in osc('subnet', 'list', '--network', 'net-b')] == ['sub-b']


def test_a_network_in_use_is_not_deleted(run, osc):
    run('network', name='net-c')
    run('subnet', name='sub-c', network='net-c', cidr='10.80.1.0/24')
    run('router', name='edge-c', interfaces=['sub-c'])
    for kind in ('network', 'subnet'):
        refused = run(kind, name=kind[:3] + '-c', state='absent')
        assert refused['failed'] and "is in use by router 'edge-c' (10.80.1.1)" in refused['msg'], refused['msg']
    assert len(osc('network', 'list', '--name', 'net-c')) == 1
    run('router', name='edge-c', state='absent')
    assert run('network', name='net-c', state='absent')['changed']
    assert osc('subnet', 'list', '--name', 'sub-c') == []
