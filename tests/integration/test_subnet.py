"""subnet on the lab: check -> apply -> rerun -> delete -> delete again, plus refusals."""

from __future__ import annotations

import pytest


def test_subnet_lifecycle(run, lab_clean):
    run('network', name='net-s')
    args = {'name': 'sub-a', 'network': 'net-s', 'cidr': '10.61.0.0/24', 'labels': {'run-id': 't-sub'}}
    checked = run('subnet', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['subnet']['gateway_ip'] == '10.61.0.1'
    assert run('subnet', check=True, **args)['changed'], 'check mode created something'

    created = run('subnet', **args)
    assert created['changed']
    assert created['subnet']['cidr'] == '10.61.0.0/24' and created['subnet']['network'] == 'net-s'
    assert run('subnet', **args)['changed'] is False
    assert run('network', name='net-s')['network']['subnets'] == ['sub-a']

    relabelled = run('subnet', name='sub-a', labels={'tier': 'db'})
    assert relabelled['changed'] and relabelled['subnet']['labels'] == {'run-id': 't-sub', 'tier': 'db'}

    custom = run('subnet', name='sub-b', network='net-s', cidr='10.62.0.0/28', gateway_ip='10.62.0.14')
    assert custom['changed'] and custom['subnet']['gateway_ip'] == '10.62.0.14'

    assert run('subnet', name='sub-a', state='absent', check=True)['changed']
    assert run('subnet', name='sub-a', **{'network': 'net-s'})['changed'] is False, 'check mode deleted'
    deleted = run('subnet', name='sub-a', state='absent')
    assert deleted['changed'] and deleted['subnet'] is None
    assert deleted['diff']['before']['cidr'] == '10.61.0.0/24'
    assert run('subnet', name='sub-a', state='absent')['changed'] is False
    assert run('network', name='net-s')['network']['subnets'] == ['sub-b']


@pytest.mark.parametrize('cidr, message', [
    ('10.0.0.1/24', "cidr: '10.0.0.1/24' is not a valid IPv4 network"),
    ('300.1.1.0/24', "cidr: '300.1.1.0/24' is not a valid IPv4 network"),
    ('10.0.0.0/30', 'cidr: 10.0.0.0/30 is too small'),
    ('10.63.0.128/25', "cidr: 10.63.0.128/25 overlaps subnet 'taken' (10.63.0.0/24)"),
    ('198.18.0.0/25', 'cidr: 198.18.0.0/25 overlaps the external network'),
    ('', "cidr: '' is not a valid IPv4 network"),
])
def test_bad_cidr_changes_nothing(run, lab_clean, cidr, message):
    run('network', name='net-s')
    run('subnet', name='taken', network='net-s', cidr='10.63.0.0/24')
    for check in (True, False):
        failed = run('subnet', check=check, name='bad', network='net-s', cidr=cidr)
        assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
        assert '\n' not in failed['msg']
    assert run('subnet', name='bad', state='absent')['changed'] is False
    assert run('network', name='net-s')['network']['subnets'] == ['taken']


@pytest.mark.parametrize('args, message', [
    ({'network': 'nowhere'}, "network: network 'nowhere' does not exist in lab"),
    ({}, 'network: a subnet needs the name of its network'),
    ({'network': 'external'}, 'network: '),
    ({'network': 'net-s', 'gateway_ip': '10.64.1.1'}, 'gateway_ip: 10.64.1.1 is not a host address of 10.64.0.0/24'),
    ({'network': 'net-s', 'labels': {'run-id': 7}}, 'labels.run-id: label values are strings'),
])
def test_bad_reference_changes_nothing(run, lab_clean, args, message):
    run('network', name='net-s')
    for check in (True, False):
        failed = run('subnet', check=check, name='bad', cidr='10.64.0.0/24', **args)
        assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
        assert '\n' not in failed['msg']
    assert run('network', name='net-s')['network']['subnets'] == []


def test_cidr_of_existing_subnet_is_refused(run, lab_clean):
    run('network', name='net-s')
    run('subnet', name='fixed', network='net-s', cidr='10.65.0.0/24')
    for check in (True, False):
        refused = run('subnet', check=check, name='fixed', network='net-s', cidr='10.65.1.0/24')
        assert refused['failed'] and refused['msg'].startswith("cidr: subnet 'fixed' has cidr '10.65.0.0/24'")
        assert '\n' not in refused['msg']
    kept = run('subnet', name='fixed', network='net-s', cidr='10.65.0.0/24')
    assert kept['changed'] is False and kept['subnet']['cidr'] == '10.65.0.0/24'
