"""floating_ip on the lab: allocate, associate, detach, move and release, proven from the outside."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest

from lab_helpers import LAB, lab_provider


def outside_pings(address):
    return subprocess.run(['ip', 'netns', 'exec', 'cloudops-%s-outside' % LAB, 'ping', '-c', '1', '-W', '1',
                           address], capture_output=True, check=False).returncode == 0


def allocated():
    return sorted(f.address for f in lab_provider().list('floating_ip'))


@pytest.fixture
def routed(run, lab_clean):
    """Servers a and b on a subnet whose router has an external gateway; c on one without."""
    run('network', name='net')
    run('subnet', name='net', network='net', cidr='10.91.0.0/24')
    run('router', name='edge', interfaces=['net'], external_network='external')
    run('network', name='island')
    run('subnet', name='island', network='island', cidr='10.92.0.0/24')
    return {name: run('server', name=name, networks=[network])['server']
            for name, network in (('a', 'net'), ('b', 'net'), ('c', 'island'))}


def test_floating_ip_lifecycle(run, routed):
    checked = run('floating_ip', server='a', labels={'run-id': 't-fip'}, check=True)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert ipaddress.IPv4Address(checked['floating_ip']['address']) in ipaddress.IPv4Network('198.18.0.0/24')
    assert allocated() == [], 'check mode allocated'

    created = run('floating_ip', server='a', labels={'run-id': 't-fip'})
    fip = created['floating_ip']
    address = fip['address']
    assert created['changed'] and fip['status'] == 'ACTIVE' and fip['server'] == 'a'
    assert fip['fixed_address'] == routed['a']['private_ip'] and fip['router'] == 'edge'
    assert run('floating_ip', server='a', labels={'run-id': 't-fip'})['changed'] is False
    assert run('floating_ip', address=address, server='a')['changed'] is False
    assert run('floating_ip', address=address)['changed'] is False
    assert run('server', name='a', networks=['net'])['server']['public_ip'] == address
    assert outside_pings(address)

    assert run('floating_ip', address=address, state='detached', check=True)['changed']
    assert outside_pings(address), 'check mode detached'
    detached = run('floating_ip', address=address, state='detached')
    assert detached['changed'] and detached['floating_ip']['server'] is None
    assert detached['floating_ip']['status'] == 'DOWN' and detached['diff']['before']['server'] == 'a'
    assert not outside_pings(address)
    assert run('floating_ip', address=address, state='detached')['changed'] is False
    assert run('floating_ip', server='a', state='detached')['changed'] is False
    assert allocated() == [address]

    again = run('floating_ip', address=address, server='a')
    assert again['changed'] and again['floating_ip']['server'] == 'a'
    assert outside_pings(address)

    moved = run('floating_ip', address=address, server='b')
    assert moved['changed'] and moved['floating_ip']['fixed_address'] == routed['b']['private_ip']
    assert outside_pings(address)
    assert run('floating_ip', server='b')['floating_ip']['address'] == address

    by_server = run('floating_ip', server='b', state='detached')
    assert by_server['changed'] and by_server['floating_ip']['address'] == address
    assert not outside_pings(address)

    assert run('floating_ip', address=address, state='absent', check=True)['changed']
    assert allocated() == [address], 'check mode released'
    released = run('floating_ip', address=address, state='absent')
    assert released['changed'] and released['floating_ip'] is None
    assert released['diff']['before']['address'] == address
    assert run('floating_ip', address=address, state='absent')['changed'] is False
    assert allocated() == []


def test_specific_address_and_release_by_server(run, routed):
    wanted = run('floating_ip', address='198.18.0.200', state='detached')
    assert wanted['changed'] and wanted['floating_ip']['address'] == '198.18.0.200'
    assert wanted['floating_ip']['server'] is None
    assert run('floating_ip', address='198.18.0.200', state='detached')['changed'] is False
    associated = run('floating_ip', address='198.18.0.200', server='a')
    assert associated['changed'] and outside_pings('198.18.0.200')

    gateway = run('router', name='edge', external_network='')
    assert gateway['failed'] and gateway['msg'].startswith("router 'edge' routes floating IPs 198.18.0.200")
    assert outside_pings('198.18.0.200')

    deleted = run('floating_ip', server='a', state='absent')
    assert deleted['changed'] and deleted['diff']['before']['address'] == '198.18.0.200'
    assert not outside_pings('198.18.0.200') and allocated() == []
    assert run('floating_ip', server='a', state='absent')['changed'] is False


@pytest.mark.parametrize('args, message', [
    ({'server': 'ghost'}, "server: server 'ghost' does not exist"),
    ({'server': 'c'}, "server: 'c' is on no subnet that a router with an external gateway serves"),
    ({'address': '10.0.0.5'}, 'address: 10.0.0.5 is not a host address of 198.18.0.0/24'),
    ({'address': 'here'}, "address: 'here' is not an IPv4 address"),
    ({'address': '198.18.0.1'}, 'address: 198.18.0.1 is already in use'),
    ({'server': 'a', 'network': 'internet'}, "network: 'internet' is not an external network"),
    ({}, 'address: give the address of the floating IP or the server'),
    ({'state': 'absent'}, 'address: give the address of the floating IP or the server'),
])
def test_bad_input_changes_nothing(run, routed, args, message):
    for check in (True, False):
        failed = run('floating_ip', check=check, **args)
        assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
        assert '\n' not in failed['msg']
    assert allocated() == []


def test_server_with_a_floating_ip_takes_no_second(run, routed):
    first = run('floating_ip', server='a')['floating_ip']['address']
    other = run('floating_ip', address='198.18.0.201', state='detached')['floating_ip']['address']
    for check in (True, False):
        refused = run('floating_ip', check=check, address=other, server='a')
        assert refused['failed'] and refused['msg'] == "server: 'a' already has floating IP %s" % first
    assert run('floating_ip', address=other, state='detached')['changed'] is False
    wrong_net = run('floating_ip', address=first, network='internet')
    assert wrong_net['failed'] and wrong_net['msg'].startswith('network: floating IP %s is on network' % first)
