"""iperf3 output parsing, option checks and the UDP rate search, without a network."""

from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import iperf
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.iperf import (
    IperfError, check_options, parse_result, search_udp_rate,
)
from ansible_collections.cloudops.multicloud.plugins.plugin_utils.commands import run_command

# Captured on the lab with iperf3 3.12 -J (re-indented), client in one VM, server in another.
TCP_JSON = r'''
{
 "start": {
  "connected": [
   {
    "socket": 5,
    "local_host": "10.77.1.2",
    "local_port": 60556,
    "remote_host": "10.77.2.3",
    "remote_port": 5201
   }
  ],
  "version": "iperf 3.12",
  "system_info": "Linux web 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 x86_64",
  "timestamp": {
   "time": "Wed, 25 Nov 2026 10:34:46 GMT",
   "timesecs": 1795602886
  },
  "connecting_to": {
   "host": "10.77.2.3",
   "port": 5201
  },
  "cookie": "a7dcxlndbtaenidaehfnb2qc7ifamfi36ljm",
  "tcp_mss_default": 1348,
  "target_bitrate": 0,
  "sock_bufsize": 0,
  "sndbuf_actual": 16384,
  "rcvbuf_actual": 131072,
  "test_start": {
   "protocol": "TCP",
   "num_streams": 1,
   "blksize": 131072,
   "omit": 0,
   "duration": 2,
   "bytes": 0,
   "blocks": 0,
   "reverse": 0,
   "tos": 0,
   "target_bitrate": 0
  }
 },
 "intervals": [
  {
   "streams": [
    {
     "socket": 5,
     "start": 0,
     "end": 1.000083,
     "seconds": 1.0000829696655273,
     "bytes": 2141978624,
     "bits_per_second": 17134407355.952667,
     "retransmits": 144,
     "snd_cwnd": 528416,
     "snd_wnd": 4302848,
     "rtt": 47,
     "rttvar": 14,
     "pmtu": 1500,
     "omitted": false,
     "sender": true
    }
   ],
   "sum": {
    "start": 0,
    "end": 1.000083,
    "seconds": 1.0000829696655273,
    "bytes": 2141978624,
    "bits_per_second": 17134407355.952667,
    "retransmits": 144,
    "omitted": false,
    "sender": true
   }
  },
  {
   "streams": [
    {
     "socket": 5,
     "start": 1.000083,
     "end": 2.000014,
     "seconds": 0.99993097782135,
     "bytes": 2608332800,
     "bits_per_second": 20868102761.916916,
     "retransmits": 0,
     "snd_cwnd": 415184,
     "snd_wnd": 4359168,
     "rtt": 50,
     "rttvar": 15,
     "pmtu": 1500,
     "omitted": false,
     "sender": true
    }
   ],
   "sum": {
    "start": 1.000083,
    "end": 2.000014,
    "seconds": 0.99993097782135,
    "bytes": 2608332800,
    "bits_per_second": 20868102761.916916,
    "retransmits": 0,
    "omitted": false,
    "sender": true
   }
  }
 ],
 "end": {
  "streams": [
   {
    "sender": {
     "socket": 5,
     "start": 0,
     "end": 2.000014,
     "seconds": 2.000014,
     "bytes": 4750311424,
     "bits_per_second": 19001112688.21118,
     "retransmits": 144,
     "max_snd_cwnd": 528416,
     "max_snd_wnd": 4359168,
     "max_rtt": 50,
     "min_rtt": 47,
     "mean_rtt": 48,
     "sender": true
    },
    "receiver": {
     "socket": 5,
     "start": 0,
     "end": 2.000061,
     "seconds": 2.000014,
     "bytes": 4750311424,
     "bits_per_second": 19000666175.68164,
     "sender": true
    }
   }
  ],
  "sum_sent": {
   "start": 0,
   "end": 2.000014,
   "seconds": 2.000014,
   "bytes": 4750311424,
   "bits_per_second": 19001112688.21118,
   "retransmits": 144,
   "sender": true
  },
  "sum_received": {
   "start": 0,
   "end": 2.000061,
   "seconds": 2.000061,
   "bytes": 4750311424,
   "bits_per_second": 19000666175.68164,
   "sender": true
  },
  "cpu_utilization_percent": {
   "host_total": 95.50948619542646,
   "host_user": 1.457508807842914,
   "host_system": 94.05202733990407,
   "remote_total": 81.41356073552396,
   "remote_user": 3.80751343184184,
   "remote_system": 77.605997306132
  },
  "sender_tcp_congestion": "bbr",
  "receiver_tcp_congestion": "bbr"
 }
}
'''

