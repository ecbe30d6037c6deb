"""Probe parsing and search logic, fed with ping output captured on the lab; sockets on loopback only."""

from __future__ import annotations

import errno
import os
import socket
import threading
import time

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import probes, responder
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.probes import (
    ProbeError, check_targets, parse_ping, probe_targets, search_path_mtu,
)

# Captured on the lab (iputils 20221126, ping -n ..., stdout and stderr together).
PING_OUTPUTS = {
    'ok': '''\
PING 10.77.2.2 (10.77.2.2) 56(84) bytes of data.
64 bytes from 10.77.2.2: icmp_seq=1 ttl=63 time=0.108 ms
64 bytes from 10.77.2.2: icmp_seq=2 ttl=63 time=0.105 ms
64 bytes from 10.77.2.2: icmp_seq=3 ttl=63 time=0.105 ms
64 bytes from 10.77.2.2: icmp_seq=4 ttl=63 time=0.107 ms
64 bytes from 10.77.2.2: icmp_seq=5 ttl=63 time=0.120 ms

--- 10.77.2.2 ping statistics ---
5 packets transmitted, 5 received, 0% packet loss, time 221ms
rtt min/avg/max/mdev = 0.105/0.109/0.120/0.005 ms
''',
    'dup_free_l2': '''\
PING 10.77.1.3 (10.77.1.3) 56(84) bytes of data.
64 bytes from 10.77.1.3: icmp_seq=1 ttl=64 time=0.065 ms
64 bytes from 10.77.1.3: icmp_seq=2 ttl=64 time=0.099 ms
64 bytes from 10.77.1.3: icmp_seq=3 ttl=64 time=0.084 ms

--- 10.77.1.3 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 109ms
rtt min/avg/max/mdev = 0.065/0.082/0.099/0.013 ms
''',
    'net_unreachable': '''\
PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.
From 10.77.1.1 icmp_seq=1 Destination Net Unreachable
From 10.77.1.1 icmp_seq=2 Destination Net Unreachable

--- 203.0.113.1 ping statistics ---
3 packets transmitted, 0 received, +2 errors, 100% packet loss, time 109ms
''',
    'timeout': '''\
PING 10.77.1.99 (10.77.1.99) 56(84) bytes of data.

--- 10.77.1.99 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 114ms
''',
    'host_unreachable': '''\
PING 10.77.1.98 (10.77.1.98) 56(84) bytes of data.
From 10.77.1.2 icmp_seq=1 Destination Host Unreachable
From 10.77.1.2 icmp_seq=2 Destination Host Unreachable
From 10.77.1.2 icmp_seq=3 Destination Host Unreachable
From 10.77.1.2 icmp_seq=4 Destination Host Unreachable

--- 10.77.1.98 ping statistics ---
4 packets transmitted, 0 received, +4 errors, 100% packet loss, time 3030ms
pipe 4
''',
    'resolve': '''\
ping: nosuch.invalid: Temporary failure in name resolution
''',
    'route_unreachable': '''\
ping: connect: No route to host
''',
    'filtered': '''\
PING 10.77.2.3 (10.77.2.3) 56(84) bytes of data.
From 10.77.2.3 icmp_seq=1 Packet filtered
From 10.77.2.3 icmp_seq=2 Packet filtered

--- 10.77.2.3 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 53ms
''',
    'host_prohibited': '''\
PING 10.77.2.3 (10.77.2.3) 56(84) bytes of data.
From 10.77.2.3 icmp_seq=1 Destination Host Prohibited
From 10.77.2.3 icmp_seq=2 Destination Host Prohibited

--- 10.77.2.3 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 56ms
''',
    'port_unreachable': '''\
PING 10.77.2.3 (10.77.2.3) 56(84) bytes of data.
From 10.77.2.3 icmp_seq=1 Destination Port Unreachable
From 10.77.2.3 icmp_seq=2 Destination Port Unreachable

--- 10.77.2.3 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 55ms
''',
    'egress_reject': '''\
PING 10.77.2.3 (10.77.2.3) 56(84) bytes of data.
From 10.77.1.2 icmp_seq=1 Destination Port Unreachable
ping: sendmsg: Operation not permitted
From 10.77.1.2 icmp_seq=2 Destination Port Unreachable
ping: sendmsg: Operation not permitted

--- 10.77.2.3 ping statistics ---
2 packets transmitted, 0 received, +2 errors, 100% packet loss, time 54ms
''',
    'frag_needed': '''\
PING 10.77.2.2 (10.77.2.2) 1472(1500) bytes of data.
From 10.77.1.1 icmp_seq=1 Frag needed and DF set (mtu = 1400)

--- 10.77.2.2 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
''',
    'local_too_big': '''\
PING 10.77.2.2 (10.77.2.2) 1472(1500) bytes of data.
ping: local error: message too long, mtu=1400

--- 10.77.2.2 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
''',
    'local_too_big_l2': '''\
PING 10.77.1.3 (10.77.1.3) 1473(1501) bytes of data.
ping: local error: message too long, mtu=1500

--- 10.77.1.3 ping statistics ---
1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms
''',
    'df_fits': '''\
PING 10.77.2.2 (10.77.2.2) 1372(1400) bytes of data.
1380 bytes from 10.77.2.2: icmp_seq=1 ttl=63 time=0.105 ms

--- 10.77.2.2 ping statistics ---
1 packets transmitted, 1 received, 0% packet loss, time 0ms
rtt min/avg/max/mdev = 0.105/0.105/0.105/0.000 ms
''',
    'user_interval': '''\
PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
ping: cannot flood; minimal interval allowed for user is 2ms
''',
}


