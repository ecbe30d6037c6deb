# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The responder that probes talk to: accepts TCP connections and echoes UDP datagrams,
saying which server it runs on when it is given an identity (identity.py has the line).

It runs detached in the network namespace of the task that starts it and exits on its own.
Nothing is written to disk: a responder is found again by the marker on its command line,
among the processes of this network namespace, so stopping a VM (or purging a lab) leaves
nothing behind.
"""

from __future__ import annotations

import datetime
import errno
import os
import signal
import socket
import sys
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils import processes
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.identity import (
    check_identity, identity_line, parse_identity,
)

MARKER = 'cloudops-multicloud-responder'
PROTOCOLS = ('tcp', 'udp')
# A daemon's code travels in this environment variable, so that its command line stays short
# enough to read in ps: `python -I -c BOOT MARKER ARGS...`.
CODE_VARIABLE = 'CLOUDOPS_MULTICLOUD_DAEMON'
BOOT = 'import os;exec(os.environ.pop("%s"))' % CODE_VARIABLE
# Its arguments: SPEC DEADLINE IDENTITY tcp/5432=3 udp/5432=4 ... IDENTITY is the line it answers
# with, or - for none. The sockets are bound by the task and inherited, so a port in use fails the
# task, not the daemon.
NO_IDENTITY = '-'
RESPONDER = r'''
import selectors, socket, sys, time
deadline = float(sys.argv[3])
line = b'' if sys.argv[4] == '-' else sys.argv[4].encode() + b'\n'
selector = selectors.DefaultSelector()
for item in sys.argv[5:]:
    name, fd = item.rsplit('=', 1)
    sock = socket.socket(fileno=int(fd))
    sock.setblocking(False)
    selector.register(sock, selectors.EVENT_READ, name.startswith('tcp/'))
while time.time() < deadline:
    for key, _events in selector.select(max(0.0, min(deadline - time.time(), 60.0))):
        try:
            if key.data:
                conn = key.fileobj.accept()[0]
                try:
                    conn.settimeout(1.0)
                    conn.sendall(line)
                finally:
                    conn.close()
            else:
                data, peer = key.fileobj.recvfrom(65535)
                key.fileobj.sendto(data + b'\n' + line if line else data, peer)
        except OSError:
            pass
'''


class ResponderError(CloudError):
    """The responder could not start: a bad option, or a port already taken."""


# ---------------------------------------------------------------------------------------------- processes
def alive(pid):
    """Running, not a zombie: a VM's init does not reap the daemons it inherits."""
    try:
        with open('/proc/%d/stat' % pid) as handle:
            state = handle.read().rpartition(')')[2].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ('Z', 'X')


def processes_here():
    """[(pid, argv)] of the live processes in this network namespace (the VM's, under the netns connection)."""
    own = os.stat('/proc/self/ns/net')
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            ns = os.stat('/proc/%s/ns/net' % entry)
            if (ns.st_dev, ns.st_ino) != (own.st_dev, own.st_ino):
                continue
            with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                argv = handle.read().split(b'\0')
        except OSError:
            continue
        if argv and argv[-1] == b'':
            argv.pop()
        if argv and alive(int(entry)):
            found.append((int(entry), [a.decode('utf-8', 'replace') for a in argv]))
    return found


def marked(marker):
    """[(pid, arguments after the marker)] of this namespace's daemons that carry ``marker``."""
    return [(pid, argv[argv.index(marker) + 1:]) for pid, argv in processes_here() if marker in argv]


def python_daemon(code, marker, args):
    """argv and environment that run ``code`` in this Python, with ``marker`` and ``args`` on its command line."""
    env = dict(os.environ)
    env[CODE_VARIABLE] = code
    return [sys.executable, '-I', '-c', BOOT, marker] + [str(a) for a in args], env


def spawn_detached(argv, pass_fds=(), env=None):
    """Start ``argv`` as a daemon (processes.spawn_detached); returns its pid."""
    try:
        return processes.spawn_detached(argv, pass_fds=pass_fds, env=env)
    except OSError as exc:
        raise ResponderError(str(exc))


def stop(pid, grace=2.0):
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns once the process is gone."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        if not alive(pid):
            return


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------------------------------------- responder
def check_listen(listen):
    """The listen option -> [{proto, port, where}], without repeats, sorted."""
    seen = {}
    for index, entry in enumerate(listen):
        where = 'listen[%d]' % index
        proto = entry.get('proto') or 'tcp'
        if proto not in PROTOCOLS:
            raise ResponderError('%s.proto: %r is not one of %s' % (where, proto, ', '.join(PROTOCOLS)))
        port = entry.get('port')
        if port is None:
            raise ResponderError('%s.port: required' % where)
        if not 1 <= port <= 65535:
            raise ResponderError('%s.port: %r is outside 1-65535' % (where, port))
        seen.setdefault((proto, port), where)
    return [{'proto': p, 'port': n, 'where': seen[(p, n)]} for p, n in sorted(seen)]


