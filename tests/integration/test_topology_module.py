"""The topology module on the test lab: a plan shown, kept and applied; drift audited; two runs
with the same names side by side; bad topologies refused before anything is made."""

from __future__ import annotations

import copy
import json
import pathlib

import pytest
import yaml

from lab_helpers import LAB, lab_namespaces

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT = yaml.safe_load((ROOT / 'playbooks' / 'topologies' / 'default.yml').read_text())
KINDS = ('network', 'subnet', 'security_group', 'router', 'server', 'floating_ip')
NOTHING = {'create': 0, 'update': 0, 'replace': 0, 'delete': 0, 'unchanged': 0}


def topology(run_id='eng-a'):
    return dict(copy.deepcopy(DEFAULT), run_id=run_id)


def lab_counts(run):
    return run('cloud_info')['cloud']['counts']


def declared_resources():
    """(kind, name) of everything the default topology declares."""
    names = [('network', n['name']) for n in DEFAULT['networks']] + [('subnet', n['name']) for n in DEFAULT['networks']]
    names += [('security_group', g['name']) for g in DEFAULT['security_groups']]
    names += [('router', r['name']) for r in DEFAULT['routers']] + [('server', s['name']) for s in DEFAULT['servers']]
    return sorted(names + [('floating_ip', s['name']) for s in DEFAULT['servers'] if s.get('floating_ip')])


def test_a_plan_made_in_check_mode_is_shown_kept_and_applied_exactly(run, lab_clean, tmp_path):
    plan_file = tmp_path / 'plans' / 'eng-a.json'
    planned = run('topology', check=True, topology=topology(), plan_file=str(plan_file))
    assert planned['changed'] and planned['counts'] == dict(NOTHING, create=10)
    assert set(lab_counts(run).values()) == {0}, 'check mode created something'
    shown = planned['diff']['prepared']
    assert '  + network front\n' in shown and '      rules: ingress tcp/5432 from 10.10.1.0/24' in shown
    assert shown.rstrip().endswith('10 to create, 0 to update, 0 to replace, 0 to delete, 0 unchanged.')
    kept = json.loads(plan_file.read_text())
    assert [(s['action'], s['kind'], s['name']) for s in kept['steps']] == [
        (s['action'], s['kind'], s['name']) for s in planned['plan']]
    assert kept['fingerprint'] == planned['fingerprint'] and kept['run_id'] == 'eng-a' and kept['cloud'] == LAB

    applied = run('topology', apply_plan=str(plan_file))
    assert applied['changed'], applied.get('msg')
    made = sorted((kind, name) for kind, records in applied['resources'].items() for name in records)
    assert made == sorted((s['kind'], s['name']) for s in kept['steps']) == declared_resources()
    labelled = run('cloud_info', labels={'run-id': 'eng-a'})['resources']
    assert sorted(r['kind'] for r in labelled) == sorted(kind for kind, _name in made)
    assert [s['name'] for s in applied['servers']] == ['cache', 'db', 'web']
    assert next(s for s in applied['servers'] if s['name'] == 'web')['public_ip']

    again = run('topology', topology=topology())
    assert not again['changed'] and again['counts'] == dict(NOTHING, unchanged=10)


def test_a_plan_applied_after_a_change_behind_its_back_is_refused_in_one_line(run, lab_clean, tmp_path):
    run('topology', topology=topology())
    wider = topology()
    wider['security_groups'][0]['rules'].append({'proto': 'tcp', 'port': 80, 'remote': 'front'})
    plan_file = tmp_path / 'wider.json'
    planned = run('topology', check=True, topology=wider, plan_file=str(plan_file))
    assert planned['counts'] == dict(NOTHING, update=1, unchanged=9)
    assert run('security_group', name='db', rules=[{'protocol': 'icmp'}], labels={'run-id': 'eng-a'})['changed']

    refused = run('topology', apply_plan=str(plan_file))
    assert refused.get('failed') and '\n' not in refused['msg']
    assert refused['msg'].startswith('apply_plan: the resources of run eng-a changed since the plan was made')
    rules = run('topology', state='audit', topology=wider)['resources']['security_group']['db']['rules']
    assert [(r['protocol'], r['port_min']) for r in rules] == [('icmp', None)], 'the refused plan changed the group'


