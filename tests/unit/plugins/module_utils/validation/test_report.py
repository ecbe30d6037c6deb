"""Report building: observed outcomes against expected verdicts, and what a fault fails."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.plan import validation_plan
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report import build_report, observation

TOPOLOGY = {
    'run_id': 'r1',
    'networks': [{'name': 'front', 'cidr': '10.10.1.0/24'}, {'name': 'back', 'cidr': '10.10.2.0/24', 'mtu': 1400}],
    'security_groups': [{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 5432, 'remote': 'front'}, {'proto': 'icmp'}]}],
    'servers': [{'name': 'web', 'network': 'front', 'floating_ip': True}, {'name': 'db', 'network': 'back', 'security_groups': ['db']}],
    'expect': [{'from': 'web', 'to': 'db', 'proto': 'tcp', 'port': 5432, 'verdict': 'allow'},
               {'from': 'web', 'to': 'db', 'proto': 'tcp', 'port': 22, 'verdict': 'deny'}],
}
SERVERS = [{'name': 'web', 'networks': [{'network': 'front', 'address': '10.10.1.2'}], 'private_ip': '10.10.1.2',
            'public_ip': '198.18.0.2'},
           {'name': 'db', 'networks': [{'network': 'back', 'address': '10.10.2.2'}], 'private_ip': '10.10.2.2'}]
PLAN = validation_plan(TOPOLOGY, SERVERS, '198.18.0.1')
RUN = {'id': 'r1', 'cloud': 'lab'}
PROBED = ('path_mtu',)


def healthy_probes(overrides=None, answerers=None):
    """What a healthy network answers; ``overrides`` maps a flow id to a different outcome,
    ``answerers`` to the server that answered it instead of its destination."""
    runs = []
    for probe in PLAN['probes']:
        results = []
        for target in probe['targets']:
            flow = next(f for f in PLAN['flows'] if f['id'] == target['name'])
            outcome = 'connected' if flow['expected'] == 'allow' else 'timeout'
            outcome = (overrides or {}).get(target['name'], outcome)
            answerer = (answerers or {}).get(target['name'], target.get('expect'))
            results.append({'name': target['name'], 'outcome': outcome, 'rtt_ms': [0.04, 0.05] if outcome == 'connected' else [],
                            'path_mtu': flow['mtu'] if outcome == 'connected' else None, 'detail': '',
                            'answered_by': {'name': answerer, 'id': None} if outcome == 'connected' and answerer else None})
        runs.append({'item': probe, 'results': results, 'changed': False})
    return runs


def names(report, verdict):
    return sorted(c['name'] for c in report['checks'] if c['verdict'] == verdict)


def test_a_healthy_network_passes_every_check():
    report = build_report(RUN, PLAN, kinds=PROBED, probes=healthy_probes(), sla=[{'metric': 'rtt_ms', 'stat': 'p99', 'max': 1}])
    assert names(report, 'fail') == []
    assert report['summary']['verdict'] == 'pass'
    assert 'reach web->db tcp/22' in names(report, 'pass') and 'pmtu web->db' in names(report, 'pass')
    assert report['summary']['by_kind']['sla'] == {'passed': 1, 'failed': 0}


def test_a_denied_port_that_connects_fails_only_its_check():
    report = build_report(RUN, PLAN, kinds=PROBED, probes=healthy_probes({'web->db tcp/22': 'connected'}))
    assert names(report, 'fail') == ['reach web->db tcp/22']
    failed = next(c for c in report['checks'] if c['verdict'] == 'fail')
    assert failed['reason'] == 'expected deny, got connected' and failed['observed'] == 'connected'


def test_a_wrong_path_mtu_fails_the_pmtu_check():
    runs = healthy_probes()
    for run in runs:
        for result in run['results']:
            if result['name'] == 'db->web icmp':
                result['path_mtu'] = 1300
    report = build_report(RUN, PLAN, kinds=PROBED, probes=runs)
    assert names(report, 'fail') == ['pmtu db->web']
    assert 'path MTU is 1300, the topology declares 1400' in report['checks'][[c['name'] for c in report['checks']].index('pmtu db->web')]['reason']


def test_a_source_that_could_not_probe_fails_its_flows_with_the_reason():
    runs = healthy_probes()
    runs[0] = {'item': runs[0]['item'], 'unreachable': True, 'msg': 'VM db is stopped\nmore'}
    report = build_report(RUN, PLAN, kinds=PROBED, probes=runs)
    assert names(report, 'fail') == ['pmtu db->web', 'reach db->web icmp']
    assert all(c['reason'] == 'not probed: VM db is stopped' for c in report['checks'] if c['verdict'] == 'fail')


def test_samples_and_stats_per_pair():
    report = build_report(RUN, PLAN, probes=healthy_probes())
    rtt = [s for s in report['stats'] if s['metric'] == 'rtt_ms' and s['labels']['src'] == 'web']
    assert rtt and rtt[0]['count'] == 2 and rtt[0]['p50'] == 0.045
    assert any(s['metric'] == 'tcp_connect_ms' for s in report['samples'])


def test_floating_ip_phases_and_throughput():
    fips = [{'server': 'web', 'phase': 'reachable', 'outcome': 'timeout'},
            {'server': 'web', 'phase': 'detached', 'outcome': 'timeout'},
            {'server': 'web', 'phase': 'reattached', 'outcome': 'connected'}]
    throughput = [{'item': dict(PLAN['throughput'][0]), 'gbps': 15.2, 'changed': False},
                  {'item': dict(PLAN['throughput'][1]), 'gbps': 0.9, 'loss_pct': 3.1, 'changed': False},
                  {'item': dict(PLAN['throughput'][2]), 'failed': True, 'msg': 'unable to connect to server'}]
    report = build_report(RUN, PLAN, probes=healthy_probes(), floating_ips=fips, throughput=throughput)
    failed = names(report, 'fail')
    assert 'fip web reachable' in failed and 'fip web detached' not in failed and 'fip web reattached' not in failed
    kinds = {c['name']: c for c in report['checks'] if c['kind'] == 'throughput'}
    path = PLAN['throughput'][0]['path']
    assert kinds['throughput %s tcp' % path]['verdict'] == 'pass' and kinds['throughput %s udp' % path]['verdict'] == 'pass'
    assert [s['metric'] for s in report['samples'] if s['labels'].get('tool') == 'iperf3'] == ['tcp_gbps', 'udp_gbps', 'udp_loss_pct']


def test_security_group_change_records_the_apply_time():
    changes = [{'group': 'db', 'phase': 'added', 'outcome': 'connected', 'seconds': 0.004},
               {'group': 'db', 'phase': 'removed', 'outcome': 'connected', 'seconds': None}]
    report = build_report(RUN, PLAN, kinds=('security_group',), probes=healthy_probes(), security_group_changes=changes)
    assert names(report, 'fail') == ['sg db rule removed']
    assert [s['value'] for s in report['samples'] if s['metric'] == 'sg_apply_s'] == [0.004]


def test_checks_a_run_did_not_make_are_not_judged_but_unrun_ones_it_did_fail():
    sla = [{'metric': 'tcp_gbps', 'min': 1}, {'metric': 'rtt_ms', 'max': 1}]
    report = build_report(RUN, PLAN, kinds=(), probes=healthy_probes(), sla=sla)
    assert {c['kind'] for c in report['checks']} == {'reachability', 'sla'}
    assert [c['name'] for c in report['checks'] if c['kind'] == 'sla'] == ['sla rtt_ms avg any']
    report = build_report(RUN, PLAN, probes=healthy_probes())
    assert 'fip web reachable' in names(report, 'fail') and 'sg db rule added' in names(report, 'fail')
    assert next(c for c in report['checks'] if c['name'] == 'fip web reachable')['reason'] == 'not probed'


def test_observation_of_a_registered_probe():
    assert observation({'results': [{'outcome': 'connected', 'detail': '', 'seconds': 0.1}]}, {'phase': 'x'}) == \
        {'phase': 'x', 'outcome': 'connected', 'detail': '', 'seconds': 0.1, 'answered_by': None}
    assert observation({'results': [{'outcome': 'connected', 'answered_by': {'name': 'db', 'id': '1'}}]}, {})[
        'answered_by'] == {'name': 'db', 'id': '1'}
    assert observation({'unreachable': True, 'msg': 'gone'}, {'phase': 'x'})['detail'] == 'gone'
    assert observation({'failed': False, 'msg': 'bad target'}, {})['detail'] == 'bad target'


def check(report, name):
    return next(c for c in report['checks'] if c['name'] == name)


def test_the_right_server_answering_passes_and_is_labelled():
    report = build_report(RUN, PLAN, kinds=PROBED, probes=healthy_probes())
    assert names(report, 'fail') == []
    assert check(report, 'reach web->db tcp/5432')['labels']['answered_by'] == 'db'
    assert 'answered_by' not in check(report, 'reach web->db icmp')['labels']
    assert all('answered_by' not in s['labels'] for s in report['samples']), 'samples stay grouped by pair'


def test_another_server_answering_fails_allow_and_deny_flows_alike():
    probes = healthy_probes(overrides={'web->db tcp/22': 'connected'},
                            answerers={'web->db tcp/5432': 'stale-vm', 'web->db tcp/22': 'stale-vm'})
    report = build_report(RUN, PLAN, kinds=PROBED, probes=probes)
    assert names(report, 'fail') == ['reach web->db tcp/22', 'reach web->db tcp/5432']
    for name in ('reach web->db tcp/22', 'reach web->db tcp/5432'):
        failed = check(report, name)
        assert failed['reason'] == 'answered by stale-vm (expected db)'
        assert failed['observed'] == 'connected' and failed['labels']['answered_by'] == 'stale-vm'


def test_a_responder_without_identity_is_judged_on_the_outcome():
    report = build_report(RUN, PLAN, kinds=PROBED, probes=healthy_probes(answerers={'web->db tcp/5432': None}))
    assert names(report, 'fail') == []
    assert 'answered_by' not in check(report, 'reach web->db tcp/5432')['labels']


def test_a_floating_ip_that_reaches_another_server_fails():
    other = {'name': 'cache', 'id': 'c1'}
    fips = [{'server': 'web', 'phase': 'reachable', 'outcome': 'connected', 'answered_by': other},
            {'server': 'web', 'phase': 'detached', 'outcome': 'connected', 'answered_by': other},
            {'server': 'web', 'phase': 'reattached', 'outcome': 'connected', 'answered_by': {'name': 'web', 'id': 'w1'}}]
    report = build_report(RUN, PLAN, kinds=('floating_ip',), probes=healthy_probes(), floating_ips=fips)
    assert names(report, 'fail') == ['fip web detached', 'fip web reachable']
    assert check(report, 'fip web reachable')['reason'] == 'answered by cache (expected web)'
    assert check(report, 'fip web detached')['reason'] == 'answered by cache (expected web)'
    assert check(report, 'fip web reattached')['labels']['answered_by'] == 'web'


def test_a_security_group_change_that_reaches_another_server_fails_without_an_apply_time():
    changes = [{'group': 'db', 'phase': 'added', 'outcome': 'connected', 'seconds': 0.004,
                'answered_by': {'name': 'web', 'id': None}},
               {'group': 'db', 'phase': 'removed', 'outcome': 'timeout', 'seconds': 0.01, 'answered_by': None}]
    report = build_report(RUN, PLAN, kinds=('security_group',), probes=healthy_probes(), security_group_changes=changes)
    assert names(report, 'fail') == ['sg db rule added']
    assert check(report, 'sg db rule added')['reason'] == 'answered by web (expected db)'
    assert [s['labels']['phase'] for s in report['samples'] if s['metric'] == 'sg_apply_s'] == ['removed']


def test_a_guest_unreachable_over_ssh_fails_its_own_checks_with_the_reason():
    # db never answered: no probe ran from it, no responder or throughput server ran on it.
    why = {'db': 'timed out waiting for ping module test: Failed to connect to the host via ssh'}
    probes = [run for run in healthy_probes({'web->db tcp/5432': 'refused'}) if run['item']['src'] != 'db']
    throughput = [{'item': dict(pair), 'gbps': 9.5, 'loss_pct': 1.0, 'changed': False}
                  for pair in PLAN['throughput'] if 'db' not in (pair['src'], pair['dst'])]
    sla = [{'metric': 'tcp_gbps', 'stat': 'avg', 'path': 'l3', 'min': 1}]
    report = build_report(RUN, PLAN, kinds=('throughput',), probes=probes, throughput=throughput, sla=sla, unreachable=why)
    failed = {c['name']: c['reason'] for c in report['checks'] if c['verdict'] == 'fail'}
    assert failed['reach db->web icmp'].startswith('not probed: db unreachable over SSH (timed out waiting')
    assert failed['reach web->db tcp/5432'].startswith(
        'db unreachable over SSH (timed out waiting for ping module test: Failed to connect to the host via ssh), '
        'so nothing ran there to answer: expected allow, got refused')
    assert 'reach web->db icmp' not in failed and 'reach web->db tcp/22' not in failed
    assert failed['sla tcp_gbps avg l3'].endswith('(guests unreachable over SSH: db)')
    for name, reason in failed.items():
        assert 'db unreachable over SSH' in reason or 'unreachable over SSH: db' in reason, (name, reason)


def test_a_floating_ip_moved_to_an_undeclared_server_fails_twice():
    servers = [dict(SERVERS[0], public_ip=None), dict(SERVERS[1], public_ip='198.18.0.2')]
    plan = validation_plan(TOPOLOGY, servers, '198.18.0.1')
    fips = [{'server': 'db', 'phase': 'reachable', 'outcome': 'connected', 'answered_by': None}]
    report = build_report(RUN, plan, kinds=('floating_ip',), probes=healthy_probes(), floating_ips=fips)
    assert names(report, 'fail') == ['fip db reachable', 'fip web reachable']
    assert check(report, 'fip web reachable')['reason'] == 'web has no floating IP, though the topology gives it one'
    assert check(report, 'fip db reachable')['reason'].endswith('; the topology gives db no floating IP')


def test_a_reachability_check_carries_the_loss_of_its_probe():
    runs = healthy_probes()
    for run in runs:
        for result in run['results']:
            result.update(sent=5, received=4 if result['name'] == 'db->web icmp' else (5 if result['outcome'] == 'connected' else 0))
    report = build_report(RUN, PLAN, kinds=PROBED, probes=runs)
    assert check(report, 'reach db->web icmp')['loss_pct'] == 20.0
    assert check(report, 'reach web->db tcp/5432')['loss_pct'] == 0.0
    assert check(report, 'reach web->db tcp/22')['loss_pct'] == 100.0
    assert 'loss_pct' not in check(report, 'pmtu db->web')


def test_flows_the_time_budget_left_out_fail_saying_so():
    runs = healthy_probes()
    runs[0]['results'] = [dict(result, outcome=None, budget_spent=True, detail='not probed: the time budget of 5s was spent')
                          for result in runs[0]['results']]
    runs[1] = {'src': runs[1]['item']['src'], 'failed': True, 'budget_spent': True,
               'msg': 'the time budget of 5s was spent before its turn came'}
    report = build_report(RUN, PLAN, kinds=PROBED, probes=runs)
    failed = [c for c in report['checks'] if c['verdict'] == 'fail']
    sources = {runs[0]['item']['src'], runs[1]['src']}
    assert failed and {c['labels']['src'] for c in failed} == sources
    assert all(c['reason'] in ('not probed: the time budget of 5s was spent',
                               'not probed: the time budget of 5s was spent before its turn came') for c in failed), failed


def test_probes_waited_for_as_async_jobs_are_read_like_any_other():
    runs = [{'item': {'ansible_job_id': 'j%d' % i, 'item': run['item'], 'started': 1}, 'finished': 1,
             'results': run['results']} for i, run in enumerate(healthy_probes())]
    assert names(build_report(RUN, PLAN, kinds=PROBED, probes=runs), 'fail') == []