def spec_of(ports):
    return ','.join('%s/%d' % (p['proto'], p['port']) for p in ports)


def parse_spec(spec):
    ports = []
    for item in spec.split(','):
        proto, _sep, port = item.partition('/')
        if proto in PROTOCOLS and port.isdigit():
            ports.append({'proto': proto, 'port': int(port)})
    return ports


def find_responders():
    """[{pid, spec, deadline, identity}] of the responders running in this network namespace."""
    found = []
    for pid, args in marked(MARKER):
        try:
            # An older responder has no IDENTITY argument: parse_identity finds none in its port list.
            found.append({'pid': pid, 'spec': args[0], 'deadline': float(args[1]),
                          'identity': parse_identity(args[2]) if len(args) > 2 else None})
        except (IndexError, ValueError):
            continue
    return found


def bind(port):
    """A socket bound on every IPv4 address; a port in use is one line naming it."""
    kind = socket.SOCK_STREAM if port['proto'] == 'tcp' else socket.SOCK_DGRAM
    sock = socket.socket(socket.AF_INET, kind)
    try:
        if port['proto'] == 'tcp':
            # Lets a replacement listen at once, past the old one's closed connections.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(('0.0.0.0', port['port']))
        if port['proto'] == 'tcp':
            sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ResponderError('%s.port: %s/%d is already in use in this network namespace'
                                 % (port['where'], port['proto'], port['port']))
        raise ResponderError('%s.port: cannot listen on %s/%d: %s'
                             % (port['where'], port['proto'], port['port'], exc.strerror or exc))
    return sock


# How much of listen_for a running responder may have used up and still be kept.
REUSE_SLACK = 60.0


def responder_args(ports, fds, deadline, identity):
    """The daemon's arguments after its marker: SPEC DEADLINE IDENTITY proto/port=fd..."""
    return [spec_of(ports), '%.3f' % deadline, identity_line(identity) if identity else NO_IDENTITY] + [
        '%s/%d=%d' % (p['proto'], p['port'], fd) for p, fd in zip(ports, fds)]


def ensure_responder(listen, listen_for, check_mode=False, identity=None):
    """Make sure a responder for exactly these ports, with this identity, runs in this network namespace.

    The same ports and identity already answered by a live responder that still has about
    ``listen_for`` seconds to run (all but a minute, or half of it): unchanged, and its end time
    stays. One that ends sooner, or other ports or another identity: the old responder stops and
    a new one starts, so the caller always gets a responder for nearly as long as it asked.
    """
    if listen_for < 1:
        raise ResponderError('listen_for: must be at least 1 second, got %d' % listen_for)
    ports = check_listen(listen)
    if not ports:
        raise ResponderError('listen: give at least one {proto, port}')
    identity = check_identity(identity)
    spec = spec_of(ports)
    running = find_responders()
    slack = min(REUSE_SLACK, listen_for / 2.0)
    for current in running:
        if (current['spec'] == spec and current['identity'] == identity
                and current['deadline'] - time.time() >= listen_for - slack):
            return {'changed': False, 'responder': {'pid': current['pid'], 'listen': parse_spec(spec),
                                                    'identity': identity, 'expires': utc(current['deadline'])}}
    held = {(p['proto'], p['port']) for current in running for p in parse_spec(current['spec'])}
    if check_mode:
        for port in ports:
            if (port['proto'], port['port']) not in held:
                bind(port).close()
        return {'changed': True, 'responder': {'pid': None, 'listen': parse_spec(spec), 'identity': identity,
                                               'expires': None}}
    sockets = {}
    try:
        # Ports no responder holds are taken first, so a port in use leaves the running one alone.
        for port in ports:
            if (port['proto'], port['port']) not in held:
                sockets[(port['proto'], port['port'])] = bind(port)
        for current in running:
            stop(current['pid'])
        for port in ports:
            if (port['proto'], port['port']) in held:
                sockets[(port['proto'], port['port'])] = bind(port)
        deadline = time.time() + listen_for
        fds = [sockets[(p['proto'], p['port'])].fileno() for p in ports]
        argv, env = python_daemon(RESPONDER, MARKER, responder_args(ports, fds, deadline, identity))
        pid = spawn_detached(argv, pass_fds=fds, env=env)
    finally:
        for sock in sockets.values():
            sock.close()
    return {'changed': True, 'responder': {'pid': pid, 'listen': parse_spec(spec), 'identity': identity,
                                           'expires': utc(deadline)}}