# ---------------------------------------------------------------------------------------------- parse_ping
@pytest.mark.parametrize('case, outcome, sent, received', [
    ('ok', 'connected', 5, 5),
    ('dup_free_l2', 'connected', 3, 3),
    ('df_fits', 'connected', 1, 1),
    ('timeout', 'timeout', 3, 0),
    ('net_unreachable', 'unreachable', 3, 0),
    ('host_unreachable', 'unreachable', 4, 0),
    ('route_unreachable', 'unreachable', 0, 0),
    ('resolve', 'unreachable', 0, 0),
    ('filtered', 'refused', 2, 0),
    ('host_prohibited', 'refused', 2, 0),
    ('port_unreachable', 'refused', 2, 0),
    ('egress_reject', 'refused', 2, 0),
    ('frag_needed', 'timeout', 1, 0),
    ('local_too_big', 'timeout', 1, 0),
])
def test_outcome_of_each_captured_output(case, outcome, sent, received):
    result = parse_ping(PING_OUTPUTS[case])
    assert (result['outcome'], result['sent'], result['received']) == (outcome, sent, received)
    assert len(result['rtt_ms']) == received
    assert result['detail'] and '\n' not in result['detail']


def test_rtts_are_read_per_reply():
    assert parse_ping(PING_OUTPUTS['ok'])['rtt_ms'] == [0.108, 0.105, 0.105, 0.107, 0.12]
    assert parse_ping(PING_OUTPUTS['ok'])['detail'] == '5 of 5 echo requests answered'


def test_duplicates_count_once_and_partial_loss_is_connected():
    text = PING_OUTPUTS['dup_free_l2'].replace(
        'icmp_seq=2 ttl=64 time=0.099 ms', 'icmp_seq=1 ttl=64 time=0.099 ms (DUP!)').replace(
        '3 received, 0% packet loss', '2 received, 33.3333% packet loss')
    result = parse_ping(text)
    assert result['rtt_ms'] == [0.065, 0.084]
    assert (result['outcome'], result['received']) == ('connected', 2)


