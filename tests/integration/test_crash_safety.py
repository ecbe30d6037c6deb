"""A provision killed with SIGKILL at any point leaves nothing that teardown by run id, or the
reaper, cannot find and delete: checked with ip and nft, not with the collection's own view."""

from __future__ import annotations

import json
import os

import pytest

from lab_helpers import LAB, PREFIX, assert_host_clean, lab_namespaces
from lifecycle_helpers import killed_while, playbook

STATE = '/run/cloudops-multicloud/%s/state.json' % LAB
# Three networks, twelve servers in three bulk groups, six floating IPs: every stage lasts long
# enough to be caught in the middle.
TOPOLOGY = """
run_id: crash
networks:
  - {name: a, cidr: 10.61.1.0/24}
  - {name: b, cidr: 10.61.2.0/24}
  - {name: c, cidr: 10.61.3.0/24}
routers:
  - {name: edge, interfaces: [a, b, c], external: true}
security_groups:
  - name: db
    rules: [{proto: tcp, port: 5432, remote: a}]
servers:
  - {name: web, network: a, count: 6, floating_ip: true}
  - {name: app, network: b, count: 4}
  - {name: db, network: c, count: 2, security_groups: [db]}
"""


def lab_records(run_id='crash'):
    """{kind's plural: [records of the run]} as the lab has them on disk."""
    try:
        with open(STATE) as handle:
            state = json.load(handle)
    except (OSError, ValueError):
        return {}
    return {plural: [r for r in records.values() if r.get('labels', {}).get('run-id') == run_id]
            for plural, records in state.items() if isinstance(records, dict)}


def lab_netns():
    return lab_namespaces('%s%s-' % (PREFIX, LAB))


# When to kill: a look at the run's records and the lab's VMs that says the stage is under way.
STAGES = {
    'after-networks': lambda records, vms: records.get('networks') and not records.get('servers'),
    'during-servers': lambda records, vms: 1 < vms < 7,  # inside the first bulk create
    'during-floating-ips': lambda records, vms: 0 < len(records.get('floating_ips') or []) < 6,
}


def provision_killed(clouds_file, tmp_path, stage):
    """Start provision.yml and SIGKILL it, with every process it started, once ``stage`` is seen."""
    topology = tmp_path / 'crash.yml'
    topology.write_text(TOPOLOGY)
    killed_while(clouds_file, LAB, topology, tmp_path,
                 lambda: STAGES[stage](lab_records(), len(lab_namespaces('%s%s-vm-' % (PREFIX, LAB)))), stage)


# Another run on the same lab, with the same names: teardown of the killed run must find all of
# its own and leave this one as it was.
BYSTANDER = {'run_id': 'bystander', 'networks': [{'name': 'a', 'cidr': '10.61.1.0/24'}],
             'routers': [{'name': 'edge', 'interfaces': ['a'], 'external': True}],
             'servers': [{'name': 'web-1', 'network': 'a', 'floating_ip': True}]}


@pytest.mark.parametrize('stage', sorted(STAGES))
def test_teardown_by_run_id_leaves_nothing_after_a_killed_provision(run, clouds_file, lab_clean, tmp_path, stage):
    bystander = run('topology', topology=BYSTANDER)
    assert bystander['changed'], bystander.get('msg')
    before = lab_netns()
    provision_killed(clouds_file, tmp_path, stage)
    assert any(lab_records().values()), 'the kill left nothing to clean up'

    proc = playbook('teardown.yml', clouds_file, LAB, 'crash')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert lab_netns() == before
    assert run('topology', state='audit', topology=BYSTANDER)['drift'] == []
    assert run('topology', run_id='bystander', state='absent')['changed']
    assert_host_clean(LAB)
    assert not os.path.exists(STATE)


def test_the_reaper_deletes_what_a_killed_provision_left_once_its_lease_ends(clouds_file, lab_clean, tmp_path):
    provision_killed(clouds_file, tmp_path, 'during-servers')
    early = playbook('reap.yml', clouds_file, LAB, 'crash', '-e', '{"clouds": ["%s"]}' % LAB)
    assert early.returncode == 0 and '%s: nothing has expired' % LAB in early.stdout, early.stdout[-3000:]
    later = playbook('reap.yml', clouds_file, LAB, 'crash', '-e', '{"clouds": ["%s"]}' % LAB,
                     '-e', 'as_of=2099-01-01T00:00:00Z')
    assert later.returncode == 0, later.stdout[-3000:]
    assert 'expired resources of runs crash deleted' in later.stdout
    assert_host_clean(LAB)
