# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reachability probes run from a VM: ICMP with ping (or an ICMP socket without it), TCP connects, UDP echoes, path MTU.

Every probe ends in one outcome: connected, refused, timeout or unreachable (docs/validation.md).
The ping output parser and the path MTU search are pure functions, tested without a network.
"""

from __future__ import annotations

import concurrent.futures
import errno
import os
import re
import shutil
import socket
import struct
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import icmp_socket
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.identity import (
    MAX_LINE, parse_echo, parse_identity,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import summarize

PROTOCOLS = ('icmp', 'tcp', 'udp')
WAIT_FOR = ('connected', 'blocked')
MTU_MIN = 576  # every IPv4 host must accept datagrams this large (RFC 791)
USER_MIN_INTERVAL = 0.2  # the least interval older iputils allow anyone but root

REPLY = re.compile(r'^\d+ bytes from \S+: icmp_seq=(\d+) ttl=\d+ time=([\d.]+) ms(.*)$')
STATISTICS = re.compile(r'(\d+) packets transmitted, (\d+) (?:packets )?received')
MTU_HINT = re.compile(r'mtu\s*=\s*(\d+)')
USER_INTERVAL = re.compile(r'minimal interval allowed for user is (\d+)\s*ms')
# Phrases of ping's ICMP error lines and local errors, by outcome; matched case-insensitively.
REFUSED_PHRASES = ('packet filtered', 'administratively prohibited', 'prohibited', 'destination port unreachable',
                   'operation not permitted', 'do you want to ping broadcast')
UNREACHABLE_PHRASES = ('destination host unreachable', 'destination net unreachable', 'no route to host',
                       'network is unreachable', 'name or service not known', 'temporary failure in name resolution',
                       'unreachable')
TOO_BIG_PHRASES = ('message too long', 'frag needed')
UNREACHABLE_ERRNOS = (errno.EHOSTUNREACH, errno.ENETUNREACH)
REFUSED_ERRNOS = (errno.ECONNREFUSED, errno.EPERM, errno.EACCES)  # EPERM/EACCES: a local firewall rejects
# Linux values; Python's socket module does not name them.
IP_RECVERR = getattr(socket, 'IP_RECVERR', 11)
IPV6_RECVERR = getattr(socket, 'IPV6_RECVERR', 25)
# Attempts that end in several ways: the most telling outcome wins.
PRECEDENCE = ('connected', 'refused', 'unreachable', 'timeout')


class ProbeError(CloudError):
    """A probe that could not run at all (bad options, no ping command)."""


# ---------------------------------------------------------------------------------------------- options
def check_targets(targets):
    """Validate and normalize the targets option: [{name, address, proto, port, expect}]."""
    normalized = []
    for index, target in enumerate(targets):
        where = 'targets[%d]' % index
        address = (target.get('address') or '').strip()
        if not address:
            raise ProbeError('%s.address: required' % where)
        proto = target.get('proto') or 'icmp'
        if proto not in PROTOCOLS:
            raise ProbeError('%s.proto: %r is not one of %s' % (where, proto, ', '.join(PROTOCOLS)))
        port = target.get('port')
        if proto == 'icmp':
            if port is not None:
                raise ProbeError('%s.port: icmp has no ports; leave it out' % where)
        elif port is None:
            raise ProbeError('%s.port: required for %s' % (where, proto))
        elif not 1 <= port <= 65535:
            raise ProbeError('%s.port: %r is outside 1-65535' % (where, port))
        expect = (target.get('expect') or '').strip() or None
        if expect and proto == 'icmp':
            raise ProbeError('%s.expect: an ICMP echo does not say which server answered; leave it out' % where)
        normalized.append({'name': target.get('name') or address, 'address': address, 'proto': proto, 'port': port,
                           'expect': expect})
    return normalized


def check_settings(count, interval, timeout, mtu_max, parallel, wait_timeout=None):
    if count < 1:
        raise ProbeError('count: must be at least 1, got %d' % count)
    if interval < 0:
        raise ProbeError('interval: must not be negative, got %g' % interval)
    if timeout <= 0:
        raise ProbeError('timeout: must be more than 0 seconds, got %g' % timeout)
    if not MTU_MIN <= mtu_max <= 65535:
        raise ProbeError('mtu_max: %d is outside %d-65535' % (mtu_max, MTU_MIN))
    if parallel < 1:
        raise ProbeError('parallel: must be at least 1, got %d' % parallel)
    if wait_timeout is not None and wait_timeout <= 0:
        raise ProbeError('wait_timeout: must be more than 0 seconds, got %g' % wait_timeout)


# ---------------------------------------------------------------------------------------------- ICMP
def ping_argv(address, count, interval, timeout, size=None):
    """ping's command line; with ``size``, one DF ping of that payload (path MTU discovery)."""
    argv = ['ping', '-n', '-c', str(count), '-i', '%g' % interval, '-W', '%g' % timeout]
    if size is not None:
        argv += ['-M', 'do', '-s', str(size)]
    return argv + [address]