def test_the_error_line_is_the_detail():
    assert parse_ping(PING_OUTPUTS['net_unreachable'])['detail'] == 'From 10.77.1.1 icmp_seq=1 Destination Net Unreachable'
    assert parse_ping(PING_OUTPUTS['filtered'])['detail'] == 'From 10.77.2.3 icmp_seq=1 Packet filtered'
    assert parse_ping(PING_OUTPUTS['route_unreachable'])['detail'] == 'ping: connect: No route to host'
    assert parse_ping(PING_OUTPUTS['timeout'])['detail'] == 'no reply to 3 echo requests'


@pytest.mark.parametrize('case, hint', [('frag_needed', 1400), ('local_too_big', 1400), ('local_too_big_l2', 1500),
                                        ('df_fits', None), ('ok', None)])
def test_mtu_hints(case, hint):
    result = parse_ping(PING_OUTPUTS[case])
    assert result['mtu_hint'] == hint
    assert result['too_big'] is (hint is not None)


def test_ping_command_line():
    assert probes.ping_argv('10.0.0.1', 5, 0.05, 1.0) == ['ping', '-n', '-c', '5', '-i', '0.05', '-W', '1', '10.0.0.1']
    assert probes.ping_argv('10.0.0.1', 1, 0.2, 0.5, size=1372) == [
        'ping', '-n', '-c', '1', '-i', '0.2', '-W', '0.5', '-M', 'do', '-s', '1372', '10.0.0.1']


def test_an_interval_ping_refuses_is_raised_to_what_it_allows():
    calls = []

    def runner(argv, _timeout):
        calls.append(argv)
        return (2, PING_OUTPUTS['user_interval']) if len(calls) == 1 else (0, PING_OUTPUTS['ok'])

    result = probes.ping('127.0.0.1', 5, 0.001, 1, runner)
    assert [argv[argv.index('-i') + 1] for argv in calls] == ['0.001', '0.002']
    assert result['outcome'] == 'connected'
    assert result['detail'].endswith('(at an interval of 0.002s, the least ping allows this user)')

    calls.clear()
    older = 'ping: cannot flood; minimal interval allowed for user is 200ms\n'
    probes.ping('127.0.0.1', 5, 0.05, 1, lambda argv, t: (calls.append(argv), (2, older) if len(calls) == 1 else (0, '')
                                                          )[1])
    assert calls[1][calls[1].index('-i') + 1] == '0.2'


# ---------------------------------------------------------------------------------------------- path MTU
def path_of(mtu, hints=False):
    """fits() of a path that passes packets up to ``mtu``; with hints, a failure names the MTU."""
    tried = []

    def fits(size):
        tried.append(size)
        return size <= mtu, (mtu if hints and size > mtu else None)
    return fits, tried


@pytest.mark.parametrize('mtu', [576, 577, 1000, 1337, 1400, 1499, 1500])
def test_binary_search_finds_the_exact_mtu(mtu):
    fits, tried = path_of(mtu)
    found, sizes = search_path_mtu(fits, 1500)
    assert found == mtu and sizes == tried
    assert tried[:2] == [576, 1500] if mtu < 1500 else tried == [576, 1500]
    assert len(tried) <= 2 + 10  # log2(1500 - 576) rounds up to 10


def test_a_named_mtu_is_tried_next():
    fits, tried = path_of(1400, hints=True)
    assert search_path_mtu(fits, 1500) == (1400, [576, 1500, 1400])


def test_a_hint_above_what_passes_further_on_still_converges():
    # The first hop names 1400 but a later one only carries 1300, silently.
    def fits(size):
        return size <= 1300, (1400 if size > 1400 else None)
    assert search_path_mtu(fits, 1500)[0] == 1300


def test_nothing_fits():
    fits, tried = path_of(500)
    assert search_path_mtu(fits, 1500) == (None, [576])


