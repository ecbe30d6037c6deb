from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.regressions import (
    DEFAULTS, regression_thresholds, regressions,
)


def reach(name, path, verdict='pass', reason='', evidence=None):
    check = {'name': name, 'kind': 'reachability', 'verdict': verdict, 'reason': reason, 'labels': {'path': path}}
    if evidence:
        check['explanation'] = {'configuration': 'deny', 'evidence': evidence}
    return check


def sample(metric, value, path, src='web', dst='db'):
    return {'metric': metric, 'value': value, 'labels': {'path': path, 'src': src, 'dst': dst}}


def run(checks=(), samples=(), run_id='r2'):
    return {'run_id': run_id, 'finished': '2026-12-07T10:00:00Z', 'checks': list(checks), 'samples': list(samples)}


BASE_SAMPLES = ([sample('rtt_ms', v, 'l2') for v in (0.05, 0.06, 0.07, 0.09)] +
                [sample('rtt_ms', v, 'l3') for v in (0.08, 0.09, 0.1, 0.12)] +
                [sample('tcp_gbps', 16.0, 'l2'), sample('tcp_gbps', 9.6, 'l3'), sample('udp_gbps', 0.8, 'l3'),
                 sample('path_mtu', 1400, 'l3'), sample('path_mtu', 1400, 'l3', 'db', 'web'),
                 sample('path_mtu', 1500, 'l2', 'web', 'cache')])
BASELINE = run([reach('reach web->db tcp/5432', 'l3'), reach('reach web->cache icmp', 'l2'),
                reach('reach web->db tcp/22', 'l3')], BASE_SAMPLES, run_id='r1')


def by_name(checks):
    return {c['name']: c for c in checks}


def test_no_baseline_no_regression_checks():
    assert regressions({'checks': [], 'samples': []}, None) == []


def test_an_unchanged_run_passes_every_comparison():
    checks = by_name(regressions(run(BASELINE['checks'], BASE_SAMPLES), BASELINE))
    assert sorted(checks) == ['regression path_mtu l2', 'regression path_mtu l3', 'regression reach l2',
                              'regression reach l3', 'regression rtt_ms p99 l2', 'regression rtt_ms p99 l3',
                              'regression tcp_gbps l2', 'regression tcp_gbps l3', 'regression udp_gbps l3']
    assert all(c['verdict'] == 'pass' and c['kind'] == 'regression' for c in checks.values())
    assert checks['regression reach l3']['labels'] == {'path': 'l3', 'baseline': 'r1'}


def test_a_flow_that_passed_and_fails_now_carries_its_explanation():
    now = run([reach('reach web->db tcp/5432', 'l3', 'fail', 'expected allow, got timeout',
                     ['no security group of db admits ingress tcp/5432 from web (10.10.1.2)']),
               reach('reach web->cache icmp', 'l2')], BASE_SAMPLES)
    checks = by_name(regressions(now, BASELINE))
    lost = checks['regression reach l3']
    assert lost['verdict'] == 'fail'
    assert lost['reason'] == ('reach web->db tcp/5432 passed in run r1 of 2026-12-07T10:00:00Z and fails now: '
                              'expected allow, got timeout')
    assert lost['explanation'] == {'checks': ['reach web->db tcp/5432'],
                                   'evidence': ['no security group of db admits ingress tcp/5432 from web (10.10.1.2)']}
    assert checks['regression reach l2']['verdict'] == 'pass'


def test_a_rate_cap_on_one_path_class_is_a_throughput_regression_there_only():
    capped = [s if not (s['metric'] == 'tcp_gbps' and s['labels']['path'] == 'l3') else sample('tcp_gbps', 0.1, 'l3')
              for s in BASE_SAMPLES]
    failed = [c['name'] for c in regressions(run(BASELINE['checks'], capped), BASELINE) if c['verdict'] == 'fail']
    assert failed == ['regression tcp_gbps l3']


def test_rtt_needs_both_the_ratio_and_the_margin():
    slower = [sample('rtt_ms', v * 5, 'l2') if s['metric'] == 'rtt_ms' and s['labels']['path'] == 'l2' else s
              for s, v in zip(BASE_SAMPLES, [s['value'] for s in BASE_SAMPLES])]
    # 5x slower but well under the 10 ms margin: noise on a sub-millisecond path.
    assert all(c['verdict'] == 'pass' for c in regressions(run(BASELINE['checks'], slower), BASELINE))
    much_slower = BASE_SAMPLES + [sample('rtt_ms', 19.0, 'l2')] * 10
    failed = by_name(regressions(run(BASELINE['checks'], much_slower), BASELINE))['regression rtt_ms p99 l2']
    assert failed['verdict'] == 'fail' and failed['reason'].startswith('p99 RTT on l2 paths is 19 ms, 0.0894 ms in run r1')


def test_a_lower_path_mtu():
    lowered = [sample('path_mtu', 1300, 'l3') if s['metric'] == 'path_mtu' and s['labels']['path'] == 'l3'
               and s['labels']['src'] == 'web' else s for s in BASE_SAMPLES]
    check = by_name(regressions(run(BASELINE['checks'], lowered), BASELINE))['regression path_mtu l3']
    assert check['verdict'] == 'fail' and check['observed'] == '1 of 2 lower'
    assert check['reason'] == 'web->db is 1300, 1400 in run r1 of 2026-12-07T10:00:00Z'


def test_a_flow_that_already_failed_in_the_baseline_is_no_regression():
    baseline = run([reach('reach web->db tcp/22', 'l3', 'fail')], run_id='r1')
    assert regressions(run([reach('reach web->db tcp/22', 'l3', 'fail')]), baseline) == []


@pytest.mark.parametrize('declared, message', [
    ({'rtt_ratio': 2}, 'regressions.rtt_ratio: not a regression threshold'),
    ({'throughput_ratio': 'half'}, "regressions.throughput_ratio: 'half' is not a number of at least 0"),
    ({'throughput_ratio': 2}, 'regressions.throughput_ratio: 2 is above 1'),
    ({'path_mtu': 'yes'}, "regressions.path_mtu: 'yes' is not true or false"),
    ([1], 'regressions: expected a mapping'),
])
def test_bad_thresholds_name_the_key(declared, message):
    with pytest.raises(CloudError) as failed:
        regression_thresholds(declared)
    assert str(failed.value).startswith(message)


def test_thresholds_default():
    assert regression_thresholds(None) == DEFAULTS
    assert regression_thresholds({'throughput_ratio': 0.8})['throughput_ratio'] == 0.8