def _has(line, phrases):
    lower = line.lower()
    return any(phrase in lower for phrase in phrases)


def parse_ping(text):
    """ping's output (stdout and stderr together) -> {outcome, sent, received, rtt_ms, detail, mtu_hint}.

    Any echo reply means connected. Otherwise ICMP errors and ping's own error lines decide:
    filtered or prohibited is refused, host or net unreachable is unreachable; nothing at all
    is a timeout. ``too_big`` is set when a DF packet was refused for its size.
    """
    rtts, seen, errors = [], set(), []
    sent = received = None
    mtu_hint = None
    too_big = False
    for raw in text.splitlines():
        line = raw.strip()
        reply = REPLY.match(line)
        if reply:
            if 'DUP!' not in reply.group(3) and reply.group(1) not in seen:
                seen.add(reply.group(1))
                rtts.append(float(reply.group(2)))
            continue
        stats = STATISTICS.search(line)
        if stats:
            sent, received = int(stats.group(1)), int(stats.group(2))
            continue
        hint = MTU_HINT.search(line)
        if hint:
            mtu_hint = int(hint.group(1)) if mtu_hint is None else min(mtu_hint, int(hint.group(1)))
        if _has(line, TOO_BIG_PHRASES):
            too_big = True
            continue
        if line.startswith(('From ', 'ping: ')) or _has(line, REFUSED_PHRASES + UNREACHABLE_PHRASES):
            errors.append(line)
    if received is None:
        received = len(rtts)
    if sent is None:
        sent = 0
    if rtts or received:
        outcome = 'connected'
        detail = '%d of %d echo requests answered' % (received, sent)
    elif any(_has(e, REFUSED_PHRASES) for e in errors):
        outcome, detail = 'refused', next(e for e in errors if _has(e, REFUSED_PHRASES))
    elif any(_has(e, UNREACHABLE_PHRASES) for e in errors):
        outcome, detail = 'unreachable', next(e for e in errors if _has(e, UNREACHABLE_PHRASES))
    elif errors:
        # An error ping did not explain (a bad address, say): the target was not reached.
        outcome, detail = 'unreachable', errors[0]
    else:
        outcome = 'timeout'
        detail = 'no reply to %d echo request%s' % (sent, '' if sent == 1 else 's')
        if too_big:
            detail = 'too big to pass without fragmenting'
    return {'outcome': outcome, 'sent': sent, 'received': received, 'rtt_ms': rtts, 'detail': detail,
            'mtu_hint': mtu_hint, 'too_big': too_big}


def ping(address, count, interval, timeout, runner):
    """Ping ``address``. Below 0.2 s only root may set the interval on older iputils (2 ms on newer
    ones); when ping refuses it, the probe runs again at the least interval it allows."""
    rc, text = runner(ping_argv(address, count, interval, timeout), count * interval + timeout + 10)
    if rc == 127:
        raise ProbeError('ping is not installed on this host (Debian package iputils-ping)')
    allowed = USER_INTERVAL.search(text)
    if allowed or 'cannot flood' in text:
        interval = max(interval, int(allowed.group(1)) / 1000.0 if allowed else USER_MIN_INTERVAL)
        _rc, text = runner(ping_argv(address, count, interval, timeout), count * interval + timeout + 10)
        result = parse_ping(text)
        result['detail'] += ' (at an interval of %gs, the least ping allows this user)' % interval
        return result
    return parse_ping(text)


def header_bytes(address):
    """IP plus ICMP header: what a ping payload adds up to a packet of the path MTU."""
    return 48 if ':' in address else 28


def icmp_fits(address, timeout, runner, tool='ping'):
    """A function mtu -> (fits, hint) that sends one DF echo request of a packet of that size."""
    def fits(mtu):
        size = mtu - header_bytes(address)
        if tool == 'python':
            result = icmp_socket.echo(address, 1, 0.2, timeout, size=size)
        else:
            _rc, text = runner(ping_argv(address, 1, 0.2, timeout, size=size), timeout + 10)
            result = parse_ping(text)
        return result['received'] > 0, result['mtu_hint']
    return fits


