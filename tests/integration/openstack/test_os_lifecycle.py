"""The lifecycle playbook on openstack-local: provision, validate (no data plane: the fake driver's
servers are records), report, tear down; the openstack CLI then finds nothing of the run left."""

from __future__ import annotations

import json

import pytest

from lifecycle_helpers import lifecycle


def left_behind(osc, run_id):
    """Every object labelled with the run id that still exists, by kind, as the openstack CLI lists them."""
    tag = 'run-id=%s' % run_id
    found = {kind: [item['ID'] for item in osc(*argv, '--tags', tag)]
             for kind, argv in (('networks', ('network', 'list')), ('subnets', ('subnet', 'list')),
                                ('routers', ('router', 'list')), ('floating_ips', ('floating', 'ip', 'list')),
                                ('security_groups', ('security', 'group', 'list')))}
    found['servers'] = [s['ID'] for s in osc('server', 'list', '--long')
                        if 'run-id' in str(s.get('Properties')) and run_id in str(s.get('Properties'))]
    return {kind: ids for kind, ids in found.items() if ids}


@pytest.mark.usefixtures('os_clean')
def test_lifecycle_provisions_reports_and_leaves_nothing(openstack_clouds_file, osc, tmp_path):
    run_id = 'pytest-os-default'
    proc = lifecycle(openstack_clouds_file, 'openstack-local', 'default.yml', run_id, tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert 'No data-plane check runs on openstack-local: the clouds file does not set data_plane: true' in proc.stdout
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['run']['id'] == run_id and report['run']['cloud'] == 'openstack-local'
    assert report['run']['data_plane'] is False and report['summary']['verdict'] == 'pass'
    for name in ('junit.xml', 'report.html'):
        assert (tmp_path / name).is_file()
    made = {r['kind'] for r in json.loads((tmp_path / 'manifest.json').read_text())['resources']}
    assert made == {'network', 'subnet', 'router', 'security_group', 'server', 'floating_ip'}, made
    assert left_behind(osc, run_id) == {}