def test_mtu_max_bounds_the_search():
    fits, _tried = path_of(9000)
    assert search_path_mtu(fits, 1500)[0] == 1500
    assert search_path_mtu(fits, 576)[0] == 576


def test_icmp_fits_sends_one_df_ping_of_the_packet_size():
    seen = []

    def runner(argv, _timeout):
        seen.append(argv)
        return 1, PING_OUTPUTS['frag_needed'] if int(argv[argv.index('-s') + 1]) > 1372 else PING_OUTPUTS['df_fits']

    fits = probes.icmp_fits('10.77.2.2', 0.5, runner)
    assert fits(1500) == (False, 1400)
    assert fits(1400) == (True, None)
    assert [argv[argv.index('-s') + 1] for argv in seen] == ['1472', '1372']
    assert seen[0][seen[0].index('-W') + 1] == '0.5'


# ---------------------------------------------------------------------------------------------- options
@pytest.mark.parametrize('targets, message', [
    ([{'address': '10.0.0.1'}, {'address': ' '}], 'targets[1].address: required'),
    ([{'address': '10.0.0.1', 'proto': 'tcp'}, {'address': '10.0.0.1', 'proto': 'icmp'},
      {'address': '10.0.0.2', 'proto': 'udp'}], 'targets[0].port: required for tcp'),
    ([{'address': '10.0.0.1', 'proto': 'icmp'}, {'address': 'db', 'proto': 'tcp', 'port': 1},
      {'address': 'db', 'proto': 'udp'}], 'targets[2].port: required for udp'),
    ([{'address': '10.0.0.1', 'proto': 'tcp', 'port': 70000}], 'targets[0].port: 70000 is outside 1-65535'),
    ([{'address': '10.0.0.1', 'proto': 'icmp', 'port': 22}], 'targets[0].port: icmp has no ports; leave it out'),
    ([{'address': '10.0.0.1', 'proto': 'sctp'}], "targets[0].proto: 'sctp' is not one of icmp, tcp, udp"),
    ([{'address': '10.0.0.1', 'expect': 'db'}],
     'targets[0].expect: an ICMP echo does not say which server answered; leave it out'),
])
def test_bad_targets_name_the_field(targets, message):
    with pytest.raises(ProbeError) as info:
        check_targets(targets)
    assert str(info.value) == message


def test_targets_are_normalized():
    assert check_targets([{'address': '10.0.0.1', 'port': None}, {'address': '10.0.0.2', 'proto': 'tcp', 'port': 22,
                                                                  'name': 'ssh'}]) == [
        {'name': '10.0.0.1', 'address': '10.0.0.1', 'proto': 'icmp', 'port': None, 'expect': None},
        {'name': 'ssh', 'address': '10.0.0.2', 'proto': 'tcp', 'port': 22, 'expect': None}]
    assert check_targets([{'address': '10.0.0.2', 'proto': 'udp', 'port': 53, 'expect': ' dns '},
                          {'address': '10.0.0.2', 'expect': ''}])[0]['expect'] == 'dns'


@pytest.mark.parametrize('settings, message', [
    ({'count': 0}, 'count: must be at least 1, got 0'),
    ({'interval': -1}, 'interval: must not be negative, got -1'),
    ({'timeout': 0}, 'timeout: must be more than 0 seconds, got 0'),
    ({'mtu_max': 500}, 'mtu_max: 500 is outside 576-65535'),
    ({'parallel': 0}, 'parallel: must be at least 1, got 0'),
    ({'wait_for': 'open'}, "wait_for: 'open' is not one of connected, blocked"),
])
def test_bad_settings_name_the_field(settings, message):
    with pytest.raises(ProbeError) as info:
        probe_targets([{'address': '127.0.0.1'}], **settings)
    assert str(info.value) == message


