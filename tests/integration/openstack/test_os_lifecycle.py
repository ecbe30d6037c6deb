"""The lifecycle playbook on openstack-local as the README runs it: the topology shipped for that
cloud is provisioned, every check passes on its OVN data plane over SSH, the report is written and
teardown leaves nothing: the openstack CLI finds nothing of the run, and no guest is left."""

from __future__ import annotations

import json

import pytest

from leftover_helpers import openstack_left_behind as left_behind
from lifecycle_helpers import ROOT, lifecycle

GUESTS = ROOT / 'tests' / 'clouds' / 'openstack' / '.state' / 'guests'


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