UDP_JSON = r'''
{
 "start": {
  "connected": [
   {
    "socket": 5,
    "local_host": "10.77.1.2",
    "local_port": 48287,
    "remote_host": "10.77.2.3",
    "remote_port": 5201
   }
  ],
  "version": "iperf 3.12",
  "system_info": "Linux web 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 x86_64",
  "timestamp": {
   "time": "Wed, 25 Nov 2026 10:35:06 GMT",
   "timesecs": 1795602906
  },
  "connecting_to": {
   "host": "10.77.2.3",
   "port": 5201
  },
  "cookie": "dr2pfy342urknyx7sojy2swufz6i267yjjkt",
  "target_bitrate": 1000000000,
  "sock_bufsize": 0,
  "sndbuf_actual": 212992,
  "rcvbuf_actual": 212992,
  "test_start": {
   "protocol": "UDP",
   "num_streams": 1,
   "blksize": 1348,
   "omit": 0,
   "duration": 1,
   "bytes": 0,
   "blocks": 0,
   "reverse": 0,
   "tos": 0,
   "target_bitrate": 1000000000
  }
 },
 "intervals": [
  {
   "streams": [
    {
     "socket": 5,
     "start": 0,
     "end": 1.000017,
     "seconds": 1.0000170469284058,
     "bytes": 98389172,
     "bits_per_second": 787099958.3633616,
     "packets": 72989,
     "omitted": false,
     "sender": true
    }
   ],
   "sum": {
    "start": 0,
    "end": 1.000017,
    "seconds": 1.0000170469284058,
    "bytes": 98389172,
    "bits_per_second": 787099958.3633616,
    "packets": 72989,
    "omitted": false,
    "sender": true
   }
  }
 ],
 "end": {
  "streams": [
   {
    "udp": {
     "socket": 5,
     "start": 0,
     "end": 1.000017,
     "seconds": 1.000017,
     "bytes": 98389172,
     "bits_per_second": 787099995.30008,
     "jitter_ms": 0.009206724868537023,
     "lost_packets": 1628,
     "packets": 72989,
     "lost_percent": 2.230473084985409,
     "out_of_order": 0,
     "sender": true
    }
   }
  ],
  "sum": {
   "start": 0,
   "end": 1.000097,
   "seconds": 1.000097,
   "bytes": 98389172,
   "bits_per_second": 787099995.30008,
   "jitter_ms": 0.009206724868537023,
   "lost_packets": 1628,
   "packets": 72989,
   "lost_percent": 2.230473084985409,
   "sender": true
  },
  "sum_sent": {
   "start": 0,
   "end": 1.000017,
   "seconds": 1.000017,
   "bytes": 98389172,
   "bits_per_second": 787099995.30008,
   "jitter_ms": 0,
   "lost_packets": 0,
   "packets": 72989,
   "lost_percent": 0,
   "sender": true
  },
  "sum_received": {
   "start": 0,
   "end": 1.000097,
   "seconds": 1.000097,
   "bytes": 96194628,
   "bits_per_second": 769482384.2087318,
   "jitter_ms": 0.009206724868537023,
   "lost_packets": 1628,
   "packets": 72989,
   "lost_percent": 2.230473084985409,
   "sender": false
  },
  "cpu_utilization_percent": {
   "host_total": 98.78884296529615,
   "host_user": 3.7071198445881666,
   "host_system": 95.0819229816048,
   "remote_total": 50.2315233748119,
   "remote_user": 2.3830259520155184,
   "remote_system": 47.8485974112977
  }
 }
}
'''

