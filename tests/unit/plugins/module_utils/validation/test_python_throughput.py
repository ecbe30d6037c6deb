"""The Python throughput client and receiver: the wire format without a network, then both on loopback."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import python_throughput as pt
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.python_throughput import (
    BANNER, HELLO, ThroughputError, greeted_by, parse_report, request_line,
)

PARAMS = {'server': '127.0.0.1', 'port': None, 'proto': 'tcp', 'duration': 1.0, 'streams': 1, 'loss_band': [2.0, 5.0],
          'rate_max': 200, 'max_steps': 4, 'listen': False, 'listen_for': 300, 'tool': 'python'}


# ---------------------------------------------------------------------------------------------- wire
def test_hello_is_as_long_as_an_iperf3_cookie_and_the_banner_one_line():
    assert len(HELLO) == 37 and HELLO.endswith(b'\n') and BANNER.count(b'\n') == 1
    assert not HELLO.startswith(BANNER)


def test_requests_are_one_json_line():
    assert request_line({'proto': 'tcp', 'duration': 2.0}) == b'{"duration": 2.0, "proto": "tcp"}\n'


def test_receiver_reports_are_parsed_and_checked():
    assert parse_report(b'{"bytes": 10, "seconds": 1.5}', ('bytes', 'seconds')) == {'bytes': 10, 'seconds': 1.5}
    assert parse_report(b'{"received": 9, "lost": 1, "bytes": 90}', ('received', 'lost', 'bytes'))['lost'] == 1
    with pytest.raises(ThroughputError, match=r"^the receiver answered b'\{\"bytes\": 10\}', not bytes, seconds$"):
        parse_report(b'{"bytes": 10}', ('bytes', 'seconds'))
    for garbage in (b'', b'not json', b'[1, 2]'):
        with pytest.raises(ThroughputError, match='^the receiver answered '):
            parse_report(garbage, ('ready',))


@pytest.mark.parametrize('data, answer', [
    (BANNER, 'python'), (BANNER[:5], None), (b'', None), (b'\t', 'other'), (b'\xff', 'other'), (b'SSH-2.0-x\r\n', 'other'),
])
def test_who_answered_a_hello(data, answer):
    assert greeted_by(data) == answer


def test_rates_per_interval():
    assert pt.gbps(125_000_000, 1.0) == 1.0
    assert pt.intervals_gbps([125_000_000, 62_500_000], 1.5) == [1.0, 1.0]
    assert pt.interval_count(2.0) == 2 and pt.interval_count(1.5) == 2 and pt.interval_count(0.2) == 1


def test_datagram_header_carries_token_and_sequence():
    buf = bytearray(64)
    pt.DATAGRAM.pack_into(buf, 0, b'12345678', 2 ** 40)
    assert pt.DATAGRAM.unpack_from(buf) == (b'12345678', 2 ** 40) and pt.DATAGRAM.size == 16


def test_udp_pacing_keeps_the_rate():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(('127.0.0.1', 0))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.connect(sink.getsockname())
    try:
        sent, seconds, buckets = pt.send_udp([sender], b'12345678', 1000, 8, 0.5)  # 8 Mbit/s of 1000-byte datagrams
    finally:
        sender.close()
        sink.close()
    assert 490 <= sent <= 510 and seconds == pytest.approx(0.5, abs=0.05) and buckets == [sent * 1000]


# ---------------------------------------------------------------------------------------------- loopback
def start_receiver(idle=3.0, udp_elsewhere=False):
    """The daemon's code, run in a thread on loopback ports: (port, thread)."""
    namespace = {'__name__': 'receiver'}
    exec(pt.RECEIVER, namespace)  # pylint: disable=exec-used
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.bind(('127.0.0.1', 0))
    tcp.listen(16)
    port = tcp.getsockname()[1]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(('127.0.0.1', 0 if udp_elsewhere else port))
    thread = threading.Thread(target=namespace['Receiver'](tcp, udp, idle).serve, daemon=True)
    thread.start()
    return port, thread


@pytest.fixture(scope='module')
def receiver():
    port, thread = start_receiver()
    yield port
    thread.join(10)


def test_the_receiver_is_told_from_iperf3_and_from_nobody(receiver):
    assert pt.detect('127.0.0.1', receiver) == 'python'
    iperf3 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    iperf3.bind(('127.0.0.1', 0))
    iperf3.listen(1)

    def answer_like_iperf3():
        conn = iperf3.accept()[0]
        conn.recv(37)
        conn.sendall(b'\t')  # PARAM_EXCHANGE
        conn.close()

    thread = threading.Thread(target=answer_like_iperf3, daemon=True)
    thread.start()
    try:
        assert pt.detect('127.0.0.1', iperf3.getsockname()[1]) == 'other'
    finally:
        thread.join(5)
        iperf3.close()
    closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    closed.bind(('127.0.0.1', 0))
    port = closed.getsockname()[1]
    closed.close()
    assert pt.detect('127.0.0.1', port) is None
    with pytest.raises(ThroughputError, match=r'^server: no throughput server answers on 127.0.0.1:\d+ \(Connection refused\); '
                                              r'start one there with listen: true$'):
        pt.measure(dict(PARAMS, port=port))


