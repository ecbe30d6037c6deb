"""network on the lab: check -> apply -> rerun -> delete -> delete again, plus refusals."""

from __future__ import annotations

from lab_helpers import LAB


def test_network_lifecycle(run, lab_clean):
    args = {'name': 'net-a', 'mtu': 1400, 'labels': {'run-id': 't-net'}}
    checked = run('network', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['network']['mtu'] == 1400
    assert run('network', check=True, **args)['changed'], 'check mode created something'

    created = run('network', **args)
    assert created['changed'] and created['network']['status'] == 'ACTIVE'
    assert created['network']['cidr'] is None
    assert run('network', **args)['changed'] is False

    bridge = 'br-' + created['network']['id'][:8]
    links = namespace_links()
    assert bridge in links and 'mtu 1400' in links[bridge]

    changed = run('network', name='net-a', mtu=1500, labels={'run-id': 't-net'})
    assert changed['changed'] and changed['diff']['before']['mtu'] == 1400
    assert 'mtu 1500' in namespace_links()[bridge]

    deleted_check = run('network', name='net-a', state='absent', check=True)
    assert deleted_check['changed'] and bridge in namespace_links()
    assert run('network', name='net-a', state='absent')['changed']
    assert run('network', name='net-a', state='absent')['changed'] is False


def test_network_in_use_is_refused_and_kept(run, lab_clean):
    run('network', name='busy')
    run('subnet', name='busy', network='busy', cidr='10.77.0.0/24')
    run('server', name='tenant', networks=['busy'])
    refused = run('network', name='busy', state='absent')
    assert refused['failed']
    assert refused['msg'].startswith("network 'busy' is in use by server 'tenant' (10.77.0.2)")
    assert '\n' not in refused['msg']
    assert run('subnet', name='busy', network='busy', cidr='10.77.0.0/24')['changed'] is False
    assert run('network', name='busy')['changed'] is False


def test_bad_mtu_changes_nothing(run, lab_clean):
    failed = run('network', name='tiny', mtu=100)
    assert failed['failed'] and failed['msg'] == "mtu: 100 is outside 576-9000"
    assert run('network', name='tiny', state='absent')['changed'] is False


def test_network_cidr_holds_its_subnets(run, lab_clean):
    created = run('network', name='ranged', cidr='10.60.0.0/16')
    assert created['changed'] and created['network']['cidr'] == '10.60.0.0/16'
    assert run('network', name='ranged', cidr='10.60.0.0/16')['changed'] is False
    assert run('network', name='ranged')['changed'] is False
    assert run('subnet', name='ranged-a', network='ranged', cidr='10.60.1.0/24')['changed']

    for check in (True, False):
        outside = run('subnet', name='ranged-b', network='ranged', cidr='10.61.1.0/24', check=check)
        assert outside['failed']
        assert outside['msg'] == "cidr: 10.61.1.0/24 is outside network 'ranged', whose range is 10.60.0.0/16"
    assert run('subnet', name='ranged-b', state='absent')['changed'] is False

    moved = run('network', name='ranged', cidr='10.70.0.0/16')
    assert moved['failed'] and moved['msg'].startswith("cidr: network 'ranged' has cidr '10.60.0.0/16'")
    assert '\n' not in moved['msg']
    assert run('network', name='ranged')['network']['cidr'] == '10.60.0.0/16'


def test_bad_cidr_changes_nothing(run, lab_clean):
    failed = run('network', name='odd', cidr='10.0.0.1/16')
    assert failed['failed'] and failed['msg'] == ("cidr: '10.0.0.1/16' is not a valid IPv4 network "
                                                  "(10.0.0.1/16 has host bits set)")
    assert run('network', name='odd', state='absent')['changed'] is False


def namespace_links():
    import subprocess
    out = subprocess.run(['ip', '-n', 'cloudops-%s-fabric' % LAB, '-o', 'link'], capture_output=True,
                         text=True, check=False).stdout
    return {line.split(': ')[1].split('@')[0]: line for line in out.splitlines()}
