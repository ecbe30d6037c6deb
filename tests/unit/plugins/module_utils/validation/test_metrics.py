"""A report as Prometheus metrics, read back by the Prometheus client library's own parsers."""

from __future__ import annotations

import base64
import datetime
import os
import random
import re
import stat

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families as parse_text

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.metrics import (
    group_url, grouping_of, render_openmetrics, render_prometheus_text, write_metrics_file,
)
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import (
    bare_report, check, sample_report, summary_of,
)

P = 'cloudops_validation_'
BASE = {'run_id': 'lab-demo', 'cloud': 'local', 'topology': 'unnamed'}
UNITS = {
    'passed': '', 'checks': '', 'checks_passed': '', 'checks_failed': '', 'kind_checks_failed': '', 'check_passed': '',
    'regressions': '', 'run_start_timestamp_seconds': 'seconds', 'run_finish_timestamp_seconds': 'seconds',
    'run_duration_seconds': 'seconds', 'rtt_seconds': 'seconds', 'rtt_mean_seconds': 'seconds', 'rtt_probes': '',
    'tcp_connect_seconds': 'seconds', 'tcp_connect_mean_seconds': 'seconds', 'tcp_connect_probes': '',
    'throughput_bits_per_second': 'bits_per_second', 'path_mtu_bytes': 'bytes', 'udp_loss_ratio': 'ratio',
}
RUN_FAMILIES = [name for name in UNITS if name in (
    'passed', 'checks', 'checks_passed', 'checks_failed', 'kind_checks_failed', 'check_passed', 'regressions',
    'run_start_timestamp_seconds', 'run_finish_timestamp_seconds', 'run_duration_seconds')]


def families(text, parse=parse_openmetrics):
    return {family.name[len(P):]: family for family in parse(text)}


def value(family, **labels):
    """The one sample of ``family`` whose labels are BASE plus ``labels``."""
    [found] = [s.value for s in family.samples if s.labels == dict(BASE, **labels)]
    return found


def unix(moment):
    return datetime.datetime.fromisoformat(moment.replace('Z', '+00:00')).timestamp()


def test_openmetrics_has_every_family_as_a_gauge_with_its_unit_and_ends_with_eof():
    text = render_openmetrics(sample_report())
    assert text.endswith('\n# EOF\n')
    parsed = families(text)
    assert list(parsed) == list(UNITS)
    for name, family in parsed.items():
        assert family.type == 'gauge' and family.unit == UNITS[name] and family.documentation
        assert all(s.timestamp is None for s in family.samples)
        assert all(list(s.labels)[:3] == list(BASE) for s in family.samples)


def test_text_format_holds_the_same_samples_without_openmetrics_lines():
    report = sample_report()
    text = render_prometheus_text(report)
    assert '# EOF' not in text and '# UNIT' not in text and text.endswith('\n')
    text_families = families(text, parse_text)
    assert list(text_families) == list(UNITS)
    for name, family in families(render_openmetrics(report)).items():
        assert family.documentation == text_families[name].documentation
        samples = [(s.labels, s.value) for s in family.samples]
        assert samples == [(s.labels, s.value) for s in text_families[name].samples]


def test_verdict_counts_and_every_check():
    report = sample_report()
    parsed = families(render_openmetrics(report))
    assert value(parsed['passed']) == 0
    assert (value(parsed['checks']), value(parsed['checks_passed']), value(parsed['checks_failed'])) == (22, 20, 2)
    by_kind = {s.labels['kind']: s.value for s in parsed['kind_checks_failed'].samples}
    assert by_kind == {'reachability': 1, 'path_mtu': 0, 'throughput': 0, 'floating_ip': 0, 'security_group': 0,
                       'sla': 1}
    verdicts = {(s.labels['check'], s.labels['kind']): s.value for s in parsed['check_passed'].samples}
    assert verdicts == {(c['name'], c['kind']): (1 if c['verdict'] == 'pass' else 0) for c in report['checks']}
    assert verdicts[('reach cache->db icmp', 'reachability')] == 0 and verdicts[('sla tcp_gbps avg l3', 'sla')] == 0
    assert value(parsed['regressions']) == 0
    assert value(families(render_openmetrics(bare_report()))['passed'], run_id='bare') == 1


def test_regressions_count_the_failed_regression_checks():
    report = sample_report()
    report['checks'] += [check('regression rtt l3', 'regression', '<= 1.2x', '1.5x', 'fail', 'slower than before'),
                         check('regression tcp l2', 'regression', '>= 0.8x', '1.0x')]
    report['summary'] = summary_of(report['checks'])
    parsed = families(render_openmetrics(report))
    assert value(parsed['regressions']) == 1
    assert value(parsed['kind_checks_failed'], kind='regression') == 1


