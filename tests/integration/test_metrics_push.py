"""A report's metrics pushed to a real Prometheus Pushgateway (tests/clouds/pushgateway/up) and read
back from its /metrics with the Prometheus client library's parser; failures against a closed port
and a server that answers 500."""

from __future__ import annotations

import base64
import contextlib
import http.server
import socket
import threading
import time
import urllib.request
import uuid

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.metrics import (
    grouping_of, push_metrics, render_prometheus_text,
)
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import (
    bare_report, sample_report,
)

P = 'cloudops_validation_'


def scrape(url, job):
    """{family name: [(labels, value)]} of the samples ``job`` pushed, as the Pushgateway exposes them."""
    with urllib.request.urlopen(url + '/metrics', timeout=10) as response:
        text = response.read().decode('utf-8')
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get('job') == job:
                found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


@pytest.fixture
def job(pushgateway_url):
    """A job of the test's own on the shared Pushgateway, deleted afterwards."""
    name = 'cloudops_validation_test_%s' % uuid.uuid4().hex[:8]
    pushed = []
    yield name, pushed
    for url in pushed:
        urllib.request.urlopen(urllib.request.Request(url, method='DELETE'), timeout=10)


def report_of(make, run_id, topology='l3/restricted db'):
    report = make()
    report['run'].update(id=run_id, topology_key=topology)
    return report


def test_pushed_metrics_are_served_with_the_grouping_labels(pushgateway_url, job):
    name, pushed = job
    report = report_of(sample_report, 'run-1')
    result = push_metrics(pushgateway_url, render_prometheus_text(report), job=name, grouping=grouping_of(report))
    pushed.append(result['url'])
    assert result['status'] == 200 and result['attempts'] == 1
    assert result['url'].startswith(pushgateway_url + '/metrics/job/%s/cloud/local/topology@base64/' % name)
    found = scrape(pushgateway_url, name)
    rendered = {family.name for family in text_string_to_metric_families(render_prometheus_text(report))}
    assert {family for family in found if family.startswith(P)} == rendered
    group = {'job': name, 'cloud': 'local', 'topology': 'l3/restricted db', 'instance': ''}
    [(labels, passed)] = found[P + 'passed']
    assert labels == dict(group, run_id='run-1') and passed == 0
    assert len(found[P + 'check_passed']) == 22
    rates = {(labels['path'], labels['proto']): value for labels, value in found[P + 'throughput_bits_per_second']}
    assert rates == {('l2', 'tcp'): 9.41e9, ('l2', 'udp'): 3.2e9, ('l3', 'tcp'): 6.05e9, ('l3', 'udp'): 2.7e9}
    rtt = {labels['quantile']: value for labels, value in found[P + 'rtt_seconds'] if labels['path'] == 'l3'}
    assert rtt['0.99'] == pytest.approx(0.1235e-3) and rtt['0'] == pytest.approx(0.044e-3)
    # The Pushgateway's own record of the push.
    assert [labels for labels, _value in found['push_failure_time_seconds']] == [group]
    assert found['push_time_seconds'][0][1] == pytest.approx(time.time(), abs=60)


def test_a_later_run_replaces_the_group(pushgateway_url, job):
    name, pushed = job
    first = report_of(sample_report, 'run-1')
    pushed.append(push_metrics(pushgateway_url, render_prometheus_text(first), job=name,
                               grouping=grouping_of(first))['url'])
    second = report_of(bare_report, 'run-2')
    push_metrics(pushgateway_url, render_prometheus_text(second), job=name, grouping=grouping_of(second))
    found = scrape(pushgateway_url, name)
    runs = {labels['run_id'] for samples in found.values() for labels, _value in samples if 'run_id' in labels}
    assert runs == {'run-2'}
    assert [value for _labels, value in found[P + 'passed']] == [1]
    assert len(found[P + 'check_passed']) == 1 and P + 'throughput_bits_per_second' not in found
    # Another topology is a group of its own, beside it.
    other = report_of(bare_report, 'run-3', topology='default')
    pushed.append(push_metrics(pushgateway_url, render_prometheus_text(other), job=name,
                               grouping=grouping_of(other))['url'])
    found = scrape(pushgateway_url, name)
    assert sorted((labels['topology'], labels['run_id']) for labels, _value in found[P + 'passed']) == [
        ('default', 'run-3'), ('l3/restricted db', 'run-2')]