def test_a_server_that_is_not_the_receiver_is_named():
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(('127.0.0.1', 0))
    silent.listen(1)
    port = silent.getsockname()[1]

    def greet_wrongly():
        conn = silent.accept()[0]
        conn.sendall(b'SSH-2.0-OpenSSH_9.2\r\n')
        time.sleep(0.5)
        conn.close()

    thread = threading.Thread(target=greet_wrongly, daemon=True)
    thread.start()
    try:
        with pytest.raises(ThroughputError, match=r"^server: 127.0.0.1:\d+ is not the python receiver \(it sent b'SSH-2.0-"):
            pt.open_session('127.0.0.1', port)
    finally:
        thread.join(5)
        silent.close()


def test_a_silent_server_like_iperf3_is_named(monkeypatch):
    monkeypatch.setattr(pt, 'CONNECT_TIMEOUT', 0.2)
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind(('127.0.0.1', 0))
    silent.listen(1)  # the kernel completes the handshake; nobody ever writes
    try:
        with pytest.raises(ThroughputError, match=r'^server: 127.0.0.1:\d+ takes connections but sends no greeting '
                                                  r'\(timed out\); it is not the python receiver'):
            pt.open_session('127.0.0.1', silent.getsockname()[1])
    finally:
        silent.close()


@pytest.mark.parametrize('streams', [1, 3])
def test_tcp_counts_what_the_receiver_got(receiver, streams):
    result = pt.measure(dict(PARAMS, port=receiver, streams=streams))
    assert result['tool'] == 'python' and result['proto'] == 'tcp' and result['changed'] is False
    assert result['gbps'] > 0.1 and result['seconds'] == pytest.approx(1.0, abs=0.3)
    assert len(result['intervals_gbps']) == 1 and result['intervals_gbps'][0] > 0
    assert isinstance(result['retransmits'], int)


def test_udp_counts_what_arrived_and_what_did_not(receiver):
    control = pt.open_session('127.0.0.1', receiver)
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        control.sendall(request_line({'proto': 'udp', 'token': b'tokentok'.hex(), 'duration': 1}))
        assert parse_report(pt.read_line(control)[0], ('ready',)) == {'ready': True}
        sender.connect(('127.0.0.1', receiver))
        for seq in range(10):
            sender.send(pt.DATAGRAM.pack(b'tokentok', seq) + bytes(100))
        sender.send(pt.DATAGRAM.pack(b'othertok', 0) + bytes(100))  # another test's: not counted
        control.sendall(request_line({'sent': 12}))
        report = parse_report(pt.read_line(control)[0], ('received', 'lost', 'bytes'))
    finally:
        sender.close()
        control.close()
    assert report == {'received': 10, 'lost': 2, 'bytes': 1160}


def test_the_udp_search_runs_on_the_python_measure(receiver):
    result = pt.measure(dict(PARAMS, port=receiver, proto='udp', rate_max=200, max_steps=3))
    assert result['tool'] == 'python' and result['proto'] == 'udp' and 'retransmits' not in result
    assert result['steps'][0]['target_mbps'] == 200 and 1 <= len(result['steps']) <= 3
    assert result['loss_pct'] <= 5 and result['gbps'] == pytest.approx(0.2, rel=0.2)


def test_udp_that_never_arrives_is_named():
    port, thread = start_receiver(idle=1.0, udp_elsewhere=True)
    try:
        with pytest.raises(ThroughputError, match=r'^server: 127.0.0.1:\d+ takes control connections but none of \d+ '
                                                  r'datagrams reached it; is udp/\d+ open\?$'):
            pt.measure_udp('127.0.0.1', port, 0.3, 1, 10)
    finally:
        thread.join(10)


def test_the_receiver_leaves_when_idle():
    port, thread = start_receiver(idle=0.5)
    assert pt.detect('127.0.0.1', port) == 'python'
    started = time.monotonic()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - started < 2.5


# ---------------------------------------------------------------------------------------------- listen, check mode
def test_check_mode_binds_nothing_and_names_a_port_in_use():
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(('0.0.0.0', 0))
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ThroughputError, match='^port: udp/%d is already in use in this network namespace$' % port):
            pt.ensure_receiver(port, 10, check_mode=True)
    finally:
        taken.close()
    assert pt.ensure_receiver(port, 10, check_mode=True) == {
        'changed': True, 'listener': {'pid': None, 'port': port, 'listen_for': 10, 'tool': 'python'}}
    assert pt.find_receivers(port) == []


def test_a_bandwidth_cap_paces_the_tcp_sender():
    sender, receiver = socket.socketpair()
    received = []

    def drain():
        while True:
            data = receiver.recv(1 << 20)
            if not data:
                return
            received.append(len(data))

    reader = threading.Thread(target=drain)
    reader.start()
    buckets = [0]
    pt.send_tcp(sender, 1.0, buckets, bandwidth=8)  # 8 Mbit/s: about 1 MB in a second
    sender.close()
    reader.join()
    receiver.close()
    assert 0.5e6 <= sum(received) <= 1e6 + 2 * pt.CHUNK, sum(received)
