# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throughput without iperf3: a TCP and UDP receiver in plain Python that leaves when idle, and its client.

The receiver runs detached and is found again by its marker, like the iperf3 server. It greets
every TCP connection with BANNER, so that a client tells it from iperf3 on the same port.
TCP: each stream is one connection: a request line, bulk data until the client shuts its side,
then the receiver's count of bytes and seconds on the same connection. UDP: a control connection
registers a token; datagrams carry the token and a sequence number to the same port number over
UDP; when the client says how many it sent, the receiver answers with how many arrived.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import struct
import threading
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.iperf import (
    search_udp_rate, stream_cap, udp_rate_max,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.responder import (
    marked, python_daemon, spawn_detached,
)

MARKER = 'cloudops-multicloud-throughput'
BANNER = b'cloudops-multicloud-throughput 1\n'
# 37 bytes, the size of iperf3's cookie: an iperf3 server answers it at once, the receiver with BANNER.
HELLO = b'cloudops-multicloud-throughput hello\n'
DATAGRAM = struct.Struct('!8sQ')  # token, sequence number; the rest of a datagram is padding
CHUNK = 128 * 1024  # what iperf3 writes per call, too
BURST = 64  # datagrams sent between two looks at the clock
CONNECT_TIMEOUT = 5.0
SEND_TIMEOUT = 30.0  # a send blocked this long means the path or the receiver died
REPORT_TIMEOUT = 30.0
TCP_INFO_TOTAL_RETRANS = 100  # offset of tcpi_total_retrans in struct tcp_info (linux/tcp.h)
DEFAULT_DATAGRAM = 1200
# The receiver, run as a daemon with the arguments PORT IDLE TCP_FD UDP_FD: the task binds both
# sockets and passes them, so a port in use fails the task. It leaves after IDLE seconds without
# a connection or a datagram. It is plain Python 3 of any version Ansible runs modules with.
RECEIVER = r'''
import json, select, socket, struct, sys, threading, time

BANNER = b'cloudops-multicloud-throughput 1\n'
DATAGRAM = struct.Struct('!8sQ')
REQUEST_TIMEOUT = 10.0
DRAIN_QUIET, DRAIN_MAX = 0.1, 2.0


def read_line(conn, limit=4096):
    """(first line, the bytes after it); (b'', b'') when the peer closed first."""
    data = b''
    while b'\n' not in data:
        chunk = conn.recv(4096)
        if not chunk or len(data) > limit:
            return b'', b''
        data += chunk
    line, _sep, rest = data.partition(b'\n')
    return line, rest


def answer(conn, doc):
    conn.sendall(json.dumps(doc).encode() + b'\n')


class Receiver:
    def __init__(self, tcp, udp, idle):
        self.tcp, self.udp, self.idle = tcp, udp, idle
        self.lock = threading.Lock()
        self.sessions = 0
        self.last = time.monotonic()
        self.tests = {}  # UDP token -> [datagrams, bytes, monotonic time of the last]
        self.stopped = threading.Event()

    def serve(self):
        counter = threading.Thread(target=self.count_datagrams)
        counter.daemon = True
        counter.start()
        self.tcp.settimeout(0.5)
        try:
            while self.sessions or time.monotonic() - self.last < self.idle:
                try:
                    conn = self.tcp.accept()[0]
                except OSError:
                    continue
                with self.lock:
                    self.sessions += 1
                self.last = time.monotonic()
                worker = threading.Thread(target=self.session, args=(conn,))
                worker.daemon = True
                worker.start()
        finally:
            self.stopped.set()

    def session(self, conn):
        try:
            conn.settimeout(REQUEST_TIMEOUT)
            conn.sendall(BANNER)
            line, rest = read_line(conn)
            request = json.loads(line.decode())
            if request.get('proto') == 'tcp':
                self.tcp_test(conn, rest)
            elif request.get('proto') == 'udp':
                self.udp_test(conn, request)
        except Exception:
            pass  # a client that left, or a hello: nothing to report to anyone
        finally:
            conn.close()
            with self.lock:
                self.sessions -= 1
            self.last = time.monotonic()

    def tcp_test(self, conn, rest):
        conn.settimeout(max(self.idle, REQUEST_TIMEOUT))
        buf = bytearray(1 << 20)
        count = len(rest)
        start = time.monotonic()
        while True:
            size = conn.recv_into(buf)
            if not size:
                break
            count += size
            self.last = time.monotonic()
        answer(conn, {'bytes': count, 'seconds': time.monotonic() - start})

    def udp_test(self, conn, request):
        token = bytes.fromhex(request['token'])
        stats = self.tests[token] = [0, 0, 0.0]
        try:
            answer(conn, {'ready': True})
            conn.settimeout(float(request.get('duration', 10)) + 30)
            line, _rest = read_line(conn)
            sent = int(json.loads(line.decode())['sent'])
            told = time.monotonic()
            # Datagrams still on their way, or queued in the socket, count until none came for a moment.
            while time.monotonic() - max(stats[2], told) < DRAIN_QUIET and time.monotonic() - told < DRAIN_MAX:
                time.sleep(0.01)
        finally:
            self.tests.pop(token, None)
        answer(conn, {'received': stats[0], 'lost': max(0, sent - stats[0]), 'bytes': stats[1]})

    def count_datagrams(self):
        buf = bytearray(65536)
        unpack, tests, udp = DATAGRAM.unpack_from, self.tests, self.udp
        udp.setblocking(False)
        while not self.stopped.is_set():
            if not select.select([udp], [], [], 0.5)[0]:
                continue
            while True:
                try:
                    size = udp.recv_into(buf)
                except OSError:
                    break
                if size < DATAGRAM.size:
                    continue
                stats = tests.get(unpack(buf)[0])
                if stats is not None:
                    now = time.monotonic()
                    stats[0] += 1
                    stats[1] += size
                    stats[2] = now
                    self.last = now


if __name__ == '__main__':
    Receiver(socket.socket(fileno=int(sys.argv[4])), socket.socket(fileno=int(sys.argv[5])), float(sys.argv[3])).serve()
'''


class ThroughputError(CloudError):
    """The Python throughput client or receiver could not measure: nobody listens, a bad answer, a port in use."""


# ---------------------------------------------------------------------------------------------- wire
def request_line(doc):
    return json.dumps(doc, sort_keys=True).encode() + b'\n'


def parse_report(line, fields):
    """One JSON line from the receiver -> dict with ``fields``; anything else is a ThroughputError."""
    try:
        doc = json.loads(line.decode('utf-8', 'replace'))
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or any(field not in doc for field in fields):
        raise ThroughputError('the receiver answered %r, not %s' % (line[:80], ', '.join(fields)))
    return doc


def read_line(sock, limit=4096):
    """(first line, the bytes after it) read from ``sock``; b'' for the line when it closed first."""
    data = b''
    while b'\n' not in data and len(data) <= limit:
        chunk = sock.recv(4096)
        if not chunk:
            return b'', data
        data += chunk
    line, _sep, rest = data.partition(b'\n')
    return line, rest


def greeted_by(data):
    """Who answered a HELLO: 'python' for the receiver's BANNER, 'other' for anything else, None to read on."""
    if data.startswith(BANNER):
        return 'python'
    if BANNER.startswith(data):
        return None
    return 'other'


def read_greeting(sock):
    """What the server sends first, read until it is the BANNER or cannot become it."""
    data = b''
    while greeted_by(data) is None:
        chunk = sock.recv(len(BANNER) - len(data))
        if not chunk:
            break
        data += chunk
    return data


def gbps(byte_count, seconds):
    return round(byte_count * 8 / max(seconds, 1e-9) / 1e9, 4)


def intervals_gbps(buckets, duration):
    """Bytes per second of the run -> Gbit/s per interval; the last interval may be shorter."""
    return [gbps(byte_count, min(1.0, duration - index)) for index, byte_count in enumerate(buckets)]


def interval_count(duration):
    return max(1, int(-(-duration // 1)))


# ---------------------------------------------------------------------------------------------- client
def describe_connect(exc, server, port):
    reason = 'no answer within %gs' % CONNECT_TIMEOUT if isinstance(exc, socket.timeout) else (exc.strerror or str(exc))
    return 'server: no throughput server answers on %s:%d (%s); start one there with listen: true' % (server, port, reason)


def detect(server, port, timeout=CONNECT_TIMEOUT):
    """Which server listens on server:port: 'python' (this receiver), 'other' (iperf3, by its answer) or None (nobody)."""
    try:
        sock = socket.create_connection((server, port), timeout=timeout)
    except OSError:
        return None
    try:
        sock.sendall(HELLO)
        data = read_greeting(sock)
    except OSError:
        data = b''  # no word in time, or a reset: not the receiver
    finally:
        sock.close()
    return greeted_by(data) or 'other'


def open_session(server, port):
    """A TCP connection to the receiver, past its BANNER."""
    try:
        sock = socket.create_connection((server, port), timeout=CONNECT_TIMEOUT)
    except OSError as exc:
        raise ThroughputError(describe_connect(exc, server, port))
    try:
        data = read_greeting(sock)
    except OSError as exc:
        sock.close()
        raise ThroughputError('server: %s:%d takes connections but sends no greeting (%s); it is not the python '
                              'receiver (iperf3 waits silently): use tool: auto or iperf3' % (server, port, exc))
    if greeted_by(data) != 'python':
        sock.close()
        raise ThroughputError('server: %s:%d is not the python receiver (it sent %r); use tool: auto or iperf3'
                              % (server, port, data[:40]))
    sock.settimeout(SEND_TIMEOUT)
    return sock


def retransmits(sock):
    """TCP segments this socket sent again (tcpi_total_retrans), or None where TCP_INFO says nothing."""
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, getattr(socket, 'TCP_INFO', 11), TCP_INFO_TOTAL_RETRANS + 4)
    except OSError:
        return None
    if len(info) < TCP_INFO_TOTAL_RETRANS + 4:
        return None
    return struct.unpack_from('=I', info, TCP_INFO_TOTAL_RETRANS)[0]


def send_tcp(sock, duration, buckets, bandwidth=None):
    """Bulk send for ``duration`` seconds, adding what the kernel took to ``buckets``, one per second;
    with ``bandwidth`` (Mbit/s), no faster than that."""
    chunk = bytes(CHUNK)
    start = time.monotonic()
    end, last = start + duration, len(buckets) - 1
    now, sent = start, 0
    while now < end:
        if bandwidth:
            ahead = sent * 8 / (bandwidth * 1e6) - (now - start)  # seconds the stream is ahead of its cap
            if ahead > 0:
                time.sleep(min(ahead, end - now))
                now = time.monotonic()
                continue
        sock.sendall(chunk)
        sent += CHUNK
        now = time.monotonic()
        buckets[min(int(now - start), last)] += CHUNK


def tcp_stream(sock, duration, buckets, bandwidth=None):
    """One TCP stream on an open session -> the receiver's {bytes, seconds} and the sender's retransmits."""
    sock.sendall(request_line({'proto': 'tcp', 'duration': duration}))
    send_tcp(sock, duration, buckets, bandwidth)
    sock.shutdown(socket.SHUT_WR)  # the receiver counts until this end of stream, then answers
    sock.settimeout(REPORT_TIMEOUT)
    report = parse_report(read_line(sock)[0], ('bytes', 'seconds'))
    report['retransmits'] = retransmits(sock)
    return report


def measure_tcp(server, port, duration, streams, bandwidth=None):
    """``streams`` TCP connections at once for ``duration`` seconds -> the result iperf.parse_result gives for tcp."""
    sessions = []
    buckets = [[0] * interval_count(duration) for _stream in range(streams)]
    outcomes = [None] * streams

    def run(index):
        try:
            outcomes[index] = tcp_stream(sessions[index], duration, buckets[index], bandwidth)
        except (OSError, ThroughputError) as exc:
            outcomes[index] = exc

    try:
        for _stream in range(streams):
            sessions.append(open_session(server, port))  # all connected before any sends: a failure costs no traffic
        threads = [threading.Thread(target=run, args=(index,)) for index in range(streams)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for sock in sessions:
            sock.close()
    failed = [outcome for outcome in outcomes if isinstance(outcome, Exception)]
    if failed:
        raise ThroughputError('python throughput to %s:%d failed: %s' % (server, port, failed[0]))
    seconds = max(report['seconds'] for report in outcomes)
    counts = [report['retransmits'] for report in outcomes]
    return {'gbps': gbps(sum(report['bytes'] for report in outcomes), seconds), 'seconds': round(seconds, 3),
            'retransmits': None if None in counts else sum(counts),
            'intervals_gbps': intervals_gbps([sum(column) for column in zip(*buckets)], duration)}


def datagram_size(control):
    """The control connection's MSS, as iperf3 picks it: a datagram that fits the path unfragmented."""
    try:
        mss = control.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    except OSError:
        return DEFAULT_DATAGRAM
    return min(max(mss, DATAGRAM.size), 65000) if mss > 0 else DEFAULT_DATAGRAM


def send_udp(socks, token, size, rate_mbps, duration):
    """Datagrams at ``rate_mbps`` (of payload) for ``duration`` seconds, in turn on ``socks``.

    Returns (datagrams sent, seconds spent, bytes sent per second).
    """
    buf = bytearray(size)
    pack = DATAGRAM.pack_into
    per_second = rate_mbps * 1e6 / (size * 8)
    buckets = [0] * interval_count(duration)
    last, ways = len(buckets) - 1, len(socks)
    sent = 0
    start = now = time.monotonic()
    end = start + duration
    while now < end:
        due = int((now - start) * per_second) + 1
        if sent >= due:
            time.sleep(max(0.0, min(sent / per_second - (now - start), end - now)))
            now = time.monotonic()
            continue
        burst = 0
        for _each in range(min(due - sent, BURST)):
            pack(buf, 0, token, sent)
            try:
                socks[sent % ways].send(buf)
            except OSError:
                break  # a full buffer, or the ICMP error of an earlier datagram: the next one may pass
            sent += 1
            burst += 1
        buckets[min(int(now - start), last)] += burst * size
        now = time.monotonic()
    return sent, now - start, buckets


def measure_udp(server, port, duration, streams, rate_mbps):
    """One UDP run at ``rate_mbps`` -> the result iperf.parse_result gives for udp."""
    control = open_session(server, port)
    socks = []
    try:
        token = os.urandom(8)
        control.sendall(request_line({'proto': 'udp', 'token': token.hex(), 'duration': duration}))
        control.settimeout(REPORT_TIMEOUT)
        parse_report(read_line(control)[0], ('ready',))
        size = datagram_size(control)
        for _stream in range(streams):
            sock = socket.socket(control.family, socket.SOCK_DGRAM)
            socks.append(sock)
            sock.connect(control.getpeername())
        sent, seconds, buckets = send_udp(socks, token, size, rate_mbps, duration)
        control.sendall(request_line({'sent': sent}))
        report = parse_report(read_line(control)[0], ('received', 'lost', 'bytes'))
    except OSError as exc:
        raise ThroughputError('python throughput to %s:%d failed: %s' % (server, port, exc.strerror or exc))
    finally:
        control.close()
        for sock in socks:
            sock.close()
    if not sent:
        raise ThroughputError('python throughput to %s:%d: not one datagram could be sent' % (server, port))
    if not report['received']:
        raise ThroughputError('server: %s:%d takes control connections but none of %d datagrams reached it; '
                              'is udp/%d open?' % (server, port, sent, port))
    return {'gbps': gbps(report['bytes'], seconds), 'seconds': round(seconds, 3),
            'loss_pct': round(report['lost'] * 100.0 / sent, 4), 'intervals_gbps': intervals_gbps(buckets, duration)}


def measure(params):
    """The client side of the throughput module with the python tool: TCP once, or the UDP rate search."""
    server, port, proto = params['server'], params['port'], params['proto']
    duration, streams = float(params['duration']), params['streams']
    if proto == 'tcp':
        return dict(measure_tcp(server, port, duration, streams, stream_cap(params)), changed=False, proto='tcp',
                    tool='python')

    def run_at(rate):
        return measure_udp(server, port, duration, streams, rate)

    best, steps = search_udp_rate(run_at, udp_rate_max(params), params['loss_band'], params['max_steps'])
    return dict(best, changed=False, proto='udp', steps=steps, tool='python')


# ---------------------------------------------------------------------------------------------- receiver
def find_receivers(port):
    """pids of the receivers on ``port`` in this network namespace."""
    return [pid for pid, args in marked(MARKER) if args and args[0] == str(port)]


def bind(port):
    """(tcp, udp) sockets on every IPv4 address; a port in use is one line naming it."""
    bound = []
    try:
        for kind, proto in ((socket.SOCK_STREAM, 'tcp'), (socket.SOCK_DGRAM, 'udp')):
            sock = socket.socket(socket.AF_INET, kind)
            bound.append(sock)
            if proto == 'tcp':
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past closed connections of an old one
            try:
                sock.bind(('0.0.0.0', port))
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise ThroughputError('port: %s/%d is already in use in this network namespace' % (proto, port))
                raise ThroughputError('port: cannot listen on %s/%d: %s' % (proto, port, exc.strerror or exc))
            if proto == 'tcp':
                sock.listen(64)
    except ThroughputError:
        for sock in bound:
            sock.close()
        raise
    return bound[0], bound[1]


def ensure_receiver(port, listen_for, check_mode=False):
    """A receiver on ``port`` (TCP and UDP) in this network namespace that stops after ``listen_for`` idle seconds."""
    running = find_receivers(port)
    if running:
        return {'changed': False, 'listener': {'pid': running[0], 'port': port, 'listen_for': listen_for, 'tool': 'python'}}
    tcp, udp = bind(port)
    try:
        if check_mode:
            return {'changed': True, 'listener': {'pid': None, 'port': port, 'listen_for': listen_for, 'tool': 'python'}}
        fds = [tcp.fileno(), udp.fileno()]
        argv, env = python_daemon(RECEIVER, MARKER, [port, listen_for] + fds)
        pid = spawn_detached(argv, pass_fds=fds, env=env)
    finally:
        tcp.close()
        udp.close()
    return {'changed': True, 'listener': {'pid': pid, 'port': port, 'listen_for': listen_for, 'tool': 'python'}}
