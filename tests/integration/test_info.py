"""image_info, size_info and cloud_info on the lab."""

from __future__ import annotations

from lab_helpers import LAB


def test_image_info(run, lab_clean):
    images = run('image_info')
    assert images['changed'] is False
    assert {'lab-host', 'cirros'} <= {i['name'] for i in images['images']}
    assert [i['name'] for i in run('image_info', name='cirros')['images']] == ['cirros']
    assert run('image_info', name='windows')['images'] == []


def test_size_info(run, lab_clean):
    sizes = run('size_info')['sizes']
    small = [s for s in sizes if s['name'] == 'lab.small'][0]
    assert small['vcpus'] == 1 and small['ram_mb'] == 512
    assert run('size_info', name='lab.large')['sizes'][0]['vcpus'] == 4
    assert run('size_info', name='huge')['sizes'] == []


def test_cloud_info_lists_a_run_until_it_is_torn_down(run, lab_clean):
    labels = {'run-id': 't-cloud'}
    described = run('cloud_info', labels=labels)
    assert described['changed'] is False and described['resources'] == []
    assert described['cloud']['name'] == LAB and described['cloud']['provider'] == 'local'
    assert described['cloud']['external_networks'][0]['name'] == 'external'

    run('network', name='net', labels=labels)
    run('subnet', name='net', network='net', cidr='10.93.0.0/24', labels=labels)
    run('network', name='unlabelled')
    server = run('server', name='vm', networks=['net'], labels=dict(labels, tier='app'))['server']
    found = run('cloud_info', labels=labels)['resources']
    assert sorted((r['kind'], r['name']) for r in found) == [
        ('network', 'net'), ('server', 'vm'), ('subnet', 'net')]
    assert {'kind': 'server', 'id': server['id'], 'name': 'vm'} in found
    assert [r['name'] for r in run('cloud_info', labels=dict(labels, tier='app'))['resources']] == ['vm']
    assert ('network', 'unlabelled') in {(r['kind'], r['name']) for r in run('cloud_info')['resources']}
    assert run('cloud_info', labels=labels)['cloud']['counts']['servers'] == 1

    run('server', name='vm', state='absent', labels=labels)
    run('network', name='net', state='absent', labels=labels)
    assert run('cloud_info', labels=labels)['resources'] == []