# Every failed client run printed this document, with its own error.
ERROR_SKELETON = r'''
{
 "start": {
  "connected": [],
  "version": "iperf 3.12",
  "system_info": "Linux web 6.18.44-fc-v782 #1 SMP PREEMPT_DYNAMIC @0 x86_64"
 },
 "intervals": [],
 "end": {}
}
'''
ERRORS = {
    'refused': 'unable to connect to server: Connection refused',
    'timeout': 'unable to connect to server: Connection timed out',
    'noroute': 'unable to connect to server: Network is unreachable',
    'busy': 'the server is busy running a test. try again later',
}


def error_output(name):
    return ERROR_SKELETON.rstrip().rstrip('}') + ', "error": "%s"\n}\n' % ERRORS[name]


# ---------------------------------------------------------------------------------------------- parsing
def test_tcp_result():
    assert parse_result(TCP_JSON, 'tcp') == {'gbps': 19.0007, 'seconds': 2.0, 'retransmits': 144,
                                             'intervals_gbps': [17.1344, 20.8681]}


def test_udp_result_counts_what_arrived():
    assert parse_result(UDP_JSON, 'udp') == {'gbps': 0.7695, 'seconds': 1.0, 'loss_pct': 2.2305,
                                             'intervals_gbps': [0.7871]}


@pytest.mark.parametrize('name', sorted(ERRORS))
def test_errors_are_iperf3s_own_words(name):
    assert '"error"' in error_output(name)
    with pytest.raises(IperfError) as info:
        parse_result(error_output(name), 'tcp')
    assert str(info.value) == ERRORS[name]


def test_output_that_is_not_json():
    with pytest.raises(IperfError, match='^iperf3: error - unable to send control message: Bad file descriptor$'):
        parse_result('', 'tcp', 'iperf3: error - unable to send control message: Bad file descriptor\n')
    with pytest.raises(IperfError, match='^iperf3 printed nothing$'):
        parse_result('', 'udp')


def test_errors_say_what_to_do():
    assert iperf.describe(ERRORS['refused'], '10.0.0.3', 5201) == (
        'server: no iperf3 server answers on 10.0.0.3:5201 (unable to connect to server: Connection refused); '
        'start one there with listen: true')
    assert iperf.describe(ERRORS['busy'], '10.0.0.3', 5201) == (
        'server: the iperf3 server on 10.0.0.3:5201 is busy running another test '
        '(the server is busy running a test. try again later)')
    assert iperf.describe('unable to receive results', 'h', 1) == 'iperf3 to h:1 failed: unable to receive results'
    # Captured with udp/5432 dropped by a security group that allows tcp/5432: after 30 s.
    assert iperf.describe('unable to read from stream socket: Resource temporarily unavailable', '10.77.2.2', 5432) == (
        'server: 10.77.2.2:5432 takes iperf3 control connections but its data port does not answer '
        '(unable to read from stream socket: Resource temporarily unavailable); is udp/5432 open?')


def test_client_command_line():
    assert iperf.client_argv('10.0.0.3', 5201, 'tcp', 2.0, 1) == [
        'iperf3', '-c', '10.0.0.3', '-p', '5201', '-t', '2', '-J', '--connect-timeout', '5000']
    assert iperf.client_argv('10.0.0.3', 5999, 'udp', 1, 4, 1250)[-5:] == ['-P', '4', '-u', '-b', '312.5M']
    assert iperf.client_argv('10.0.0.3', 5999, 'udp', 1, 1, 156.25)[-3:] == ['-u', '-b', '156.25M']


# ---------------------------------------------------------------------------------------------- running the client
class FakeRun:
    """A run_command that answers with the given stdouts in turn."""

    def __init__(self, *stdouts):
        self.stdouts = list(stdouts)
        self.calls = []

    def __call__(self, argv, **_kwargs):
        self.calls.append(argv)
        return 0, self.stdouts.pop(0), ''


def test_a_busy_server_is_waited_for(monkeypatch):
    fake = FakeRun(error_output('busy'), error_output('busy'), TCP_JSON)
    monkeypatch.setattr(iperf.time, 'sleep', lambda s: None)
    assert iperf.run_client(Commands(fake), ['iperf3'], 'tcp', 2, 'h', 5201)['gbps'] == 19.0007
    assert len(fake.calls) == 3


