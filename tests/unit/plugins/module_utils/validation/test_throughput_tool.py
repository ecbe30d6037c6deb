"""Which throughput tool runs on each side, and the tool label the report takes from a result."""

from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import throughput_tool
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.plan import validation_plan
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report import build_report
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.throughput_tool import (
    ToolError, check_options, client_tool,
)

PARAMS = {'server': 'h', 'port': 5201, 'proto': 'tcp', 'duration': 2.0, 'streams': 1, 'loss_band': [2.0, 5.0],
          'rate_max': 10000, 'max_steps': 8, 'listen': False, 'listen_for': 300, 'tool': 'auto'}


@pytest.fixture
def host(monkeypatch):
    """Set what the server answers and whether iperf3 is installed here; records the detections."""
    state = {'answer': None, 'iperf3': True, 'asked': []}

    def detect(server, port):
        state['asked'].append((server, port))
        return state['answer']

    monkeypatch.setattr(throughput_tool.python_throughput, 'detect', detect)
    monkeypatch.setattr(throughput_tool, 'iperf3_installed', lambda: state['iperf3'])
    return state


@pytest.mark.parametrize('answer, iperf3, tool', [
    ('python', True, 'python'), ('python', False, 'python'),
    ('other', True, 'iperf3'),
    (None, True, 'iperf3'), (None, False, 'python'),  # nobody answers: this host's client says so
])
def test_auto_runs_the_client_the_server_speaks(host, answer, iperf3, tool):
    host.update(answer=answer, iperf3=iperf3)
    assert client_tool('10.0.0.3', 5201, 'auto') == tool
    assert host['asked'] == [('10.0.0.3', 5201)]


def test_an_iperf3_server_without_iperf3_here_is_one_line(host):
    host.update(answer='other', iperf3=False)
    with pytest.raises(ToolError) as info:
        client_tool('10.0.0.3', 5201, 'auto')
    assert str(info.value) == ('server: 10.0.0.3:5201 is not the python receiver (iperf3, by its answer), and iperf3 is '
                               'not installed on this host; start the server side with tool: python')


def test_a_tool_asked_for_is_not_second_guessed(host):
    assert client_tool('h', 1, 'iperf3') == 'iperf3' and client_tool('h', 1, 'python') == 'python'
    assert host['asked'] == []


def test_the_tool_option_is_checked():
    check_options(PARAMS)
    check_options(dict(PARAMS, tool=None))
    with pytest.raises(ToolError, match="^tool: 'netperf' is not one of auto, iperf3, python$"):
        check_options(dict(PARAMS, tool='netperf'))


def test_a_running_server_is_kept_unless_the_other_tool_is_asked_for(monkeypatch):
    monkeypatch.setattr(throughput_tool, 'running_server', lambda port: ('iperf3', 42))
    listen = dict(PARAMS, server=None, listen=True)
    assert throughput_tool.listen(listen) == {
        'changed': False, 'listener': {'pid': 42, 'port': 5201, 'listen_for': 300, 'tool': 'iperf3'}}
    assert throughput_tool.listen(dict(listen, tool='iperf3'))['changed'] is False
    with pytest.raises(ToolError, match='^tool: an iperf3 server already listens on port 5201 here; ask for tool: '
                                        'iperf3 or auto, or another port$'):
        throughput_tool.listen(dict(listen, tool='python'))


def test_auto_listens_with_python_where_iperf3_is_missing(monkeypatch):
    calls = []
    monkeypatch.setattr(throughput_tool, 'running_server', lambda port: None)
    monkeypatch.setattr(throughput_tool, 'iperf3_installed', lambda: False)
    monkeypatch.setattr(throughput_tool.python_throughput, 'ensure_receiver', lambda *args: calls.append(args) or 'python')
    monkeypatch.setattr(throughput_tool.iperf, 'ensure_server', lambda *args: 'iperf3')
    listen = dict(PARAMS, server=None, listen=True)
    assert throughput_tool.listen(listen, check_mode=True) == 'python' and calls == [(5201, 300, True)]
    assert throughput_tool.listen(dict(listen, tool='iperf3')) == 'iperf3'
    monkeypatch.setattr(throughput_tool, 'iperf3_installed', lambda: True)
    assert throughput_tool.listen(listen) == 'iperf3'


# ---------------------------------------------------------------------------------------------- the report's label
TOPOLOGY = {
    'run_id': 'r1',
    'networks': [{'name': 'front', 'cidr': '10.10.1.0/24'}, {'name': 'back', 'cidr': '10.10.2.0/24'}],
    'security_groups': [],
    'servers': [{'name': 'web', 'network': 'front'}, {'name': 'db', 'network': 'back'}],
    'expect': [],
}
SERVERS = [{'name': 'web', 'networks': [{'network': 'front', 'address': '10.10.1.2'}], 'private_ip': '10.10.1.2'},
           {'name': 'db', 'networks': [{'network': 'back', 'address': '10.10.2.2'}], 'private_ip': '10.10.2.2'}]


def test_report_samples_are_labelled_with_the_tool_that_measured():
    plan = validation_plan(TOPOLOGY, SERVERS, None)
    tcp, udp = (next(dict(item) for item in plan['throughput'] if item['proto'] == proto) for proto in ('tcp', 'udp'))
    runs = [{'item': tcp, 'gbps': 9.1, 'tool': 'python', 'changed': False},
            {'item': udp, 'gbps': 0.8, 'loss_pct': 1.0, 'changed': False}]  # a result without the label
    report = build_report({'id': 'r1', 'cloud': 'lab'}, plan, throughput=runs)
    assert {s['metric']: s['labels']['tool'] for s in report['samples'] if s['metric'].startswith(('tcp_g', 'udp_'))} == {
        'tcp_gbps': 'python', 'udp_gbps': 'iperf3', 'udp_loss_pct': 'iperf3'}