# ---------------------------------------------------------------------------------------------- many targets
def slow_runner(delays):
    """A ping that answers after delays[address] seconds, with the captured outputs."""
    def runner(argv, _timeout):
        address = argv[-1]
        time.sleep(delays.get(address, 0))
        if '-M' in argv:
            return 1, PING_OUTPUTS['frag_needed'] if int(argv[argv.index('-s') + 1]) > 1372 else PING_OUTPUTS['df_fits']
        return (0, PING_OUTPUTS['ok']) if address.startswith('10.') else (1, PING_OUTPUTS['timeout'])
    return runner


def test_targets_run_at_once_and_come_back_in_order():
    targets = [{'address': '10.0.0.%d' % i, 'name': 'n%d' % i} for i in range(8)] + [{'address': '192.0.2.1'}]
    delays = {'10.0.0.0': 0.3, '10.0.0.1': 0.2}
    started = time.monotonic()
    results = probe_targets(targets, runner=slow_runner(delays))
    assert time.monotonic() - started < 0.55
    assert [r['name'] for r in results] == ['n%d' % i for i in range(8)] + ['192.0.2.1']
    assert [r['outcome'] for r in results] == ['connected'] * 8 + ['timeout']
    first = results[0]
    assert first['stats'] == {'count': 5, 'min': 0.105, 'avg': 0.109, 'p50': 0.107, 'p90': 0.1152, 'p99': 0.1195,
                              'max': 0.12}
    assert first['path_mtu'] is None and first['port'] is None and first['seconds'] >= 0.3
    assert results[-1]['stats'] is None and results[-1]['rtt_ms'] == []


def test_parallel_one_runs_one_at_a_time():
    targets = [{'address': '10.0.0.%d' % i} for i in range(3)]
    started = time.monotonic()
    probe_targets(targets, parallel=1, runner=slow_runner({t['address']: 0.1 for t in targets}))
    assert time.monotonic() - started >= 0.3


def test_targets_whose_turn_comes_after_the_time_budget_say_so():
    targets = [{'address': '10.0.0.%d' % i, 'name': 'n%d' % i} for i in range(3)]
    results = probe_targets(targets, parallel=1, runner=slow_runner({t['address']: 0.2 for t in targets}),
                            time_budget=0.1, budget=30)
    assert results[0]['outcome'] == 'connected' and 'budget_spent' not in results[0]
    assert [r['budget_spent'] for r in results[1:]] == [True, True]
    assert [r['outcome'] for r in results[1:]] == [None, None]
    assert results[1]['detail'] == 'not probed: the time budget of 30s was spent'


def test_path_mtu_only_for_targets_that_answer():
    results = probe_targets([{'address': '10.0.0.1'}, {'address': '192.0.2.1'}], path_mtu=True,
                            runner=slow_runner({}))
    assert [r['path_mtu'] for r in results] == [1400, None]


def test_wait_for_probes_until_the_outcome_is_wanted():
    answers = iter([PING_OUTPUTS['timeout'], PING_OUTPUTS['filtered'], PING_OUTPUTS['ok']])
    result = probe_targets([{'address': '10.0.0.1'}], count=1, interval=0.01, wait_for='connected',
                           runner=lambda argv, t: (0, next(answers)))[0]
    assert result['outcome'] == 'connected'
    assert result['detail'].startswith('5 of 5 echo requests answered (after 3 rounds, ')

    result = probe_targets([{'address': '10.0.0.1'}], count=1, interval=0.01, wait_for='blocked', wait_timeout=0.1,
                           runner=lambda argv, t: (0, PING_OUTPUTS['ok']))[0]
    assert result['outcome'] == 'connected' and 0.1 <= result['seconds'] < 0.5
    assert 'still not blocked after' in result['detail']