def test_a_server_busy_for_long_fails(monkeypatch):
    monkeypatch.setattr(iperf.time, 'sleep', lambda s: None)
    busy = Commands(FakeRun(*[error_output('busy')] * (iperf.BUSY_RETRIES + 1)))
    with pytest.raises(IperfError, match='^server: the iperf3 server on h:5201 is busy'):
        iperf.run_client(busy, ['iperf3'], 'tcp', 2, 'h', 5201)


def test_an_unreachable_server_fails_at_once():
    fake = FakeRun(error_output('noroute'))
    with pytest.raises(IperfError, match=r'^server: no iperf3 server answers on h:5201 \(unable to connect to server: '
                                         r'Network is unreachable\)'):
        iperf.run_client(Commands(fake), ['iperf3'], 'tcp', 2, 'h', 5201)
    assert len(fake.calls) == 1


def test_missing_iperf3(monkeypatch):
    with pytest.raises(IperfError, match=r'^iperf3 is not installed on this host \(Debian package iperf3\)$'):
        iperf.run_client(Commands(run_command), ['cloudops-no-such-iperf3'], 'tcp', 2, 'h', 5201)
    monkeypatch.setattr(iperf.shutil, 'which', lambda name: None)
    with pytest.raises(IperfError, match='^iperf3 is not installed'):
        iperf.measure(dict(PARAMS, server='h'), Commands(run_command))
    with pytest.raises(IperfError, match='^iperf3 is not installed'):
        iperf.ensure_server(59999, 10)


# ---------------------------------------------------------------------------------------------- UDP search
def path(capacity, noise=0.0):
    """measure() of a path that carries ``capacity`` Mbit/s and loses what is sent above it."""
    asked = []

    def measure(rate):
        asked.append(rate)
        carried = min(rate, capacity)
        loss = (rate - carried) / rate * 100 + noise
        return {'gbps': round(carried / 1000, 4), 'loss_pct': round(loss, 4), 'seconds': 1.0, 'intervals_gbps': []}
    return measure, asked


def test_rate_max_that_passes_ends_the_search():
    measure, asked = path(20000)
    best, steps = search_udp_rate(measure, 10000, (2, 5), 8)
    assert asked == [10000.0] and best['target_mbps'] == 10000.0 and best['loss_pct'] == 0
    assert steps == [{'target_mbps': 10000.0, 'gbps': 10.0, 'loss_pct': 0.0}]


def test_halves_then_bisects_into_the_band():
    measure, asked = path(800)
    best, steps = search_udp_rate(measure, 10000, (2, 5), 8)
    # 10000, 5000, 2500, 1250 lose too much; 625 loses nothing; then 937.5 (14.7 %), 781.25 (0 %)...
    assert asked[:6] == [10000.0, 5000.0, 2500.0, 1250.0, 625.0, 937.5]
    assert len(steps) <= 8
    assert best['loss_pct'] <= 5
    assert best['target_mbps'] == max(s['target_mbps'] for s in steps if s['loss_pct'] <= 5)


def test_stops_as_soon_as_a_rate_is_in_the_band():
    measure, asked = path(800, noise=0.0)
    best, _steps = search_udp_rate(measure, 820, (2, 5), 8)
    assert asked == [820.0]  # 2.44 % loss: in the band at once
    assert best['loss_pct'] == 2.439


def test_bisection_converges_on_the_band():
    measure, asked = path(771)
    best, steps = search_udp_rate(measure, 1000, (2, 5), 20)
    assert 2 <= best['loss_pct'] <= 5
    assert asked[-1] == best['target_mbps'] and len(steps) < 20


def test_max_steps_bounds_the_search():
    measure, asked = path(3)
    best, steps = search_udp_rate(measure, 10000, (2, 5), 4)
    assert asked == [10000.0, 5000.0, 2500.0, 1250.0] and len(steps) == 4
    assert best['target_mbps'] == 1250.0 and best['loss_pct'] > 5  # the least lossy, and it shows


