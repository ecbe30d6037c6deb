"""SLA rules: validation of the spec and evaluation on samples."""

from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.sla import evaluate_sla, normalize_sla
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import percentile, summarize


def sample(metric, value, path, src='a', dst='b'):
    return {'metric': metric, 'value': value, 'unit': '', 'labels': {'src': src, 'dst': dst, 'path': path}}


SAMPLES = [sample('rtt_ms', v, 'l2') for v in (0.1, 0.2, 0.3, 0.4, 10.0)] + \
          [sample('rtt_ms', 1.0, 'l3', 'a', 'c'), sample('tcp_gbps', 12.5, 'l2')]


def test_percentiles_interpolate_between_ranks():
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert summarize([3, 1, 2]) == {'count': 3, 'min': 1.0, 'avg': 2.0, 'p50': 2.0, 'p90': 2.8, 'p99': 2.98, 'max': 3.0}
    assert summarize([]) is None


def test_max_bound_fails_on_the_tail():
    [check] = evaluate_sla(normalize_sla([{'metric': 'rtt_ms', 'stat': 'p99', 'path': 'l2', 'max': 5}]), SAMPLES)
    assert check['verdict'] == 'fail' and check['name'] == 'sla rtt_ms p99 l2'
    assert check['reason'].startswith('rtt_ms p99 is 9.6') and check['expected'] == '<= 5'


def test_median_passes_and_aliases_work():
    [check] = evaluate_sla(normalize_sla([{'metric': 'rtt_ms', 'stat': 'median', 'path': 'l2', 'max': 5}]), SAMPLES)
    assert check['verdict'] == 'pass' and check['observed'] == 0.3 and check['reason'] == ''


def test_min_bound_any_path_and_pair_filter():
    rules = normalize_sla([{'metric': 'tcp_gbps', 'stat': 'mean', 'min': 20},
                           {'metric': 'rtt_ms', 'stat': 'max', 'src': 'a', 'dst': 'c', 'max': 2}])
    low, pair = evaluate_sla(rules, SAMPLES)
    assert low['verdict'] == 'fail' and 'below 20' in low['reason']
    assert pair['verdict'] == 'pass' and pair['name'] == 'sla rtt_ms max any a->c' and pair['labels']['samples'] == 1


def test_a_rule_without_samples_fails():
    [check] = evaluate_sla(normalize_sla([{'metric': 'udp_gbps', 'stat': 'avg', 'path': 'l3', 'min': 1}]), SAMPLES)
    assert check['verdict'] == 'fail' and check['reason'] == 'no udp_gbps samples on path l3' and check['observed'] is None


@pytest.mark.parametrize('rule, message', [
    ({'metric': 'jitter', 'max': 1}, "sla[0].metric: 'jitter' is not one of"),
    ({'metric': 'rtt_ms', 'stat': 'p95', 'max': 1}, "sla[0].stat: 'p95' is not one of"),
    ({'metric': 'rtt_ms', 'path': 'l4', 'max': 1}, "sla[0].path: 'l4' is not one of"),
    ({'metric': 'rtt_ms'}, 'sla[0]: give min, max or both'),
    ({'metric': 'rtt_ms', 'max': 'fast'}, "sla[0].max: 'fast' is not a number"),
    ({'metric': 'rtt_ms', 'max': 1, 'unit': 'ms'}, 'sla[0].unit: not an SLA key'),
])
def test_bad_rules_name_the_field(rule, message):
    with pytest.raises(CloudError) as caught:
        normalize_sla([rule])
    assert str(caught.value).startswith(message)
