# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ICMP echo from Python, for hosts without ping: the same result as probes.parse_ping gives.

An unprivileged ICMP socket (SOCK_DGRAM, open to the groups of net.ipv4.ping_group_range) is
tried first, a raw one (root) next. ICMP errors come from the socket's error queue (IP_RECVERR):
the type and code a router sent, and the MTU of a "frag needed" or of a local EMSGSIZE.
Packet building and parsing are pure functions, tested without a network.
"""

from __future__ import annotations

import errno
import itertools
import os
import random
import select
import socket
import struct
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

KINDS = ('dgram', 'raw')
PAYLOAD = 56  # ping's default payload
ECHO = struct.Struct('!BBHHH')  # type, code, checksum, identifier, sequence
EXTENDED_ERR = struct.Struct('=IBBBBII')  # struct sock_extended_err (linux/errqueue.h)
SO_EE_ORIGIN_LOCAL = 1
MSG_ERRQUEUE = getattr(socket, 'MSG_ERRQUEUE', 0x2000)
# The kernel's arrival time of each reply (struct timespec), as ping takes it: a busy host that reads
# the reply late does not add its delay to the round trip.
SO_TIMESTAMPNS = getattr(socket, 'SO_TIMESTAMPNS', 35)
TIMESPEC = struct.Struct('=qq')
# Per family: the Linux socket options Python's socket module does not name, and the ICMP numbers.
FAMILIES = {
    socket.AF_INET: {'proto': socket.IPPROTO_ICMP, 'level': socket.IPPROTO_IP, 'request': 8, 'reply': 0,
                     'recverr': 11, 'mtu_discover': 10, 'pmtudisc_do': 2, 'mtu': 14, 'header': 28, 'origin': 2},
    socket.AF_INET6: {'proto': socket.IPPROTO_ICMPV6, 'level': socket.IPPROTO_IPV6, 'request': 128, 'reply': 129,
                      'recverr': 25, 'mtu_discover': 23, 'pmtudisc_do': 2, 'mtu': 24, 'header': 48, 'origin': 3},
}
# (family, type, code) -> (ping's words for it, outcome); outcome None is "too big", whose MTU is %d.
ICMP_ERRORS = {
    (socket.AF_INET, 3, 0): ('Destination Net Unreachable', 'unreachable'),
    (socket.AF_INET, 3, 1): ('Destination Host Unreachable', 'unreachable'),
    (socket.AF_INET, 3, 2): ('Destination Protocol Unreachable', 'unreachable'),
    (socket.AF_INET, 3, 3): ('Destination Port Unreachable', 'refused'),
    (socket.AF_INET, 3, 4): ('Frag needed and DF set (mtu = %d)', None),
    (socket.AF_INET, 3, 5): ('Source Route Failed', 'unreachable'),
    (socket.AF_INET, 3, 6): ('Destination Net Unknown', 'unreachable'),
    (socket.AF_INET, 3, 7): ('Destination Host Unknown', 'unreachable'),
    (socket.AF_INET, 3, 8): ('Source Host Isolated', 'unreachable'),
    (socket.AF_INET, 3, 9): ('Destination Net Prohibited', 'refused'),
    (socket.AF_INET, 3, 10): ('Destination Host Prohibited', 'refused'),
    (socket.AF_INET, 3, 11): ('Destination Net Unreachable for Type of Service', 'unreachable'),
    (socket.AF_INET, 3, 12): ('Destination Host Unreachable for Type of Service', 'unreachable'),
    (socket.AF_INET, 3, 13): ('Packet filtered', 'refused'),
    (socket.AF_INET, 3, 14): ('Precedence Violation', 'unreachable'),
    (socket.AF_INET, 3, 15): ('Precedence Cutoff', 'unreachable'),
    (socket.AF_INET, 11, 0): ('Time to live exceeded', 'unreachable'),
    (socket.AF_INET, 11, 1): ('Frag reassembly time exceeded', 'unreachable'),
    (socket.AF_INET6, 1, 0): ('Destination unreachable: No route', 'unreachable'),
    (socket.AF_INET6, 1, 1): ('Destination unreachable: Administratively prohibited', 'refused'),
    (socket.AF_INET6, 1, 2): ('Destination unreachable: Beyond scope of source address', 'unreachable'),
    (socket.AF_INET6, 1, 3): ('Destination unreachable: Address unreachable', 'unreachable'),
    (socket.AF_INET6, 1, 4): ('Destination unreachable: Port unreachable', 'refused'),
    (socket.AF_INET6, 1, 5): ('Destination unreachable: Source address failed ingress/egress policy', 'refused'),
    (socket.AF_INET6, 1, 6): ('Destination unreachable: Reject route to destination', 'refused'),
    (socket.AF_INET6, 2, 0): ('Packet too big: mtu=%d', None),
    (socket.AF_INET6, 3, 0): ('Time exceeded: Hop limit', 'unreachable'),
}
REFUSED_ERRNOS = (errno.EPERM, errno.EACCES)  # a local firewall rejects the packet
_IDENTS = itertools.count(random.getrandbits(16))


class IcmpError(CloudError):
    """ICMP echo cannot be sent from this host: no ping, and no ICMP socket this user may open."""


# ---------------------------------------------------------------------------------------------- packets
def checksum(data):
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def echo_request(family, ident, seq, payload):
    """An ICMP (or ICMPv6) echo request; the kernel sums ICMPv6 itself, over a pseudo header it knows."""
    kind = FAMILIES[family]['request']
    header = ECHO.pack(kind, 0, 0, ident & 0xffff, seq & 0xffff)
    if family == socket.AF_INET6:
        return header + payload
    return ECHO.pack(kind, 0, checksum(header + payload), ident & 0xffff, seq & 0xffff) + payload


def parse_echo_reply(packet, family, with_ip_header=False):
    """(identifier, sequence, payload) of an echo reply; None for any other packet.

    A raw IPv4 socket reads the IP header too; ICMP sockets and IPv6 sockets do not.
    """
    offset = (packet[0] & 0x0f) * 4 if with_ip_header and packet else 0
    if len(packet) < offset + ECHO.size:
        return None
    kind, _code, _sum, ident, seq = ECHO.unpack_from(packet, offset)
    if kind != FAMILIES[family]['reply']:
        return None
    return ident, seq, packet[offset + ECHO.size:]


def offender_address(sockaddr):
    """The address in a struct sockaddr_in or sockaddr_in6; None for AF_UNSPEC (a local error)."""
    if len(sockaddr) < 2:
        return None
    family = struct.unpack_from('=H', sockaddr)[0]
    if family == socket.AF_INET and len(sockaddr) >= 8:
        return socket.inet_ntop(socket.AF_INET, sockaddr[4:8])
    if family == socket.AF_INET6 and len(sockaddr) >= 24:
        return socket.inet_ntop(socket.AF_INET6, sockaddr[8:24])
    return None


def parse_queued_error(family, ancillary, data):
    """One message of the error queue -> {errno, origin, type, code, info, offender, seq}, or None.

    ``data`` is what the kernel kept of the packet that failed: our echo request, whose sequence
    number ties the error to it (a local error keeps nothing).
    """
    spec = FAMILIES[family]
    for level, kind, cdata in ancillary:
        if (level, kind) != (spec['level'], spec['recverr']) or len(cdata) < EXTENDED_ERR.size:
            continue
        code, origin, icmp_type, icmp_code, _pad, info, _data = EXTENDED_ERR.unpack_from(cdata)
        seq = ECHO.unpack_from(data)[4] if len(data) >= ECHO.size else None
        return {'errno': code, 'origin': origin, 'type': icmp_type, 'code': icmp_code, 'info': info,
                'offender': offender_address(cdata[EXTENDED_ERR.size:]), 'seq': seq}
    return None


def errno_outcome(code):
    return 'refused' if code in REFUSED_ERRNOS else 'unreachable'


def describe_error(family, error):
    """A queued error -> (outcome or None for too big, ping's line for it, mtu hint or None)."""
    if error['origin'] == FAMILIES[family]['origin']:
        words, outcome = ICMP_ERRORS.get((family, error['type'], error['code']),
                                         ('ICMP type %d code %d' % (error['type'], error['code']), 'unreachable'))
        hint = error['info'] if outcome is None else None
        if hint is not None:
            words = words % hint
        return outcome, 'From %s icmp_seq=%s %s' % (error['offender'] or '?', error['seq'], words), hint
    if error['errno'] == errno.EMSGSIZE:
        return None, 'ping: local error: message too long, mtu=%d' % error['info'], error['info'] or None
    return errno_outcome(error['errno']), 'ping: local error: %s' % os.strerror(error['errno']), None


def summarize(sent, rtts, errors, too_big=False, mtu_hint=None):
    """What probes.parse_ping returns, from counts: errors are [(outcome, line)], first seen first."""
    received = len(rtts)
    if received:
        outcome, detail = 'connected', '%d of %d echo requests answered' % (received, sent)
    else:
        lines = dict(reversed(errors))  # the first line of each outcome
        outcome = next((o for o in ('refused', 'unreachable') if o in lines), 'timeout')
        if outcome != 'timeout':
            detail = lines[outcome]
        elif too_big:
            detail = 'too big to pass without fragmenting'
        else:
            detail = 'no reply to %d echo request%s' % (sent, '' if sent == 1 else 's')
    return {'outcome': outcome, 'sent': sent, 'received': received, 'rtt_ms': rtts, 'detail': detail,
            'mtu_hint': mtu_hint, 'too_big': too_big}


# ---------------------------------------------------------------------------------------------- sockets
def open_icmp(family, kinds=KINDS):
    """(socket, kind): an unprivileged ICMP socket where allowed, else a raw one."""
    refusals = []
    for kind in kinds:
        try:
            return socket.socket(family, socket.SOCK_DGRAM if kind == 'dgram' else socket.SOCK_RAW,
                                 FAMILIES[family]['proto']), kind
        except OSError as exc:
            refusals.append('%s socket: %s' % (kind, exc.strerror or exc))
    raise IcmpError('ping is not installed on this host, and this user may open no ICMP socket (%s): an ICMP '
                    'socket needs a group in net.ipv4.ping_group_range, a raw one root' % '; '.join(refusals))


class Echo:
    """One run of echo requests on one socket, connected to the target, like one ping command."""

    def __init__(self, sock, kind, family):
        self.sock, self.family = sock, family
        self.raw = kind == 'raw'
        self.ident = next(_IDENTS) & 0xffff  # an ICMP socket replaces it with its own, and filters by it
        self.cookie = os.urandom(8)
        self.sent_at = {}
        self.settled = set()
        self.rtts, self.errors = [], []
        self.too_big, self.mtu_hint = False, None
        spec = FAMILIES[family]
        sock.setsockopt(spec['level'], spec['recverr'], 1)
        try:
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        except OSError:
            pass  # without the kernel's arrival time, the reply's is taken when it is read

    def hint(self, mtu):
        if mtu:
            self.mtu_hint = mtu if self.mtu_hint is None else min(self.mtu_hint, mtu)

    def path_mtu(self):
        """The kernel's path MTU towards the target (IP_MTU), or None."""
        spec = FAMILIES[self.family]
        try:
            return self.sock.getsockopt(spec['level'], spec['mtu'])
        except OSError:
            return None

    def note(self, outcome, line, hint, seq):
        if outcome is None:
            self.too_big = True
            self.hint(hint)
        else:
            self.errors.append((outcome, line))
        if seq is not None:
            self.settled.add(seq)

    def send(self, seq, payload):
        self.sent_at[seq] = time.time()  # the clock the kernel stamps replies with
        try:
            self.sock.send(echo_request(self.family, self.ident, seq, payload))
        except OSError as exc:
            self.drain_errors()
            if exc.errno == errno.EMSGSIZE:
                # The queued local error carries the MTU; IP_MTU is the same number, should it be missing.
                self.note(None, 'ping: local error: message too long', self.mtu_hint or self.path_mtu(), seq)
            else:
                self.note(errno_outcome(exc.errno), 'ping: sendmsg: %s' % (exc.strerror or exc), None, seq)

    def drain_errors(self):
        while True:
            try:
                data, ancillary, _flags, _peer = self.sock.recvmsg(2048, 1024, MSG_ERRQUEUE | socket.MSG_DONTWAIT)
            except OSError:
                return
            error = parse_queued_error(self.family, ancillary, data)
            if error is None:
                continue
            if error['origin'] == SO_EE_ORIGIN_LOCAL:
                # The failed send itself is noted by send(); this only brings its MTU.
                if error['errno'] == errno.EMSGSIZE:
                    self.hint(error['info'])
                continue
            outcome, line, hint = describe_error(self.family, error)
            self.note(outcome, line, hint, error['seq'])

    def receive(self):
        self.drain_errors()
        for _attempt in range(10000):  # bounded: a flood of other traffic must not keep a probe forever
            try:
                packet, ancillary, _flags, _peer = self.sock.recvmsg(65535, socket.CMSG_SPACE(TIMESPEC.size),
                                                                     socket.MSG_DONTWAIT)
            except BlockingIOError:
                return
            except OSError:
                # An ICMP error is also reported once as the socket's error; its details are queued.
                self.drain_errors()
                continue
            reply = parse_echo_reply(packet, self.family, self.raw and self.family == socket.AF_INET)
            if reply is None:
                continue
            ident, seq, data = reply
            if (self.raw and ident != self.ident) or data[:8] != self.cookie[:len(data[:8])]:
                continue  # another prober's echo: a raw socket sees every ICMP packet of the host
            if seq in self.sent_at and seq not in self.settled:
                self.settled.add(seq)
                self.rtts.append(max(0.0, (arrival(ancillary) - self.sent_at[seq]) * 1000.0))

    def run(self, count, interval, timeout, size):
        payload = (self.cookie + bytes(max(0, size - len(self.cookie))))[:size]
        start = time.monotonic()
        deadline = None
        sent = 0
        while True:
            now = time.monotonic()
            if sent < count and now >= start + sent * interval:
                sent += 1
                self.send(sent, payload)
                if sent == count:
                    deadline = time.monotonic() + timeout
                continue
            if deadline is not None and (len(self.settled) >= count or now >= deadline):
                break
            wake = deadline if deadline is not None else start + sent * interval
            if select.select([self.sock], [], [], max(0.0, wake - now))[0]:
                self.receive()
        self.receive()
        return summarize(sent, [round(rtt, 3) for rtt in self.rtts], self.errors, self.too_big, self.mtu_hint)


def arrival(ancillary):
    """When the kernel received a reply (SO_TIMESTAMPNS), else now."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= TIMESPEC.size:
            seconds, nanoseconds = TIMESPEC.unpack(data[:TIMESPEC.size])
            return seconds + nanoseconds / 1e9
    return time.time()


def resolve(address):
    """(family, sockaddr) of ``address``; raises socket.gaierror."""
    family, _type, _proto, _name, sockaddr = socket.getaddrinfo(address, None, 0, socket.SOCK_DGRAM)[0]
    return family, sockaddr


def echo(address, count, interval, timeout, size=None, kinds=KINDS):
    """What ``ping -n -c count -i interval -W timeout [-M do -s size] address`` tells, as probes.parse_ping returns it.

    With ``size``, the payload has that many bytes and may not be fragmented (path MTU discovery).
    """
    try:
        family, sockaddr = resolve(address)
    except socket.gaierror as exc:
        return summarize(0, [], [('unreachable', 'ping: %s: %s' % (address, exc.strerror))])
    sock, kind = open_icmp(family, kinds)
    with sock:
        spec = FAMILIES[family]
        if size is not None:
            sock.setsockopt(spec['level'], spec['mtu_discover'], spec['pmtudisc_do'])
        try:
            sock.connect(sockaddr)  # replies and errors from this target only; IP_MTU needs it too
        except OSError as exc:
            return summarize(0, [], [(errno_outcome(exc.errno), 'ping: connect: %s' % (exc.strerror or exc))])
        return Echo(sock, kind, family).run(count, interval, timeout, PAYLOAD if size is None else size)