def test_constant_loss_above_the_band_tries_every_step():
    measure, asked = path(10 ** 6, noise=7.0)
    best, steps = search_udp_rate(measure, 10000, (2, 5), 8)
    assert len(asked) == 8 and asked[-1] == 78.125
    assert best['loss_pct'] == 7.0


# ---------------------------------------------------------------------------------------------- options
PARAMS = {'server': None, 'port': 5201, 'proto': 'tcp', 'duration': 2.0, 'streams': 1, 'loss_band': [2.0, 5.0],
          'rate_max': 10000, 'max_steps': 8, 'listen': False, 'listen_for': 300}


@pytest.mark.parametrize('changes, message', [
    ({}, 'server: required, unless listen is true'),
    ({'listen': True, 'server': 'h'}, 'server: not used with listen: true, which starts the server on this host'),
    ({'server': 'h', 'port': 0}, 'port: 0 is outside 1-65535'),
    ({'listen': True, 'listen_for': 0}, 'listen_for: must be at least 1 second, got 0'),
    ({'server': 'h', 'duration': 0.5}, 'duration: iperf3 runs whole seconds, at least 1; got 0.5'),
    ({'server': 'h', 'duration': 2.5}, 'duration: iperf3 runs whole seconds, at least 1; got 2.5'),
    ({'server': 'h', 'streams': 0}, 'streams: must be at least 1, got 0'),
    ({'server': 'h', 'loss_band': [5.0, 2.0]},
     'loss_band: two percentages [low, high] with 0 <= low <= high <= 100, got [5.0, 2.0]'),
    ({'server': 'h', 'loss_band': [5.0]}, 'loss_band: two percentages [low, high] with 0 <= low <= high <= 100, got [5.0]'),
    ({'server': 'h', 'rate_max': 0}, 'rate_max: must be at least 1 Mbit/s, got 0'),
    ({'server': 'h', 'max_steps': 0}, 'max_steps: must be at least 1, got 0'),
])
def test_bad_options_name_the_field(changes, message):
    with pytest.raises(IperfError) as info:
        check_options(dict(PARAMS, **changes))
    assert str(info.value) == message


def test_good_options_pass():
    check_options(dict(PARAMS, server='h'))
    check_options(dict(PARAMS, listen=True))


@pytest.mark.parametrize('argv, port', [
    (['iperf3', '-s'], 5201),
    (['/usr/bin/iperf3', '-s', '-D', '-p', '5999'], 5999),
    (['iperf3', '--server', '--port=6000'], 6000),
    (['iperf3', '-s', '-p6001'], 6001),
    (['iperf3', '-c', '10.0.0.1', '-p', '5201'], None),
    (['python3', '-s', '-p', '5201'], None),
])
def test_server_port_of_a_command_line(argv, port):
    assert iperf.server_port(argv) == port


def test_a_bandwidth_cap_is_iperf3s_rate_per_tcp_stream():
    assert iperf.client_argv('10.0.0.3', 5201, 'tcp', 2, 2, bandwidth=100)[-4:] == ['-P', '2', '-b', '100M']
    assert '-b' not in iperf.client_argv('10.0.0.3', 5201, 'tcp', 2, 1)


@pytest.mark.parametrize('bandwidth, streams, start', [(None, 2, 10000), (100, 2, 200), (8000, 2, 10000)])
def test_a_bandwidth_cap_bounds_where_the_udp_search_starts(bandwidth, streams, start):
    assert iperf.udp_rate_max({'rate_max': 10000, 'streams': streams, 'bandwidth': bandwidth}) == start


def test_a_bandwidth_cap_of_nothing_is_named():
    with pytest.raises(iperf.IperfError, match='bandwidth: a cap per stream must be more than 0 Mbit/s, got 0'):
        iperf.check_options({'server': 'x', 'port': 5201, 'proto': 'tcp', 'duration': 1, 'streams': 1,
                             'loss_band': [2, 5], 'rate_max': 10, 'max_steps': 8, 'listen': False,
                             'listen_for': 300, 'bandwidth': 0})
