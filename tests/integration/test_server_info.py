"""server_info on the lab: filters by name, labels and status, and changes nothing."""

from __future__ import annotations


def test_server_info_filters(run, lab_clean):
    assert run('server_info')['servers'] == []
    run('network', name='net')
    run('subnet', name='net', network='net', cidr='10.92.0.0/24')
    run('server', name='web', count=2, networks=['net'], labels={'run-id': 't-info', 'tier': 'web'})
    run('server', name='db', networks=['net'], labels={'run-id': 't-info', 'tier': 'db'}, state='stopped')
    run('server', name='stray', networks=['net'])

    every = run('server_info')
    assert every['changed'] is False
    assert [s['name'] for s in every['servers']] == ['db', 'stray', 'web-1', 'web-2']

    assert [s['name'] for s in run('server_info', name='web-2')['servers']] == ['web-2']
    assert run('server_info', name='web')['servers'] == [], 'name is exact'
    run_servers = run('server_info', labels={'run-id': 't-info'})['servers']
    assert [s['name'] for s in run_servers] == ['db', 'web-1', 'web-2']
    tier = run('server_info', labels={'run-id': 't-info', 'tier': 'web'})['servers']
    assert [s['name'] for s in tier] == ['web-1', 'web-2']
    assert run('server_info', labels={'run-id': 'other'})['servers'] == []

    stopped = run('server_info', status='SHUTOFF')['servers']
    assert [(s['name'], s['connection']['pid']) for s in stopped] == [('db', None)]
    active = run('server_info', status='ACTIVE', labels={'run-id': 't-info'})['servers']
    assert [s['name'] for s in active] == ['web-1', 'web-2']
    assert all(s['connection']['pid'] for s in active)

    checked = run('server_info', check=True, labels={'run-id': 't-info'})
    assert checked['changed'] is False and checked['servers'] == run_servers
