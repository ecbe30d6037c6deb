# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Throughput with iperf3: a server that leaves on its own, client runs, and the UDP rate search.

iperf3's JSON output is parsed by a pure function, and the search takes any measure function,
so both are tested without a network.
"""

from __future__ import annotations

import errno
import json
import os
import select
import shutil
import socket
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.responder import (
    marked, processes_here, python_daemon, spawn_detached, stop,
)

MARKER = 'cloudops-multicloud-iperf3'
DEFAULT_PORT = 5201
CONNECT_TIMEOUT_MS = 5000
BUSY_RETRIES = 10  # the server takes a moment to be free again after a test; 10 x 0.2 s
READY_TIMEOUT = 10.0
MISSING = 'iperf3 is not installed on this host (Debian package iperf3)'
# Runs as a daemon with the arguments PORT IDLE READY_FD iperf3 -s ... iperf3 -s restarts
# rather than exits on --idle-timeout unless it is --one-off, which serves a single test; so
# this watches its output (a line per second during a test) and stops it after IDLE quiet
# seconds. The first line that says listening or error goes back to the task on READY_FD.
SUPERVISOR = r'''
import os, select, subprocess, sys, time
idle, ready = float(sys.argv[3]), int(sys.argv[4])
server = subprocess.Popen(sys.argv[5:], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
out = server.stdout.fileno()
deadline = time.monotonic() + idle
while time.monotonic() < deadline:
    if not select.select([out], [], [], max(0.0, deadline - time.monotonic()))[0]:
        break
    data = os.read(out, 65536)
    if not data:
        break
    for line in data.decode('utf-8', 'replace').splitlines():
        if ready is not None and ('Server listening' in line or 'error' in line):
            os.write(ready, (line.strip() + '\n').encode())
            os.close(ready)
            ready = None
    deadline = time.monotonic() + idle
if ready is not None:
    os.close(ready)
if server.poll() is None:
    server.terminate()
    try:
        server.wait(5)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
'''


class IperfError(CloudError):
    """iperf3 could not measure: missing, unreachable, busy, or a bad option."""


# ---------------------------------------------------------------------------------------------- options
def check_options(params):
    """One line naming the field for every option iperf3 would refuse or misread."""
    if not params.get('listen') and not params.get('server'):
        raise IperfError('server: required, unless listen is true')
    if params.get('listen') and params.get('server'):
        raise IperfError('server: not used with listen: true, which starts the server on this host')
    if not 1 <= params['port'] <= 65535:
        raise IperfError('port: %r is outside 1-65535' % params['port'])
    if params['listen']:
        if params['listen_for'] < 1:
            raise IperfError('listen_for: must be at least 1 second, got %d' % params['listen_for'])
        return
    duration = params['duration']
    if duration < 1 or duration != int(duration):
        # iperf3 reads -t as a whole number; 0.5 would become 0, which means "run forever".
        raise IperfError('duration: iperf3 runs whole seconds, at least 1; got %g' % duration)
    if params['streams'] < 1:
        raise IperfError('streams: must be at least 1, got %d' % params['streams'])
    band = params['loss_band']
    if len(band) != 2 or not 0 <= band[0] <= band[1] <= 100:
        raise IperfError('loss_band: two percentages [low, high] with 0 <= low <= high <= 100, got %r' % (band,))
    if params['rate_max'] < 1:
        raise IperfError('rate_max: must be at least 1 Mbit/s, got %d' % params['rate_max'])
    if params.get('bandwidth') is not None and params['bandwidth'] <= 0:
        raise IperfError('bandwidth: a cap per stream must be more than 0 Mbit/s, got %g' % params['bandwidth'])
    if params['max_steps'] < 1:
        raise IperfError('max_steps: must be at least 1, got %d' % params['max_steps'])


# ---------------------------------------------------------------------------------------------- server
def server_port(argv):
    """The port of an `iperf3 -s` command line, or None when it is not an iperf3 server."""
    if os.path.basename(argv[0]) != 'iperf3' or not ({'-s', '--server'} & set(argv)):
        return None
    port = DEFAULT_PORT
    for index, arg in enumerate(argv):
        if arg in ('-p', '--port') and index + 1 < len(argv) and argv[index + 1].isdigit():
            port = int(argv[index + 1])
        elif arg.startswith('--port=') and arg[7:].isdigit():
            port = int(arg[7:])
        elif arg.startswith('-p') and arg[2:].isdigit():
            port = int(arg[2:])
    return port


def find_servers(port):
    """pids of the iperf3 servers on ``port`` in this network namespace; our supervisors first."""
    supervised = [pid for pid, args in marked(MARKER) if args and args[0] == str(port)]
    others = [pid for pid, argv in processes_here() if server_port(argv) == port]
    return supervised or others


def read_ready(read_end, timeout):
    """The supervisor's first report line, or '' when it closed the pipe without one."""
    deadline = time.monotonic() + timeout
    data = b''
    while b'\n' not in data and time.monotonic() < deadline:
        if not select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))[0]:
            break
        chunk = os.read(read_end, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode('utf-8', 'replace').strip()


def ensure_server(port, listen_for, check_mode=False):
    """An iperf3 server on ``port`` in this network namespace that stops after ``listen_for`` idle seconds."""
    running = find_servers(port)
    if running:
        return {'changed': False, 'listener': {'pid': running[0], 'port': port, 'listen_for': listen_for, 'tool': 'iperf3'}}
    iperf3 = shutil.which('iperf3')
    if not iperf3:
        raise IperfError(MISSING)
    if check_mode:
        probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(('0.0.0.0', port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise IperfError('port: %d is already in use in this network namespace' % port)
            raise IperfError('port: cannot listen on %d: %s' % (port, exc.strerror or exc))
        finally:
            probe.close()
        return {'changed': True, 'listener': {'pid': None, 'port': port, 'listen_for': listen_for, 'tool': 'iperf3'}}
    read_end, write_end = os.pipe()
    try:
        server = [iperf3, '-s', '-p', port, '--forceflush']
        argv, env = python_daemon(SUPERVISOR, MARKER, [port, listen_for, write_end] + server)
        pid = spawn_detached(argv, pass_fds=[write_end], env=env)
        os.close(write_end)
        write_end = None
        report = read_ready(read_end, READY_TIMEOUT)
    finally:
        if write_end is not None:
            os.close(write_end)
        os.close(read_end)
    if 'Server listening' not in report:
        stop(pid)
        if 'Address already in use' in report:
            raise IperfError('port: %d is already in use in this network namespace (%s)' % (port, report))
        raise IperfError('port: iperf3 -s -p %d did not start: %s' % (port, report or 'it exited without a word'))
    return {'changed': True, 'listener': {'pid': pid, 'port': port, 'listen_for': listen_for, 'tool': 'iperf3'}}


# ---------------------------------------------------------------------------------------------- client
def stream_cap(params):
    """Mbit/s one stream may send (the module's bandwidth), or None for as fast as the path goes."""
    return params.get('bandwidth') or None


def udp_rate_max(params):
    """Where the UDP search starts: rate_max, or less when a bandwidth cap per stream holds every stream below it."""
    cap = stream_cap(params)
    return params['rate_max'] if cap is None else min(params['rate_max'], cap * params['streams'])


def client_argv(server, port, proto, duration, streams, rate_mbps=None, bandwidth=None):
    argv = ['iperf3', '-c', server, '-p', str(port), '-t', str(int(duration)), '-J',
            '--connect-timeout', str(CONNECT_TIMEOUT_MS)]
    if streams > 1:
        argv += ['-P', str(streams)]
    if proto == 'tcp' and bandwidth:
        argv += ['-b', '%gM' % bandwidth]  # per stream, as iperf3 applies it
    if proto == 'udp':
        # iperf3 applies -b to each stream; the rate asked for is the total.
        argv += ['-u', '-b', '%gM' % (rate_mbps / streams)]
    return argv


def _gbps(bits_per_second):
    return round(bits_per_second / 1e9, 4)


def parse_result(text, proto, stderr=''):
    """iperf3 -J output -> {gbps, seconds, intervals_gbps, retransmits (tcp) or loss_pct (udp)}.

    TCP counts what the server received, and the sender's retransmits. UDP counts what the server
    received, and the loss it saw. An iperf3 error raises IperfError with iperf3's own words.
    """
    try:
        doc = json.loads(text)
    except ValueError:
        lines = [line.strip() for line in (stderr + '\n' + text).splitlines() if line.strip()]
        raise IperfError(lines[0] if lines else 'iperf3 printed nothing')
    if doc.get('error'):
        raise IperfError(doc['error'])
    end = doc.get('end') or {}
    intervals = [_gbps(i['sum']['bits_per_second']) for i in doc.get('intervals') or [] if 'sum' in i]
    if proto == 'tcp':
        received = end.get('sum_received')
        if not received:
            raise IperfError('iperf3 reported no received total')
        return {'gbps': _gbps(received['bits_per_second']), 'seconds': round(received['seconds'], 3),
                'retransmits': (end.get('sum_sent') or {}).get('retransmits'), 'intervals_gbps': intervals}
    summary = end.get('sum')
    if not summary:
        raise IperfError('iperf3 reported no UDP total')
    received = end.get('sum_received') or summary
    return {'gbps': _gbps(received['bits_per_second']), 'seconds': round(summary['seconds'], 3),
            'loss_pct': round(summary.get('lost_percent') or 0.0, 4), 'intervals_gbps': intervals}


def describe(error, server, port):
    """iperf3's error -> one line that says what to do about it."""
    if 'unable to connect to server' in error:
        return 'server: no iperf3 server answers on %s:%d (%s); start one there with listen: true' % (
            server, port, error)
    if 'busy' in error:
        return 'server: the iperf3 server on %s:%d is busy running another test (%s)' % (server, port, error)
    if 'unable to read from stream socket' in error:
        # UDP: the control connection worked but the first datagram never came back.
        return ('server: %s:%d takes iperf3 control connections but its data port does not answer (%s); '
                'is udp/%d open?' % (server, port, error, port))
    return 'iperf3 to %s:%d failed: %s' % (server, port, error)


def run_client(commands, argv, proto, duration, server, port):
    """One iperf3 client run, parsed; waits out a busy or resetting server for a couple of seconds."""
    limit = duration + CONNECT_TIMEOUT_MS / 1000.0 + 30
    for attempt in range(BUSY_RETRIES + 1):
        proc = commands.run(argv, limit)
        if proc.returncode == 127:
            raise IperfError(MISSING)
        if proc.timed_out:
            raise IperfError('iperf3 to %s:%d did not finish within %ds' % (server, port, limit))
        try:
            return parse_result(proc.stdout, proto, proc.stderr)
        except IperfError as exc:
            # A server still closing the last test (or a tool probe of auto) is busy or resets us for a moment.
            if not any(word in str(exc) for word in ('busy', 'reset by peer')) or attempt == BUSY_RETRIES:
                raise IperfError(describe(str(exc), server, port))
        time.sleep(0.2)
    raise IperfError('iperf3 to %s:%d never ran' % (server, port))  # not reached


def search_udp_rate(measure, rate_max, loss_band, max_steps):
    """The highest UDP target rate whose loss is at most loss_band's high end.

    ``measure(rate_mbps)`` -> {gbps, loss_pct, ...}. Starts at rate_max and halves while the loss
    is above the band; then bisects between the best rate that passed and the lowest that did
    not, until a rate's loss falls inside the band or max_steps runs are spent. Returns
    (best measurement, steps); best is the fastest passing step, or the least lossy when none passed.
    """
    low, high = loss_band
    steps, results = [], []

    def step(rate):
        rate = round(rate, 3)
        result = measure(rate)
        steps.append({'target_mbps': rate, 'gbps': result['gbps'], 'loss_pct': result['loss_pct']})
        results.append(result)
        return rate, result['loss_pct']

    rate, loss = step(float(rate_max))
    bad = None
    while loss > high and len(steps) < max_steps:
        bad = rate
        rate, loss = step(rate / 2)
    good, good_loss = (rate, loss) if loss <= high else (None, None)
    while good is not None and bad is not None and good_loss < low and len(steps) < max_steps:
        if bad - good < max(1.0, bad * 0.02):
            break  # no rate left between them worth a run
        rate, loss = step((good + bad) / 2)
        if loss > high:
            bad = rate
        else:
            good, good_loss = rate, loss
    passing = [i for i, s in enumerate(steps) if s['loss_pct'] <= high]
    if passing:
        best = max(passing, key=lambda i: steps[i]['target_mbps'])
    else:
        best = min(range(len(steps)), key=lambda i: steps[i]['loss_pct'])
    return dict(results[best], target_mbps=steps[best]['target_mbps']), steps


def measure(params, commands):
    """The client side of the throughput module: TCP once, or the UDP rate search; iperf3 runs through ``commands``."""
    server, port, proto = params['server'], params['port'], params['proto']
    duration, streams = int(params['duration']), params['streams']
    if not shutil.which('iperf3'):
        raise IperfError(MISSING)
    if proto == 'tcp':
        result = run_client(commands, client_argv(server, port, 'tcp', duration, streams, bandwidth=stream_cap(params)),
                            'tcp', duration, server, port)
        return dict(result, changed=False, proto='tcp', tool='iperf3')

    def run_at(rate):
        return run_client(commands, client_argv(server, port, 'udp', duration, streams, rate), 'udp', duration,
                          server, port)

    best, steps = search_udp_rate(run_at, udp_rate_max(params), params['loss_band'], params['max_steps'])
    return dict(best, changed=False, proto='udp', steps=steps, tool='iperf3')