def test_label_values_with_quotes_backslashes_and_newlines_read_back_as_they_were(pushgateway_url, job):
    name, pushed = job
    nasty = 'a "quoted" \\path\\ with\nnewline, ünïcödé ✓ and \\n literal'
    report = report_of(sample_report, nasty, topology='tier "a"/ü')
    pushed.append(push_metrics(pushgateway_url, render_prometheus_text(report), job=name,
                               grouping=grouping_of(report))['url'])
    found = scrape(pushgateway_url, name)
    assert {labels['run_id'] for samples in found.values() for labels, _value in samples if 'run_id' in labels} == {
        nasty}
    assert {labels['topology'] for samples in found.values() for labels, _value in samples} == {'tier "a"/ü'}


def closed_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def test_a_closed_port_fails_in_one_line_after_retries():
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(CloudError) as failure:
        push_metrics('http://127.0.0.1:%d' % port, 'x 1\n', retries=2, delay=0.2)
    message = str(failure.value)
    assert message == ('pushgateway_url: cannot push to http://127.0.0.1:%d/metrics/job/cloudops_validation: '
                       'Connection refused (after 3 attempts)' % port)
    # Two waits with backoff, 0.2 s and 0.4 s, each within 20 % jitter.
    assert 0.48 <= time.monotonic() - started < 5


def test_the_password_of_the_url_never_shows():
    port = closed_port()
    with pytest.raises(CloudError) as failure:
        push_metrics('http://ops:pa%%2Fss-w0rd@127.0.0.1:%d/' % port, 'x 1\n', retries=0)
    message = str(failure.value)
    assert message.startswith('pushgateway_url: cannot push to http://127.0.0.1:%d/metrics/job/' % port)
    assert 'w0rd' not in message and 'ops:' not in message and '@' not in message
    with pytest.raises(CloudError) as failure:
        push_metrics('ftp://ops:pa%%2Fss-w0rd@127.0.0.1:%d/' % port, 'x 1\n')
    assert str(failure.value) == 'pushgateway_url: ftp://127.0.0.1:%d/ is not an http(s) URL' % port


class ScriptedServer(http.server.ThreadingHTTPServer):
    """Answers each request with the next status of ``statuses`` (the last one over and over) and keeps
    (method, path, headers, body) of every request."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests = []
        super().__init__(('127.0.0.1', 0), ScriptedHandler)


class ScriptedHandler(http.server.BaseHTTPRequestHandler):
    def do_PUT(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        self.server.requests.append((self.command, self.path, dict(self.headers), body))
        status = self.server.statuses.pop(0) if len(self.server.statuses) > 1 else self.server.statuses[0]
        answer = b'' if status < 300 else b'the store is on fire\nsecond line\n'
        self.send_response(status)
        self.send_header('Content-Length', str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def scripted(*statuses):
    server = ScriptedServer(statuses)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server, 'http://127.0.0.1:%d' % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_500_is_retried_then_reported():
    with scripted(500) as (server, url):
        with pytest.raises(CloudError) as failure:
            push_metrics(url, 'x 1\n', job='nightly', grouping={'cloud': 'aws'}, retries=2, delay=0.01)
    assert str(failure.value) == ('pushgateway_url: cannot push to %s/metrics/job/nightly/cloud/aws: HTTP 500 '
                                  'Internal Server Error: the store is on fire (after 3 attempts)' % url)
    assert [(method, path) for method, path, _headers, _body in server.requests] == [
        ('PUT', '/metrics/job/nightly/cloud/aws')] * 3


def test_a_500_then_success_pushes_the_text_format_with_basic_auth():
    report = sample_report()
    text = render_prometheus_text(report)
    with scripted(503, 200) as (server, url):
        result = push_metrics(url.replace('//', '//ops:s3cret%40x@'), text, grouping=grouping_of(report), delay=0.01)
    assert result == {'url': url + '/metrics/job/cloudops_validation/cloud/local/topology/unnamed', 'status': 200,
                      'attempts': 2}
    for _method, _path, headers, body in server.requests:
        assert headers['Content-Type'] == 'text/plain; version=0.0.4; charset=utf-8'
        assert headers['Authorization'] == 'Basic ' + base64.b64encode(b'ops:s3cret@x').decode('ascii')
        assert body.decode('utf-8') == text


def test_a_400_is_not_retried():
    with scripted(400) as (server, url):
        with pytest.raises(CloudError, match=r'HTTP 400 Bad Request: the store is on fire$'):
            push_metrics(url, 'x 1\n', delay=0.01)
    assert len(server.requests) == 1
