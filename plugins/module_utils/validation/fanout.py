# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one job per lab VM, many VMs at once, from one process on the controller.

Each job runs in a child forked from here that enters the VM's namespaces (network, UTS, PID,
mount: what the netns connection's nsenter enters) before it runs, so its sockets, its ping
processes and the daemons it starts are the VM's. A fork costs milliseconds where a task per VM
costs Ansible a module run; the children share the already imported code.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import select
import signal
import time

# Entered in this order: mount last, since the VM's /proc may not show the host's pids.
NAMESPACES = ('net', 'uts', 'pid', 'mnt')
NETNS_DIR = '/run/netns'
GRACE = 5.0  # seconds a job may overrun the budget, to report the targets it did not reach
CHUNK = 65536


def setns(fd):
    """Move this process into the namespace ``fd`` refers to (os.setns on Python 3.12+, libc before)."""
    if hasattr(os, 'setns'):
        os.setns(fd, 0)
        return
    libc = ctypes.CDLL(ctypes.util.find_library('c'), use_errno=True)
    if libc.setns(fd, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def enter_namespaces(pid, kinds=NAMESPACES):
    """Enter the namespaces of process ``pid`` (a lab VM's init); only a single-threaded process may
    enter a mount namespace, which a child just forked from the main thread is."""
    fds = [os.open('/proc/%d/ns/%s' % (pid, kind), os.O_RDONLY) for kind in kinds]
    try:
        for fd in fds:
            setns(fd)
    finally:
        for fd in fds:
            os.close(fd)
    os.chdir('/')


def enter_netns(name):
    """Enter the named network namespace only: all a probe needs, and all the lab's outside vantage has.
    Not the PID namespace: a process whose children go to another one cannot start threads (clone(2),
    EINVAL), and probes run in threads; their pings are gone when they return."""
    fd = os.open(os.path.join(NETNS_DIR, name), os.O_RDONLY)
    try:
        setns(fd)
    finally:
        os.close(fd)


def _child(write_fd, where, work, payload, enter):
    """In the forked child: enter, work, write the result as JSON, exit without running the parent's handlers."""
    try:
        enter(where)
        # setns into a PID namespace moves only the children that follow, so the work runs in a
        # grandchild: a member of the VM's PID namespace, whose /proc/self the VM's /proc shows.
        worker = os.fork()
        if worker:
            os.waitpid(worker, 0)
            os._exit(0)  # pylint: disable=protected-access  # the grandchild wrote the result
        data = json.dumps(work(payload))
    except BaseException as exc:  # pylint: disable=broad-except  # reported as the job's failure
        data = json.dumps({'failed': True, 'msg': '%s: %s' % (type(exc).__name__, exc)})
    try:
        view = memoryview(data.encode('utf-8'))
        while view:
            view = view[os.write(write_fd, view):]
    finally:
        os._exit(0)  # pylint: disable=protected-access  # a forked child must not flush the module's output


def budget_spent_msg(budget, started):
    if started:
        return 'the time budget of %gs was spent before its probes finished' % budget
    return 'the time budget of %gs was spent before its turn came' % budget


def fan_out(jobs, work, parallel, time_budget=None, enter=enter_namespaces, clock=time.monotonic, budget=None):
    """Run ``work(payload)`` for every job ``(key, where, payload)`` in a child that ran ``enter(where)``
    first (a VM's init pid for enter_namespaces, a namespace name for enter_netns), ``parallel`` at a
    time; returns {key: what work returned}, JSON-shaped.

    A job that raised, died or had nowhere to enter gives {'failed': True, 'msg': why}. With ``time_budget``
    (seconds), no job starts once it is spent, and one still running GRACE seconds later is killed;
    both give {'failed': True, 'budget_spent': True, 'msg': ...}, naming ``budget`` when given (the
    phase's whole budget, of which ``time_budget`` is what is left).
    """
    budget = time_budget if budget is None else budget
    if parallel < 1:
        raise ValueError('parallel: at least one VM at a time, got %r' % parallel)
    deadline = None if time_budget is None else clock() + time_budget
    pending = list(jobs)
    running = {}  # read fd -> (key, child pid, [bytes])
    results = {}
    try:
        while pending or running:
            while pending and len(running) < parallel:
                if deadline is not None and clock() >= deadline:
                    break
                key, where, payload = pending.pop(0)
                if not where:
                    results[key] = {'failed': True, 'msg': 'the VM is stopped, or has no network namespace'}
                    continue
                read_fd, write_fd = os.pipe()
                child = os.fork()
                if child == 0:
                    os.close(read_fd)
                    _child(write_fd, where, work, payload, enter)
                os.close(write_fd)
                running[read_fd] = (key, child, [])
            if deadline is not None and clock() >= deadline:
                for key, _where, _payload in pending:
                    results[key] = {'failed': True, 'budget_spent': True, 'msg': budget_spent_msg(budget, False)}
                pending = []
            if not running:
                continue
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline + GRACE - clock()))
            ready, _w, _x = select.select(list(running), [], [], wait)
            for fd in ready:
                chunk = os.read(fd, CHUNK)
                if chunk:
                    running[fd][2].append(chunk)
                    continue
                key, child, chunks = running.pop(fd)
                os.close(fd)
                os.waitpid(child, 0)
                try:
                    results[key] = json.loads(b''.join(chunks).decode('utf-8'))
                except ValueError:
                    results[key] = {'failed': True, 'msg': 'the job in the VM died without a result'}
            if deadline is not None and clock() >= deadline + GRACE:
                for fd in list(running):
                    key, child, _chunks = running.pop(fd)
                    _kill(child, fd)
                    results[key] = {'failed': True, 'budget_spent': True, 'msg': budget_spent_msg(budget, True)}
    finally:
        for fd, (_key, child, _chunks) in running.items():
            _kill(child, fd)
    return results


