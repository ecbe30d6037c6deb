"""ICMP echo without ping: packets, the error queue, outcomes as ping's; echo itself on loopback only."""

from __future__ import annotations

import errno
import socket
import struct

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import icmp_socket, probes
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.icmp_socket import (
    EXTENDED_ERR, ICMP_ERRORS, IcmpError, checksum, describe_error, echo_request, parse_echo_reply, parse_queued_error,
    summarize,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.probes import parse_ping

V4, V6 = socket.AF_INET, socket.AF_INET6


def sockaddr_in(address):
    return struct.pack('=HH4s8x', V4, 0, socket.inet_aton(address))


def sockaddr_in6(address):
    return struct.pack('=HHI16sI', V6, 0, 0, socket.inet_pton(V6, address), 0)


def queued(family, code, origin, icmp_type, icmp_code, info, offender=b'', data=b''):
    """What recvmsg(MSG_ERRQUEUE) hands back: (ancillary, data)."""
    level, kind = (socket.IPPROTO_IP, 11) if family == V4 else (socket.IPPROTO_IPV6, 25)
    return [(level, kind, EXTENDED_ERR.pack(code, origin, icmp_type, icmp_code, 0, info, 0) + offender)], data


def usable(kind):
    """Whether this test run may open an ICMP socket of ``kind`` (a raw one needs root)."""
    try:
        icmp_socket.open_icmp(V4, (kind,))[0].close()
    except IcmpError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- packets
def test_checksum_of_rfc_1071s_example():
    assert checksum(bytes.fromhex('0001f203f4f5f6f7')) == 0x220d
    assert checksum(b'\x01') == checksum(b'\x01\x00')  # an odd length is padded with a zero


def test_an_echo_request_sums_to_zero_and_carries_its_numbers():
    packet = echo_request(V4, 0x1234, 7, b'cookie!!' + bytes(48))
    assert len(packet) == 64 and checksum(packet) == 0
    assert struct.unpack('!BBHHH', packet[:8])[0:2] == (8, 0)
    assert struct.unpack('!HH', packet[4:8]) == (0x1234, 7)
    assert echo_request(V4, 0x10000 + 5, 0x10000 + 9, b'')[4:8] == b'\x00\x05\x00\x09'  # 16 bits each
    six = echo_request(V6, 1, 2, b'x')
    assert six[0] == 128 and six[2:4] == b'\x00\x00'  # the kernel sums ICMPv6


def test_an_echo_reply_is_read_with_or_without_the_ip_header():
    reply = bytearray(echo_request(V4, 99, 3, b'payload'))
    reply[0] = 0  # echo reply
    assert parse_echo_reply(bytes(reply), V4) == (99, 3, b'payload')
    ip_header = bytes([0x45]) + bytes(19)
    assert parse_echo_reply(ip_header + bytes(reply), V4, with_ip_header=True) == (99, 3, b'payload')
    assert parse_echo_reply(echo_request(V4, 99, 3, b''), V4) is None  # our own request, seen by a raw socket
    assert parse_echo_reply(b'\x00\x00', V4) is None
    six = bytearray(echo_request(V6, 5, 6, b'p'))
    six[0] = 129
    assert parse_echo_reply(bytes(six), V6) == (5, 6, b'p')


# ---------------------------------------------------------------------------------------------- the error queue
def test_a_routers_frag_needed_names_its_mtu_and_the_sequence():
    ancillary, data = queued(V4, errno.EMSGSIZE, 2, 3, 4, 1400, sockaddr_in('10.77.1.1'), echo_request(V4, 1, 4, b''))
    error = parse_queued_error(V4, ancillary, data)
    assert error == {'errno': errno.EMSGSIZE, 'origin': 2, 'type': 3, 'code': 4, 'info': 1400,
                     'offender': '10.77.1.1', 'seq': 4}
    assert describe_error(V4, error) == (None, 'From 10.77.1.1 icmp_seq=4 Frag needed and DF set (mtu = 1400)', 1400)


def test_a_local_message_too_long_has_no_offender():
    ancillary, data = queued(V4, errno.EMSGSIZE, 1, 0, 0, 1400, struct.pack('=H14x', 0))
    error = parse_queued_error(V4, ancillary, data)
    assert error['offender'] is None and error['seq'] is None
    assert describe_error(V4, error) == (None, 'ping: local error: message too long, mtu=1400', 1400)


def test_ipv6_errors_and_other_messages():
    ancillary, data = queued(V6, errno.EACCES, 3, 1, 1, 0, sockaddr_in6('2001:db8::1'), echo_request(V6, 1, 2, b''))
    error = parse_queued_error(V6, ancillary, data)
    assert describe_error(V6, error) == (
        'refused', 'From 2001:db8::1 icmp_seq=2 Destination unreachable: Administratively prohibited', None)
    ancillary, _data = queued(V6, errno.EMSGSIZE, 3, 2, 0, 1280, sockaddr_in6('2001:db8::1'))
    assert describe_error(V6, parse_queued_error(V6, ancillary, b''))[0::2] == (None, 1280)
    assert parse_queued_error(V4, [(socket.SOL_SOCKET, 29, b'\0' * 16)], b'') is None  # a timestamp, say
    assert parse_queued_error(V4, [], b'') is None


def test_an_unknown_icmp_error_is_unreachable():
    error = {'errno': errno.EHOSTUNREACH, 'origin': 2, 'type': 12, 'code': 0, 'info': 0, 'offender': '10.0.0.1', 'seq': 1}
    assert describe_error(V4, error) == ('unreachable', 'From 10.0.0.1 icmp_seq=1 ICMP type 12 code 0', None)


@pytest.mark.parametrize('key', sorted(k for k in ICMP_ERRORS if k[0] == V4))
def test_every_icmp_error_classifies_as_ping_would(key):
    family, icmp_type, icmp_code = key
    error = {'errno': 0, 'origin': 2, 'type': icmp_type, 'code': icmp_code, 'info': 1400, 'offender': '10.77.1.1', 'seq': 1}
    outcome, line, hint = describe_error(family, error)
    parsed = parse_ping(line + '\n')
    if outcome is None:
        assert (parsed['too_big'], parsed['mtu_hint'], hint) == (True, 1400, 1400)
    else:
        assert parsed['outcome'] == outcome, line


def test_local_errors_classify_as_pings_own_lines():
    for code, outcome in ((errno.EPERM, 'refused'), (errno.EACCES, 'refused'), (errno.ENETUNREACH, 'unreachable'),
                          (errno.EHOSTUNREACH, 'unreachable')):
        error = {'errno': code, 'origin': 1, 'type': 0, 'code': 0, 'info': 0, 'offender': None, 'seq': None}
        assert describe_error(V4, error)[0] == outcome
    assert parse_ping('ping: sendmsg: Operation not permitted\n')['outcome'] == icmp_socket.errno_outcome(errno.EPERM)


# ---------------------------------------------------------------------------------------------- outcomes
def test_summaries_have_parse_pings_shape_and_precedence():
    assert summarize(3, [0.1, 0.2], [('unreachable', 'x')]) == {
        'outcome': 'connected', 'sent': 3, 'received': 2, 'rtt_ms': [0.1, 0.2], 'detail': '2 of 3 echo requests answered',
        'mtu_hint': None, 'too_big': False}
    assert set(summarize(1, [], [])) == set(parse_ping(''))
    errors = [('unreachable', 'From a icmp_seq=1 Destination Net Unreachable'), ('refused', 'From b icmp_seq=2 Packet filtered'),
              ('refused', 'From c icmp_seq=3 Packet filtered')]
    assert summarize(3, [], errors)['detail'] == 'From b icmp_seq=2 Packet filtered'
    assert summarize(3, [], errors[:1])['outcome'] == 'unreachable'
    assert summarize(1, [], [])['detail'] == 'no reply to 1 echo request'
    assert summarize(1, [], [], too_big=True, mtu_hint=1400)['detail'] == 'too big to pass without fragmenting'


def test_a_name_that_does_not_resolve_is_unreachable():
    result = icmp_socket.echo('nosuch.invalid', 1, 0.1, 0.2)
    assert result['outcome'] == 'unreachable' and result['detail'].startswith('ping: nosuch.invalid: ')


def test_no_icmp_socket_allowed_is_one_line(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise PermissionError(errno.EACCES, 'Permission denied')
    monkeypatch.setattr(icmp_socket.socket, 'socket', refuse)
    with pytest.raises(IcmpError) as info:
        icmp_socket.open_icmp(V4)
    assert str(info.value) == (
        'ping is not installed on this host, and this user may open no ICMP socket (dgram socket: Permission denied; '
        'raw socket: Permission denied): an ICMP socket needs a group in net.ipv4.ping_group_range, a raw one root')


# ---------------------------------------------------------------------------------------------- loopback
@pytest.mark.parametrize('kind', icmp_socket.KINDS)
def test_echo_on_loopback(kind):
    if not usable(kind):
        pytest.skip('this user may not open an ICMP %s socket here' % kind)
    result = icmp_socket.echo('127.0.0.1', 3, 0.01, 0.5, kinds=(kind,))
    assert (result['outcome'], result['sent'], result['received']) == ('connected', 3, 3), result
    assert all(0 < rtt < 100 for rtt in result['rtt_ms'])
    assert icmp_socket.echo('127.0.0.1', 1, 0.2, 0.5, size=1472, kinds=(kind,))['received'] == 1  # DF, within lo's MTU


def test_probe_targets_without_ping_use_the_icmp_socket(monkeypatch):
    if not (usable('dgram') or usable('raw')):
        pytest.skip('this user may open no ICMP socket here')
    monkeypatch.setattr(probes.shutil, 'which', lambda name: None)

    def never(argv, timeout):
        pytest.fail('ran %s, which is not installed' % argv[0])

    assert probes.icmp_tool() == probes.icmp_tool(never) == 'python'
    results = probes.probe_targets([{'address': '127.0.0.1'}, {'address': '127.0.0.1', 'proto': 'tcp', 'port': 1}],
                                   count=2, interval=0.01, timeout=0.5, path_mtu=True, mtu_max=1500, runner=never)
    assert [(r['tool'], r['outcome']) for r in results] == [('python', 'connected'), ('socket', 'refused')]
    assert results[0]['path_mtu'] == 1500 and results[0]['detail'] == '2 of 2 echo requests answered'