def icmp_tool(runner=None):
    """ping where it is installed and there is a runner for it, else the module's own ICMP socket."""
    return 'ping' if runner is not None and shutil.which('ping') else 'python'


def search_path_mtu(fits, mtu_max, mtu_min=MTU_MIN):
    """The largest packet size in [mtu_min, mtu_max] that passes, or None when even mtu_min does not.

    ``fits(mtu)`` -> (passed, hint); a hint is the next-hop MTU a router or the local stack named
    ("Frag needed (mtu = 1400)"), tried next instead of the midpoint. Returns (mtu, sizes tried).
    """
    tried = []

    def attempt(mtu):
        passed, hint = fits(mtu)
        tried.append(mtu)
        return passed, hint

    passed, _hint = attempt(mtu_min)
    if not passed:
        return None, tried
    if mtu_max <= mtu_min:
        return mtu_min, tried
    good, bad, hint = mtu_min, mtu_max + 1, None
    candidate = mtu_max
    while bad - good > 1:
        passed, new_hint = attempt(candidate)
        if passed:
            good = candidate
        else:
            bad = candidate
            if new_hint is not None and good <= new_hint < bad:
                bad, hint = new_hint + 1, new_hint  # nothing larger than the named MTU passes that hop
        if hint is not None and good < hint < bad:
            candidate = hint
        else:
            hint, candidate = None, (good + bad) // 2
    return good, tried


# ---------------------------------------------------------------------------------------------- TCP / UDP
def resolve(address, proto):
    kind = socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM
    try:
        family, _type, _proto, _name, sockaddr = socket.getaddrinfo(address, None, 0, kind)[0]
    except socket.gaierror as exc:
        return None, None, 'cannot resolve %s: %s' % (address, exc.strerror)
    return family, sockaddr[0], None


def _oserror_outcome(exc):
    if isinstance(exc, ConnectionRefusedError) or exc.errno in REFUSED_ERRNOS:
        return 'refused'
    if exc.errno in UNREACHABLE_ERRNOS:
        return 'unreachable'
    if isinstance(exc, TimeoutError) or exc.errno == errno.ETIMEDOUT:
        return 'timeout'
    return 'unreachable'


def icmp_errors(sock):
    """Ask the kernel for ICMP errors about this socket's traffic, kept on its error queue.

    Without this a UDP socket ignores network and host unreachable, and a TCP connect that is
    answered by one while the kernel still holds the socket (a lab's microsecond round trip)
    only notes it and waits for the next SYN.
    """
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
    else:
        sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)


def queued_error(sock):
    """The errno of the first ICMP error on the socket's error queue, or None."""
    try:
        sock.setblocking(False)  # with a timeout set, Python would first wait for data to read
        _data, ancillary, _flags, _peer = sock.recvmsg(1, 1024, socket.MSG_ERRQUEUE)
    except OSError:
        return None
    for _level, _kind, data in ancillary:
        if len(data) >= 4:  # struct sock_extended_err starts with ee_errno
            return struct.unpack('=I', data[:4])[0]
    return None


def timed_out(sock, detail):
    """A timeout, unless an ICMP error came back meanwhile."""
    code = queued_error(sock)
    if code:
        exc = OSError(code, os.strerror(code))
        return _oserror_outcome(exc), None, '%s (ICMP error)' % exc.strerror
    return 'timeout', None, detail


IDENTITY_WAIT = 0.25  # least seconds to wait for a responder's identity line after the handshake


def identity_wait(connect_s, timeout):
    """How long to wait for the identity line: a few connect times (it comes one round trip
    after the handshake), at least IDENTITY_WAIT, at most the attempt's timeout."""
    return min(timeout, max(IDENTITY_WAIT, 4 * connect_s))


