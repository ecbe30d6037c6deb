"""The lifecycle playbook on openstack-local as the README runs it: the topology shipped for that
cloud is provisioned, every check passes on its OVN data plane over SSH, the report is written and
teardown leaves nothing: the openstack CLI finds nothing of the run, and no guest is left."""

from __future__ import annotations

import json

import pytest

from lifecycle_helpers import ROOT, lifecycle

GUESTS = ROOT / 'tests' / 'clouds' / 'openstack' / '.state' / 'guests'


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
def test_lifecycle_provisions_validates_reports_and_leaves_nothing(openstack_clouds_file, osc, tmp_path):
    run_id = 'pytest-os-lifecycle'
    proc = lifecycle(openstack_clouds_file, 'openstack-local', None, run_id, tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['run']['id'] == run_id and report['run']['cloud'] == 'openstack-local'
    # playbooks/topologies/openstack-local.yml, picked for the cloud.
    assert [n['mtu'] for n in report['run']['topology']['networks']] == [1442, 1400]
    assert report['run']['data_plane'] is True and report['run']['access'] == 'ssh'
    assert report['summary']['verdict'] == 'pass', report['summary']['failed_checks']
    assert set(report['summary']['by_kind']) == {'reachability', 'path_mtu', 'throughput', 'floating_ip',
                                                 'security_group', 'sla'}
    observed = {c['name']: c['observed'] for c in report['checks']}
    # neutron's geneve MTU on front, the declared 1400 on back and across the router.
    assert observed['pmtu web->cache'] == 1442 and observed['pmtu web->db'] == 1400
    for name in ('junit.xml', 'report.html'):
        assert (tmp_path / name).is_file()
    made = {r['kind'] for r in json.loads((tmp_path / 'manifest.json').read_text())['resources']}
    assert made == {'network', 'subnet', 'router', 'security_group', 'server', 'floating_ip'}, made
    assert left_behind(osc, run_id) == {}
    assert list(GUESTS.iterdir()) == []