def _kill(child, fd):
    try:
        os.kill(child, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.close(fd)
    os.waitpid(child, 0)


def lab_data_plane(listeners, probes, netns, settings, parallel, time_budget=None, runner=None, listen_for=300,
                   check_mode=False, inits=None, clock=time.monotonic, sshd_hosts=(), enter=enter_namespaces,
                   enter_probe=enter_netns):
    """Start every responder, then probe from every source, ``parallel`` lab VMs at a time.

    ``listeners``: [{host, listen, identity}]; ``probes``: [{src, targets}]; ``netns``: {VM name: namespace}
    (the lab's outside vantage too, which probes but runs no init, so no responder);
    ``settings``:
    count, interval, timeout, path_mtu, mtu_max, parallel (targets at once per VM). ``runner`` runs
    ping (processes.Commands.output), None probes with the module's own ICMP socket.
    Returns {'responders': [{host, responder} or {host, failed, msg}], 'probes': [{src, results} or
    {src, failed, msg}]}; responders and probes share ``time_budget``. On ``sshd_hosts`` the VM's own
    sshd answers tcp/22, so no responder is started on it there.
    """
    # Imported here: the controller's kernel helpers are not needed to test the fan-out itself.
    from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.kernel import namespace_inits
    from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.probes import probe_targets
    from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.responder import ensure_responder

    started = clock()
    sshd = {'proto': 'tcp', 'port': 22}
    listeners = [dict(job, listen=[p for p in job['listen'] if p != sshd]) if job['host'] in sshd_hosts else job
                 for job in listeners]
    if inits is None:
        pids = namespace_inits({namespace for namespace in netns.values() if namespace})
        inits = {vm: pids.get(namespace) for vm, namespace in netns.items()}

    def remaining():
        return None if time_budget is None else max(0.0, time_budget - (clock() - started))

    def listen(job):
        started_responder = ensure_responder(job['listen'], listen_for, check_mode, job.get('identity'))
        return {'changed': started_responder['changed'], 'responder': started_responder['responder']}

    answered = fan_out([(job['host'], inits.get(job['host']), job) for job in listeners], listen, parallel,
                       remaining(), enter=enter, budget=time_budget)

    def probe(job):
        return {'results': probe_targets(job['targets'], settings['count'], settings['interval'], settings['timeout'],
                                         settings['path_mtu'], settings['mtu_max'], settings['parallel'],
                                         runner=runner, time_budget=remaining(), budget=time_budget)}

    probed = fan_out([(job['src'], netns.get(job['src']), job) for job in probes], probe, parallel, remaining(),
                     enter=enter_probe, budget=time_budget)
    return {'responders': [dict(answered[job['host']], host=job['host']) for job in listeners],
            'probes': [dict(probed[job['src']], src=job['src']) for job in probes]}