def test_audit_reports_every_kind_of_drift_and_none_when_untouched(run, lab_clean):
    run('topology', topology=topology())
    untouched = run('topology', state='audit', topology=topology(), fail_on_drift=True)
    assert not untouched['changed'] and untouched['drift'] == []
    assert [c['verdict'] for c in untouched['checks']] == ['pass'] * 10

    # Behind the topology's back, through the per-resource modules.
    ours = {'run-id': 'eng-a'}
    run('security_group', name='db', rules=[{'protocol': 'icmp'}, {'protocol': 'tcp', 'port': '22'}], labels=ours)
    run('server', name='cache', state='stopped', labels=ours)
    run('router', name='edge', interfaces=['front'], labels=ours)
    address = run('topology', state='audit', topology=topology())['resources']['floating_ip']['web']['address']
    assert run('floating_ip', address=address, server='cache')['changed']
    run('network', name='stray', labels=ours)

    audit = run('topology', state='audit', topology=topology())
    assert not audit['changed']
    drift = {(d['kind'], d['name']): (d['drift'], d['detail']) for d in audit['drift']}
    assert drift == {
        ('security_group', 'db'): ('differs', 'rule ingress tcp/22 from 0.0.0.0/0 added, '
                                              'rule ingress tcp/5432 from 10.10.1.0/24 removed'),
        ('server', 'cache'): ('differs', "server 'cache' is SHUTOFF"),
        ('router', 'edge'): ('differs', 'interfaces: back missing'),
        ('floating_ip', 'web'): ('differs', 'floating IP %s is on cache, declared on web' % address),
        ('network', 'stray'): ('not declared', 'labelled with run eng-a, not declared by the topology'),
    }
    failing = sorted(c['name'] for c in audit['checks'] if c['verdict'] == 'fail')
    assert failing == ['drift floating_ip web', 'drift network stray', 'drift router edge', 'drift security_group db',
                       'drift server cache']

    failed = run('topology', state='audit', topology=topology(), fail_on_drift=True)
    assert failed.get('failed') and failed['msg'].startswith('drift: 5 resources of run eng-a differ from the topology')
    assert len(failed['drift']) == 5

    healed = run('topology', topology=topology())
    assert healed['changed'] and healed['counts'] == dict(NOTHING, update=4, delete=1, unchanged=6)
    assert run('topology', state='audit', topology=topology())['drift'] == []


def test_two_runs_with_the_same_names_live_side_by_side_and_one_teardown_leaves_the_other(run, lab_clean):
    first = run('topology', topology=topology('eng-a'))
    second = run('topology', topology=topology('eng-b'))
    assert first['changed'] and second['changed'], second.get('msg')
    ids = {run_id: {r['id'] for records in result['resources'].values() for r in records.values()}
           for run_id, result in (('eng-a', first), ('eng-b', second))}
    assert len(ids['eng-a']) == len(ids['eng-b']) == 10 and not ids['eng-a'] & ids['eng-b']
    # The per-resource modules find each run's own by name, too.
    assert not run('network', name='front', labels={'run-id': 'eng-b'})['changed']
    assert run('server_info', name='db')['servers'][0]['name'] == 'db'

    gone = run('topology', run_id='eng-b', state='absent')
    assert gone['changed'] and gone['counts'] == dict(NOTHING, delete=10)
    assert run('topology', run_id='eng-b', state='absent')['changed'] is False
    kept = run('topology', state='audit', topology=topology('eng-a'))
    assert kept['drift'] == [] and {r['id'] for records in kept['resources'].values()
                                    for r in records.values()} == ids['eng-a']
    assert run('topology', run_id='eng-a', state='absent')['changed']
    assert lab_namespaces('cloudops-%s-vm-' % LAB) == []


@pytest.mark.parametrize('change, message', [
    (lambda t: t['routers'][0]['interfaces'].append('nowhere'),
     "topology.routers[0].interfaces[2]: 'nowhere' is not a network of the topology"),
    (lambda t: t['servers'].append({'name': 'web', 'network': 'front'}),
     "topology.servers[3].name: 'web' is declared twice"),
    (lambda t: t['networks'].append({'name': 'side', 'cidr': '10.10.1.128/25'}),
     "topology.networks[2].cidr: 10.10.1.128/25 overlaps network 'front' (10.10.1.0/24)"),
    (lambda t: t['servers'][1].update(network='nowhere'),
     "topology.servers[1].network: 'nowhere' is not a network of the topology"),
], ids=['router-on-no-network', 'duplicate-name', 'cidr-overlap', 'server-on-unknown-network'])
def test_a_bad_topology_is_refused_in_one_line_before_anything_is_made(run, lab_clean, change, message):
    bad = topology()
    change(bad)
    for check in (True, False):
        refused = run('topology', check=check, topology=bad)
        assert refused.get('failed') and refused['msg'] == message
        assert 'Traceback' not in refused.get('module_stderr', '')
    assert set(lab_counts(run).values()) == {0}