def read_identity(sock, wait):
    """The identity line a responder sends on accept -> {name, id}; None when no whole line came
    within ``wait`` seconds, the connection closed without one, or the line is not a responder's."""
    data = b''
    deadline = time.perf_counter() + wait
    try:
        while b'\n' not in data and len(data) < MAX_LINE:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            sock.settimeout(left)
            chunk = sock.recv(MAX_LINE - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:  # a timeout or a reset: a service that is not a responder
        return None
    return parse_identity(data.split(b'\n', 1)[0]) if b'\n' in data else None


def tcp_attempt(family, address, port, timeout):
    """One connect: (outcome, connect time in ms or None, detail, the answering server's identity or None)."""
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        icmp_errors(sock)
        start = time.perf_counter()
        sock.connect((address, port))
        elapsed = time.perf_counter() - start
        return 'connected', elapsed * 1000.0, 'handshake completed', read_identity(sock, identity_wait(elapsed, timeout))
    except TimeoutError:
        return timed_out(sock, 'no answer to the connection request within %gs' % timeout) + (None,)
    except OSError as exc:
        return _oserror_outcome(exc), None, exc.strerror or str(exc), None
    finally:
        sock.close()


def udp_attempt(family, address, port, timeout, sequence):
    """One datagram to an echo responder: (outcome, round trip in ms or None, detail, the answering
    server's identity or None)."""
    payload = ('cloudops-multicloud probe %d %d' % (os.getpid(), sequence)).encode()
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        icmp_errors(sock)
        sock.connect((address, port))  # connected, so the kernel reports ICMP errors on this socket
        start = time.perf_counter()
        deadline = start + timeout
        sock.send(payload)
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return timed_out(sock, 'no echo within %gs' % timeout) + (None,)
            sock.settimeout(left)
            echoed, identity = parse_echo(sock.recv(len(payload) + 1 + MAX_LINE), payload)
            if echoed:
                return 'connected', (time.perf_counter() - start) * 1000.0, 'the responder echoed', identity
    except TimeoutError:
        return timed_out(sock, 'no echo within %gs' % timeout) + (None,)
    except OSError as exc:
        if isinstance(exc, ConnectionRefusedError):
            return 'refused', None, 'port unreachable', None
        return _oserror_outcome(exc), None, exc.strerror or str(exc), None
    finally:
        sock.close()


def combine(outcomes):
    """One outcome for several attempts: any connect wins, then the most telling failure."""
    for outcome in PRECEDENCE:
        if outcome in outcomes:
            return outcome
    return 'timeout'


def answered_by(identities, expect):
    """Who answered, over every answered attempt -> (identity or None, wrong server, detail or None).

    The first answer from a server other than ``expect`` wins: one misdirected answer among
    right ones (a flapping ARP entry) is still traffic reaching the wrong server.
    """
    named = [i for i in identities if i]
    wrong = [i for i in named if expect and i['name'] != expect]
    if not wrong:
        return (named[0] if named else None), False, None
    detail = 'answered by %s' % wrong[0]['name']
    if len(wrong) < len(identities):
        detail += ' in %d of %d answers' % (len(wrong), len(identities))
    return wrong[0], True, detail


def socket_probe(target, count, interval, timeout):
    family, address, error = resolve(target['address'], target['proto'])
    if error:
        return {'outcome': 'unreachable', 'sent': 0, 'received': 0, 'rtt_ms': [], 'detail': error,
                'answered_by': None, 'wrong_server': False}
    outcomes, rtts, details, identities = [], [], {}, []
    for sequence in range(count):
        if sequence and interval:
            time.sleep(interval)
        if target['proto'] == 'tcp':
            outcome, rtt, detail, identity = tcp_attempt(family, address, target['port'], timeout)
        else:
            outcome, rtt, detail, identity = udp_attempt(family, address, target['port'], timeout, sequence)
        outcomes.append(outcome)
        details.setdefault(outcome, detail)
        if rtt is not None:
            rtts.append(rtt)
            identities.append(identity)
        if outcome == 'unreachable':
            break  # routers rate-limit their ICMP errors: further attempts would mostly time out
    outcome = combine(outcomes)
    detail = details[outcome]
    identity, wrong, wrong_detail = answered_by(identities, target.get('expect'))
    if outcome == 'connected':
        detail = wrong_detail or '%d of %d %s' % (len(rtts), len(outcomes),
                                                  'connects completed' if target['proto'] == 'tcp' else 'datagrams echoed')
    return {'outcome': outcome, 'sent': len(outcomes), 'received': len(rtts), 'rtt_ms': rtts, 'detail': detail,
            'answered_by': identity, 'wrong_server': wrong}


# ---------------------------------------------------------------------------------------------- one target, many
def probe_once(target, settings, runner):
    if target['proto'] == 'icmp':
        tool = settings.get('icmp_tool') or 'ping'
        if tool == 'python':
            result = icmp_socket.echo(target['address'], settings['count'], settings['interval'], settings['timeout'])
        else:
            result = ping(target['address'], settings['count'], settings['interval'], settings['timeout'], runner)
        path_mtu = None
        if settings.get('path_mtu') and result['outcome'] == 'connected':
            path_mtu, _tried = search_path_mtu(icmp_fits(target['address'], settings['timeout'], runner, tool),
                                               settings['mtu_max'])
        result['path_mtu'] = path_mtu
        result['tool'] = tool
        return result
    result = socket_probe(target, settings['count'], settings['interval'], settings['timeout'])
    result['path_mtu'] = None
    return result


def wanted(outcome, wait_for):
    return outcome == 'connected' if wait_for == 'connected' else outcome != 'connected'


def reached(result, wait_for):
    """The wanted outcome of wait_for; connected to the wrong server is not connected yet."""
    return wanted(result['outcome'], wait_for) and not (wait_for == 'connected' and result.get('wrong_server'))


def probe_target(target, settings, runner):
    """Probe one target; with wait_for, again until its outcome is the wanted one or wait_timeout passes."""
    wait_for = settings.get('wait_for')
    started = time.monotonic()
    rounds = 0
    while True:
        rounds += 1
        result = probe_once(target, settings, runner)
        elapsed = time.monotonic() - started
        if not wait_for or reached(result, wait_for) or elapsed >= settings['wait_timeout']:
            break
        time.sleep(max(settings['interval'], 0.05))
    if wait_for:
        if reached(result, wait_for):
            verdict = 'after'
        elif wait_for == 'connected' and result.get('wrong_server'):
            verdict = 'still not connected to %s after' % target['expect']
        else:
            verdict = 'still not %s after' % wait_for
        result['detail'] += ' (%s %d round%s, %.2fs)' % (verdict, rounds, '' if rounds == 1 else 's', elapsed)
    rtts = [round(value, 4) for value in result['rtt_ms']]
    return {'name': target['name'], 'address': target['address'], 'proto': target['proto'], 'port': target['port'],
            'outcome': result['outcome'], 'sent': result['sent'], 'received': result['received'], 'rtt_ms': rtts,
            'stats': summarize(rtts), 'path_mtu': result['path_mtu'], 'seconds': round(elapsed, 3),
            'detail': result['detail'], 'tool': result.get('tool') or 'socket',
            'answered_by': result.get('answered_by'), 'wrong_server': bool(result.get('wrong_server'))}


def budget_spent(target, budget):
    """The result of a target not probed because the time budget ran out before its turn."""
    return {'name': target['name'], 'address': target['address'], 'proto': target['proto'], 'port': target['port'],
            'outcome': None, 'sent': 0, 'received': 0, 'rtt_ms': [], 'stats': None, 'path_mtu': None, 'seconds': 0.0,
            'detail': 'not probed: the time budget of %gs was spent' % budget, 'tool': None,
            'answered_by': None, 'wrong_server': False, 'budget_spent': True}


def probe_targets(targets, count=5, interval=0.05, timeout=1.0, path_mtu=False, mtu_max=1500, parallel=32,
                  wait_for=None, wait_timeout=30.0, runner=None, time_budget=None, clock=time.monotonic, budget=None):
    """Probe every target at once (up to ``parallel`` at a time); results in the order of ``targets``.

    ``runner(argv, timeout)`` -> (exit code or None, output) runs ping (processes.Commands.output);
    without one, ICMP goes through the module's own socket. With ``time_budget`` (seconds from now),
    a target whose turn comes after it is spent is not probed and says so (``budget_spent``), naming
    ``budget`` (the phase's whole budget, of which ``time_budget`` is what is left) when given.
    """
    check_settings(count, interval, timeout, mtu_max, parallel, wait_timeout)
    if wait_for is not None and wait_for not in WAIT_FOR:
        raise ProbeError('wait_for: %r is not one of %s' % (wait_for, ', '.join(WAIT_FOR)))
    targets = check_targets(targets)
    settings = {'count': count, 'interval': interval, 'timeout': timeout, 'path_mtu': path_mtu, 'mtu_max': mtu_max,
                'wait_for': wait_for, 'wait_timeout': wait_timeout, 'icmp_tool': icmp_tool(runner)}
    if not targets:
        return []
    deadline = None if time_budget is None else clock() + time_budget

    def one(target):
        if deadline is not None and clock() >= deadline:
            return budget_spent(target, time_budget if budget is None else budget)
        return probe_target(target, settings, runner)

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(parallel, len(targets))) as pool:
        return list(pool.map(one, targets))