# ---------------------------------------------------------------------------------------------- sockets (loopback)
@pytest.fixture
def echo_port():
    """A UDP echo and a TCP listener on one loopback port."""
    for _attempt in range(20):  # the TCP side of a free UDP port may be taken by another process
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(('127.0.0.1', 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind(('127.0.0.1', port))
            break
        except OSError:
            udp.close()
            tcp.close()
    tcp.listen(16)
    stop = threading.Event()

    def echo():
        udp.settimeout(0.05)
        while not stop.is_set():
            try:
                data, peer = udp.recvfrom(2048)
                udp.sendto(data, peer)
            except OSError:
                continue

    thread = threading.Thread(target=echo, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join()
    udp.close()
    tcp.close()


def closed_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_tcp_and_udp_outcomes_on_loopback(echo_port):
    closed = closed_port()
    results = probe_targets([
        {'address': '127.0.0.1', 'proto': 'tcp', 'port': echo_port},
        {'address': '127.0.0.1', 'proto': 'udp', 'port': echo_port},
        {'address': '127.0.0.1', 'proto': 'tcp', 'port': closed},
        {'address': '127.0.0.1', 'proto': 'udp', 'port': closed},
        {'address': 'nosuch.invalid', 'proto': 'tcp', 'port': 1},
    ], count=3, interval=0.01, timeout=0.5)
    assert [r['outcome'] for r in results] == ['connected', 'connected', 'refused', 'refused', 'unreachable']
    assert [r['received'] for r in results] == [3, 3, 0, 0, 0]
    assert all(0 < rtt < 100 for r in results[:2] for rtt in r['rtt_ms'])
    assert results[0]['detail'] == '3 of 3 connects completed'
    assert results[1]['detail'] == '3 of 3 datagrams echoed'
    assert results[2]['detail'] == 'Connection refused'
    assert results[3]['detail'] == 'port unreachable'
    assert results[4]['detail'].startswith('cannot resolve nosuch.invalid')


def test_udp_without_an_echo_times_out():
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(('127.0.0.1', 0))
    try:
        result = probe_targets([{'address': '127.0.0.1', 'proto': 'udp', 'port': sink.getsockname()[1]}],
                               count=2, interval=0, timeout=0.1)[0]
    finally:
        sink.close()
    assert (result['outcome'], result['sent'], result['received']) == ('timeout', 2, 0)
    assert result['detail'] == 'no echo within 0.1s'


def test_errno_classes():
    assert probes._oserror_outcome(OSError(errno.EHOSTUNREACH, 'No route to host')) == 'unreachable'
    assert probes._oserror_outcome(OSError(errno.ENETUNREACH, 'Network is unreachable')) == 'unreachable'
    assert probes._oserror_outcome(ConnectionRefusedError(errno.ECONNREFUSED, 'refused')) == 'refused'
    assert probes._oserror_outcome(OSError(errno.EPERM, 'Operation not permitted')) == 'refused'
    assert probes._oserror_outcome(TimeoutError('timed out')) == 'timeout'
    assert probes.combine(['timeout', 'refused', 'timeout']) == 'refused'
    assert probes.combine(['timeout', 'connected']) == 'connected'


# ---------------------------------------------------------------------------------------------- responder options
def test_listen_ports_are_checked_and_sorted():
    assert responder.check_listen([{'proto': 'udp', 'port': 53}, {'proto': 'tcp', 'port': 5432},
                                   {'proto': 'udp', 'port': 53}]) == [
        {'proto': 'tcp', 'port': 5432, 'where': 'listen[1]'}, {'proto': 'udp', 'port': 53, 'where': 'listen[0]'}]
    assert responder.spec_of(responder.check_listen([{'proto': 'udp', 'port': 53}, {'port': 22}])) == 'tcp/22,udp/53'
    assert responder.parse_spec('tcp/22,udp/53') == [{'proto': 'tcp', 'port': 22}, {'proto': 'udp', 'port': 53}]


@pytest.mark.parametrize('listen, message', [
    ([{'proto': 'tcp', 'port': 22}, {'proto': 'sctp', 'port': 1}], "listen[1].proto: 'sctp' is not one of tcp, udp"),
    ([{'proto': 'tcp'}], 'listen[0].port: required'),
    ([{'proto': 'udp', 'port': 0}], 'listen[0].port: 0 is outside 1-65535'),
])
def test_bad_listen_names_the_field(listen, message):
    with pytest.raises(responder.ResponderError) as info:
        responder.check_listen(listen)
    assert str(info.value) == message


def test_listen_for_and_empty_listen_are_refused():
    with pytest.raises(responder.ResponderError, match='^listen_for: must be at least 1 second, got 0$'):
        responder.ensure_responder([{'proto': 'tcp', 'port': 1}], 0)
    with pytest.raises(responder.ResponderError, match=r'^listen: give at least one \{proto, port\}$'):
        responder.ensure_responder([], 10)


def test_processes_here_sees_this_process_and_no_zombie():
    own = dict(responder.processes_here())
    assert os.getpid() in own and responder.alive(os.getpid())
    assert not responder.alive(2 ** 22 + 1)


def test_check_mode_names_a_port_in_use_and_starts_nothing():
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(('0.0.0.0', 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(responder.ResponderError) as info:
            responder.ensure_responder([{'proto': 'udp', 'port': port}, {'proto': 'tcp', 'port': port}], 10,
                                       check_mode=True)
        assert str(info.value) == 'listen[1].port: tcp/%d is already in use in this network namespace' % port
        free = responder.ensure_responder([{'proto': 'udp', 'port': port}], 10, check_mode=True)
    finally:
        taken.close()
    assert free == {'changed': True, 'responder': {'pid': None, 'listen': [{'proto': 'udp', 'port': port}],
                                                   'identity': None, 'expires': None}}
    assert responder.find_responders() == []


def test_a_responder_is_kept_only_while_it_has_nearly_the_time_asked_for(monkeypatch):
    now = 1000000.0
    monkeypatch.setattr(responder.time, 'time', lambda: now)
    listen = [{'proto': 'tcp', 'port': 5999}]
    running = {'pid': 4242, 'spec': responder.spec_of(responder.check_listen(listen)), 'deadline': now + 550,
               'identity': None}
    monkeypatch.setattr(responder, 'find_responders', lambda: [running])
    kept = responder.ensure_responder(listen, 600, check_mode=True)
    assert kept['changed'] is False and kept['responder']['pid'] == 4242
    running['deadline'] = now + 500  # more than a minute used up: a later run gets a fresh one
    renewed = responder.ensure_responder(listen, 600, check_mode=True)
    assert renewed['changed'] is True and renewed['responder']['pid'] is None
    running['deadline'] = now + 6  # a short one is kept while half of its time is left
    assert responder.ensure_responder(listen, 10, check_mode=True)['changed'] is False
    running['deadline'] = now + 4
    assert responder.ensure_responder(listen, 10, check_mode=True)['changed'] is True


# ---------------------------------------------------------------------------------------------- who answered
DB = {'name': 'db', 'id': '0a1b'}
CACHE = {'name': 'cache', 'id': '9f8e'}


def test_the_first_answer_from_another_server_is_the_one_named():
    assert probes.answered_by([DB, DB], 'db') == (DB, False, None)
    assert probes.answered_by([DB, DB], None) == (DB, False, None)
    assert probes.answered_by([None, None], 'db') == (None, False, None)  # responders without identity
    assert probes.answered_by([CACHE, CACHE], 'db') == (CACHE, True, 'answered by cache')
    assert probes.answered_by([DB, CACHE, None], 'db') == (CACHE, True, 'answered by cache in 1 of 3 answers')
    assert probes.answered_by([], 'db') == (None, False, None)


def test_the_identity_wait_follows_the_connect_time():
    assert probes.identity_wait(0.0001, 1.0) == probes.IDENTITY_WAIT
    assert probes.identity_wait(0.2, 1.0) == 0.8
    assert probes.identity_wait(0.5, 1.0) == 1.0
    assert probes.identity_wait(0.0001, 0.1) == 0.1


@pytest.fixture
def start_responder():
    """start(identity) -> a port on which a real responder daemon answers tcp and udp; a marker of
    its own keeps it apart from responders that ensure_responder would find and stop."""
    pids = []

    def start(identity):
        for _attempt in range(20):
            tcp = responder.bind({'proto': 'tcp', 'port': 0, 'where': 'test'})
            port = tcp.getsockname()[1]
            try:
                udp = responder.bind({'proto': 'udp', 'port': port, 'where': 'test'})
                break
            except responder.ResponderError:
                tcp.close()
        ports = [{'proto': 'tcp', 'port': port}, {'proto': 'udp', 'port': port}]
        fds = [tcp.fileno(), udp.fileno()]
        try:
            argv, env = responder.python_daemon(responder.RESPONDER, 'cloudops-multicloud-test-responder',
                                                responder.responder_args(ports, fds, time.time() + 30, identity))
            pids.append(responder.spawn_detached(argv, pass_fds=fds, env=env))
        finally:
            tcp.close()
            udp.close()
        return port

    yield start
    for pid in pids:
        responder.stop(pid)


def test_a_responder_names_its_server_to_tcp_and_udp_probes(start_responder):
    port = start_responder(DB)
    targets = [{'address': '127.0.0.1', 'proto': proto, 'port': port, 'expect': expect, 'name': '%s %s' % (proto, expect)}
               for proto in ('tcp', 'udp') for expect in ('db', 'cache', None)]
    results = {r['name']: r for r in probe_targets(targets, count=2, interval=0.01, timeout=1)}
    for proto in ('tcp', 'udp'):
        right, wrong, unset = results['%s db' % proto], results['%s cache' % proto], results['%s None' % proto]
        assert {r['outcome'] for r in (right, wrong, unset)} == {'connected'}, results
        assert right['answered_by'] == wrong['answered_by'] == unset['answered_by'] == DB
        assert (right['wrong_server'], wrong['wrong_server'], unset['wrong_server']) == (False, True, False)
        assert wrong['detail'] == 'answered by db'
        assert right['received'] == 2 and right['detail'] == '2 of 2 %s' % (
            'connects completed' if proto == 'tcp' else 'datagrams echoed')
    assert results['tcp db']['stats']['max'] < 100, 'the connect time leaves the identity line out'


def test_a_responder_without_identity_names_nobody(start_responder):
    port = start_responder(None)
    results = probe_targets([{'address': '127.0.0.1', 'proto': proto, 'port': port, 'expect': 'db'}
                             for proto in ('tcp', 'udp')], count=1, timeout=1)
    assert [(r['outcome'], r['answered_by'], r['wrong_server']) for r in results] == [('connected', None, False)] * 2


def test_a_silent_service_costs_the_identity_wait_only(echo_port):
    # echo_port's TCP side never accepts: the handshake completes, no line comes.
    started = time.monotonic()
    [result] = probe_targets([{'address': '127.0.0.1', 'proto': 'tcp', 'port': echo_port, 'expect': 'db'}],
                             count=1, timeout=1)
    assert (result['outcome'], result['answered_by'], result['wrong_server']) == ('connected', None, False)
    assert probes.IDENTITY_WAIT <= time.monotonic() - started < 0.9


def test_wait_for_connected_keeps_waiting_while_another_server_answers(start_responder):
    port = start_responder(CACHE)
    [result] = probe_targets([{'address': '127.0.0.1', 'proto': 'tcp', 'port': port, 'expect': 'db'}], count=1,
                             interval=0.01, timeout=0.5, wait_for='connected', wait_timeout=0.3)
    assert result['outcome'] == 'connected' and result['wrong_server'] and result['seconds'] >= 0.3
    assert result['detail'].startswith('answered by cache (still not connected to db after ')