def test_run_times_in_unix_seconds():
    report = sample_report()
    parsed = families(render_openmetrics(report))
    assert value(parsed['run_start_timestamp_seconds']) == unix(report['run']['started'])
    assert value(parsed['run_finish_timestamp_seconds']) == unix(report['run']['finished']) == 1795600841
    assert value(parsed['run_duration_seconds']) == 41


def test_latency_per_path_class_in_seconds():
    report = sample_report()
    parsed = families(render_openmetrics(report))
    for metric, name in (('rtt_ms', 'rtt'), ('tcp_connect_ms', 'tcp_connect')):
        for path in ('l2', 'l3'):
            pairs = [s for s in report['stats'] if s['metric'] == metric and s['labels']['path'] == path and s['count']]
            if not pairs:
                assert not [s for s in parsed[name + '_seconds'].samples if s.labels['path'] == path]
                continue
            quantile = {s.labels['quantile']: s.value for s in parsed[name + '_seconds'].samples
                        if s.labels['path'] == path}
            assert quantile == pytest.approx({
                '0': min(p['min'] for p in pairs) / 1000, '0.5': max(p['p50'] for p in pairs) / 1000,
                '0.9': max(p['p90'] for p in pairs) / 1000, '0.99': max(p['p99'] for p in pairs) / 1000,
                '1': max(p['max'] for p in pairs) / 1000})
            probes = sum(p['count'] for p in pairs)
            assert value(parsed[name + '_probes'], path=path) == probes
            mean = sum(p['avg'] * p['count'] for p in pairs) / probes / 1000
            assert value(parsed[name + '_mean_seconds'], path=path) == pytest.approx(mean)
    # The l3 pair that never answered (count 0) counts for nothing.
    assert value(parsed['rtt_probes'], path='l3') == 15
    assert value(parsed['tcp_connect_seconds'], path='l3', quantile='0.99') == pytest.approx(0.14e-3)


def test_throughput_mtu_and_loss_in_base_units():
    report = sample_report()
    report['samples'].append({'metric': 'tcp_gbps', 'value': 7.05, 'unit': 'Gbit/s',
                              'labels': {'src': 'cache', 'dst': 'db', 'path': 'l3', 'tool': 'iperf3'}})
    parsed = families(render_openmetrics(report))
    rates = {(s.labels['path'], s.labels['proto']): s.value for s in parsed['throughput_bits_per_second'].samples}
    assert rates == pytest.approx({('l2', 'tcp'): 9.41e9, ('l2', 'udp'): 3.2e9, ('l3', 'tcp'): 6.55e9,
                                   ('l3', 'udp'): 2.7e9})
    mtus = {(s.labels['src'], s.labels['dst'], s.labels['path']): s.value for s in parsed['path_mtu_bytes'].samples}
    assert mtus == {('web', 'db', 'l3'): 1400, ('db', 'web', 'l3'): 1400, ('web', 'cache', 'l2'): 1500}
    assert value(parsed['udp_loss_ratio'], src='web', dst='db', path='l3') == pytest.approx(0.041)
    assert value(parsed['udp_loss_ratio'], src='web', dst='cache', path='l2') == pytest.approx(0.018)
    # The text holds the report's decimals, not the float noise of a unit conversion (0.018000000000000002).
    text = render_openmetrics(report)
    assert ' 0.018\n' in text and ' 3.7e-05\n' in text and not re.search(r'\d{16}', text)


def test_topology_label_from_the_run_else_unnamed():
    report = sample_report()
    assert grouping_of(report) == {'cloud': 'local', 'topology': 'unnamed'}
    report['run']['topology_key'] = 'l3-restricted-db'
    assert grouping_of(report) == {'cloud': 'local', 'topology': 'l3-restricted-db'}
    for family in parse_openmetrics(render_openmetrics(report)):
        assert all(s.labels['topology'] == 'l3-restricted-db' for s in family.samples)


NASTY = 'a "quoted" \\path\\ with\nnewline, ünïcödé ✓ and \\n literal'


def test_nasty_label_values_are_escaped_and_read_back_as_they_were():
    report = sample_report()
    report['run']['id'] = NASTY
    report['checks'][0]['name'] = NASTY
    text = render_openmetrics(report)
    assert '\\"quoted\\"' in text and '\\\\path\\\\' in text and 'with\\nnewline' in text and '\\\\n literal' in text
    # Every line is a comment or a whole sample: no newline escaped the quoting.
    assert all(line.startswith(('#', P)) for line in text.splitlines())
    for parse, rendered in ((parse_openmetrics, text), (parse_text, render_prometheus_text(report))):
        parsed = families(rendered, parse)
        assert {s.labels['run_id'] for f in parsed.values() for s in f.samples} == {NASTY}
        assert NASTY in {s.labels['check'] for s in parsed['check_passed'].samples}


