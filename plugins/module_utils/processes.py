# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How module code starts other programs: commands through the module's ``run_command``,
with a time limit, and daemons that outlive the module.

A command is run by a function with the signature and results of
``AnsibleModule.run_command`` (a module passes its own; controller-side plugins pass
plugin_utils.commands.run_command), so modules run every command the way ansible-core
expects of them.
"""

from __future__ import annotations

import collections
import os

# coreutils' timeout: 124 when the limit passed, 137 when the command also had to be killed.
TIMED_OUT = (124, 137)
KILL_AFTER = 5

Completed = collections.namedtuple('Completed', 'returncode stdout stderr timed_out')


class Commands:
    """Runs commands with a time limit, through a function shaped like AnsibleModule.run_command."""

    def __init__(self, run_command):
        self._run_command = run_command

    def run(self, argv, timeout, data=None):
        """Completed(returncode, stdout, stderr, timed_out) of ``argv`` given ``data`` on stdin.

        run_command has no time limit of its own, so coreutils' timeout holds one (SIGTERM, and
        SIGKILL KILL_AFTER seconds later); a command that is not installed exits 127.
        """
        limited = ['timeout', '--kill-after=%d' % KILL_AFTER, '%g' % timeout] + [str(arg) for arg in argv]
        # binary_data: data is passed as given, without the newline run_command would append.
        rc, out, err = self._run_command(limited, data=data, binary_data=data is not None)
        return Completed(rc, out, err, rc in TIMED_OUT)

    def output(self, argv, timeout):
        """(exit code or None when it timed out, stdout and stderr joined): for tools that report on either."""
        done = self.run(argv, timeout)
        return (None if done.timed_out else done.returncode), done.stdout + done.stderr


def spawn_detached(argv, pass_fds=(), env=None, output=None):
    """Start ``argv`` as a daemon and return its pid: its own session, cwd /, stdin on /dev/null,
    stdout and stderr appended to ``output`` (or /dev/null), no open descriptor but ``pass_fds``.

    Two forks, so the daemon is nobody's child here and lives on after the module exits.
    """
    report_read, report_write = os.pipe()  # both close on exec: the pid, or why the daemon did not start
    child = os.fork()
    if child == 0:
        try:
            os.close(report_read)
            os.setsid()
            daemon = os.fork()
            if daemon == 0:
                _become(argv, pass_fds, env, output, report_write)
            os.write(report_write, b'pid %d\n' % daemon)
        finally:
            os._exit(0)  # this child must never return into the module
    os.close(report_write)
    chunks = []
    while True:
        chunk = os.read(report_read, 4096)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(report_read)
    os.waitpid(child, 0)
    pid, error = None, None
    for line in b''.join(chunks).decode('utf-8', 'replace').splitlines():
        if line.startswith('pid ') and line[4:].isdigit():
            pid = int(line[4:])
        elif line.startswith('error '):
            error = line[6:]
    if error or pid is None:
        raise OSError('cannot start %s: %s' % (os.path.basename(str(argv[0])), error or 'no answer'))
    return pid


def _become(argv, pass_fds, env, output, report):
    """In the daemon's process: set up its descriptors and directory, then exec; never returns."""
    try:
        os.chdir('/')
        null = os.open(os.devnull, os.O_RDWR)
        sink = os.open(output, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if output else null
        os.dup2(null, 0)
        os.dup2(sink, 1)
        os.dup2(sink, 2)
        keep = {0, 1, 2, report} | set(pass_fds)
        for fd in sorted(set(pass_fds)):
            os.set_inheritable(fd, True)
        low = 3
        for fd in sorted(keep | {os.sysconf('SC_OPEN_MAX')}):
            if fd >= low:
                os.closerange(low, fd)
                low = fd + 1
        args = [str(arg) for arg in argv]
        if env is None:
            os.execvp(args[0], args)
        os.execvpe(args[0], args, env)
    except BaseException as exc:  # reported to the module through the pipe; exec did not happen
        try:
            os.write(report, ('error %s\n' % exc).encode('utf-8', 'replace'))
        finally:
            os._exit(127)
