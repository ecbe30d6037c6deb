"""router on the lab: lifecycle, interfaces and external gateway in the kernel, refusals."""

from __future__ import annotations

import ipaddress
import subprocess

from lab_helpers import LAB, lab_namespaces


def router_netns(router):
    return 'cloudops-%s-router-%s' % (LAB, router['id'][:8])


def addresses(netns):
    """{interface: [address/prefix, ...]} of a namespace."""
    out = subprocess.run(['ip', '-n', netns, '-o', '-4', 'addr'], capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in out.splitlines():
        fields = line.split()
        found.setdefault(fields[1], []).append(fields[3])
    return found


def addresses_on(netns, prefix):
    return sorted(a for name, addrs in addresses(netns).items() if name.startswith(prefix) for a in addrs)


def outside_pings(address):
    return subprocess.run(['ip', 'netns', 'exec', 'cloudops-%s-outside' % LAB, 'ping', '-c', '1', '-W', '1',
                           address], capture_output=True, check=False).returncode == 0


def make_subnets(run, *specs):
    for name, cidr in specs:
        run('network', name=name)
        run('subnet', name=name, network=name, cidr=cidr)


def test_router_lifecycle(run, lab_clean):
    make_subnets(run, ('front', '10.71.0.0/24'), ('back', '10.72.0.0/24'))
    args = {'name': 'edge', 'interfaces': ['front'], 'labels': {'run-id': 't-router'}}
    checked = run('router', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['router']['interfaces'] == ['front']
    assert not lab_namespaces('cloudops-%s-router-' % LAB), 'check mode made a router'

    created = run('router', **args)
    assert created['changed'] and created['router']['status'] == 'ACTIVE'
    assert created['router']['external_network'] is None
    assert run('router', **args)['changed'] is False
    netns = router_netns(created['router'])
    assert addresses_on(netns, 'qr-') == ['10.71.0.1/24']
    forward = subprocess.run(['ip', 'netns', 'exec', netns, 'sysctl', '-n', 'net.ipv4.ip_forward'],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert forward == '1'

    both = run('router', name='edge', interfaces=['front', 'back'])
    assert both['changed'] and both['router']['interfaces'] == ['back', 'front']
    assert both['diff']['before']['interfaces'] == ['front']
    assert addresses_on(netns, 'qr-') == ['10.71.0.1/24', '10.72.0.1/24']
    assert run('router', name='edge', interfaces=['back', 'front', 'back'])['changed'] is False
    assert run('router', name='edge', labels={'tier': 'edge'})['router']['interfaces'] == ['back', 'front']

    assert run('router', name='edge', interfaces=['back'], check=True)['changed']
    assert addresses_on(netns, 'qr-') == ['10.71.0.1/24', '10.72.0.1/24'], 'check mode detached'
    only_back = run('router', name='edge', interfaces=['back'])
    assert only_back['changed'] and only_back['router']['interfaces'] == ['back']
    assert addresses_on(netns, 'qr-') == ['10.72.0.1/24']

    assert run('router', name='edge', state='absent', check=True)['changed']
    assert netns in lab_namespaces()
    deleted = run('router', name='edge', state='absent')
    assert deleted['changed'] and deleted['router'] is None
    assert netns not in lab_namespaces()
    assert run('router', name='edge', state='absent')['changed'] is False


def test_external_gateway(run, lab_clean):
    make_subnets(run, ('front', '10.73.0.0/24'))
    created = run('router', name='edge', interfaces=['front'])
    netns = router_netns(created['router'])

    assert run('router', name='edge', external_network='', check=True)['changed'] is False
    assert run('router', name='edge', external_network='')['changed'] is False

    assert run('router', name='edge', external_network='external', check=True)['changed']
    assert addresses_on(netns, 'qg-') == []
    gateway = run('router', name='edge', external_network='external')
    assert gateway['changed'] and gateway['router']['external_network'] == 'external'
    address = gateway['router']['external_address']
    assert ipaddress.IPv4Address(address) in ipaddress.IPv4Network('198.18.0.0/24')
    assert addresses_on(netns, 'qg-') == [address + '/24']
    assert outside_pings(address)
    assert run('router', name='edge', external_network='external')['changed'] is False
    kept = run('router', name='edge', interfaces=['front'])
    assert kept['changed'] is False and kept['router']['external_address'] == address

    wrong = run('router', name='edge', external_network='internet')
    assert wrong['failed'] and wrong['msg'].startswith("external_network: 'internet' is not an external network")

    removed = run('router', name='edge', external_network='')
    assert removed['changed'] and removed['router']['external_network'] is None
    assert removed['router']['external_address'] is None
    assert addresses_on(netns, 'qg-') == [] and not outside_pings(address)
    assert run('router', name='edge', external_network='')['changed'] is False
    assert addresses_on(netns, 'qr-') == ['10.73.0.1/24']

    fresh = run('router', name='other', external_network='external')
    assert fresh['changed'] and outside_pings(fresh['router']['external_address'])


def test_subnet_of_another_router_is_refused(run, lab_clean):
    make_subnets(run, ('front', '10.74.0.0/24'), ('back', '10.75.0.0/24'))
    run('router', name='edge', interfaces=['front'])
    run('router', name='core', interfaces=['back'])
    for check in (True, False):
        refused = run('router', check=check, name='core', interfaces=['back', 'front'])
        assert refused['failed'], refused
        assert refused['msg'] == "interfaces[1]: subnet 'front' is already attached to router 'edge'"
        refused = run('router', check=check, name='third', interfaces=['back'])
        assert refused['failed'], refused
        assert refused['msg'] == "interfaces[0]: subnet 'back' is already attached to router 'core'"
    assert run('router', name='core', interfaces=['back'])['changed'] is False
    assert run('router', name='third', state='absent')['changed'] is False
    missing = run('router', name='core', interfaces=['nowhere'])
    assert missing['failed'] and missing['msg'].startswith("interfaces[0]: subnet 'nowhere' does not exist")
    busy = run('subnet', name='front', state='absent')
    assert busy['failed'] and busy['msg'].startswith("subnet 'front' is in use by router 'edge' (10.74.0.1)")