def test_a_report_without_samples_has_only_the_run_families():
    parsed = families(render_openmetrics(bare_report()))
    assert list(parsed) == RUN_FAMILIES
    assert value(parsed['checks'], run_id='bare') == 1


def test_an_empty_report_still_renders():
    for parse, text in ((parse_openmetrics, render_openmetrics({})), (parse_text, render_prometheus_text({}))):
        parsed = families(text, parse)
        assert [s.value for s in parsed['passed'].samples] == [0] and [s.value for s in parsed['checks'].samples] == [0]
        assert parsed['passed'].samples[0].labels == {'run_id': '', 'cloud': '', 'topology': 'unnamed'}


def test_the_same_report_in_any_order_renders_the_same_text():
    report = sample_report()
    first = render_openmetrics(report)
    shuffled = sample_report()
    rng = random.Random(7)
    for key in ('samples', 'stats', 'checks'):
        rng.shuffle(shuffled[key])
    shuffled['summary']['by_kind'] = dict(reversed(list(shuffled['summary']['by_kind'].items())))
    assert render_openmetrics(shuffled) == first == render_openmetrics(report)
    assert render_prometheus_text(shuffled) == render_prometheus_text(report)


def test_metrics_file_is_replaced_whole_with_mode_0644(tmp_path):
    path = tmp_path / 'textfile' / 'deeper' / 'cloudops_validation.prom'
    old = os.umask(0o077)
    try:
        write_metrics_file(str(path), 'first\n')
        write_metrics_file(str(path), render_prometheus_text(sample_report()))
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_text(encoding='utf-8') == render_prometheus_text(sample_report())
    assert os.listdir(path.parent) == ['cloudops_validation.prom']


def test_metrics_file_errors_are_one_line_and_leave_nothing(tmp_path):
    (tmp_path / 'plain').write_text('')
    not_a_directory = r'^metrics_file: cannot write .*/plain/x\.prom: (Not a directory|File exists)$'
    with pytest.raises(CloudError, match=not_a_directory):
        write_metrics_file(str(tmp_path / 'plain' / 'x.prom'), 'x 1\n')
    (tmp_path / 'dir.prom').mkdir()
    with pytest.raises(CloudError, match=r'^metrics_file: cannot write .*/dir\.prom: Is a directory$'):
        write_metrics_file(str(tmp_path / 'dir.prom'), 'x 1\n')
    assert sorted(os.listdir(tmp_path)) == ['dir.prom', 'plain'] and os.listdir(tmp_path / 'dir.prom') == []


def b64(text):
    return base64.urlsafe_b64encode(text.encode('utf-8')).decode('ascii').rstrip('=')


def test_group_url_encodes_the_grouping_key():
    assert group_url('http://127.0.0.1:9091') == 'http://127.0.0.1:9091/metrics/job/cloudops_validation'
    url = group_url('https://ops:s3cret@gw.example.org:8443/push/', 'nightly',
                    {'topology': 'l3/db', 'cloud': 'aws eu-west-1', 'site': '', 'owner': 'Προμηθεύς'})
    assert url == ('https://gw.example.org:8443/push/metrics/job/nightly/cloud/aws%20eu-west-1/owner/'
                   '%CE%A0%CF%81%CE%BF%CE%BC%CE%B7%CE%B8%CE%B5%CF%8D%CF%82/site@base64/=/topology@base64/'
                   + b64('l3/db'))
    assert group_url('http://[::1]:9091', 'a/b') == 'http://[::1]:9091/metrics/job@base64/' + b64('a/b')


@pytest.mark.parametrize('url, grouping, message', [
    ('ftp://user:s3cret@gw:21', None, r'^pushgateway_url: ftp://gw:21 is not an http\(s\) URL$'),
    ('http://user:s3cret@gw:port', None, r'^pushgateway_url: http://gw:port is not an http\(s\) URL$'),
    ('gw:9091', None, r'^pushgateway_url: gw:9091 is not an http\(s\) URL$'),
    ('http://gw:9091', {'bad-name': 'x'}, r"^grouping: 'bad-name' is not a label name$"),
    ('http://gw:9091', {'__reserved': 'x'}, r"^grouping: '__reserved' is not a label name$"),
])
def test_group_url_refuses_what_the_pushgateway_would(url, grouping, message):
    with pytest.raises(CloudError, match=message):
        group_url(url, grouping=grouping)
