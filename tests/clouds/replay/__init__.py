"""Start, steer and stop a replay server (server.py) from tests.

    with ReplayServer('gce') as replay:
        replay.port             # the stock driver's host/port/secure point here
        replay.scenario('UNAUTHORIZED')
        replay.fault(503, count=2)
        replay.requests('POST')
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import urllib.request

SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'server.py')


class ReplayServer:
    """One server process for one driver, on a free port of 127.0.0.1."""

    def __init__(self, driver, startup_timeout=60):
        self.driver = driver
        # A file, not a pipe: a server that logs a lot must never block on a full pipe.
        self.errors = tempfile.TemporaryFile(mode='w+')
        self.process = subprocess.Popen([sys.executable, SERVER, driver], stdout=subprocess.PIPE,
                                        stderr=self.errors, text=True)
        ready, _w, _x = select.select([self.process.stdout], [], [], startup_timeout)
        line = self.process.stdout.readline() if ready else ''
        if not line.strip().isdigit():
            self.stop()
            raise RuntimeError('replay server for %s did not start: %s' % (driver, self.log()[-2000:]))
        self.port = int(line)
        self.host = '127.0.0.1'

    def _control(self, path, payload=None):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request('http://%s:%d/_replay/%s' % (self.host, self.port, path), data=data,
                                         method='GET' if payload is None else 'POST')
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())

    def reset(self):
        """Forget deletions, scenario, faults and the request log."""
        self._control('reset', {})

    def scenario(self, kind):
        """Ask libcloud's mocks for their scenario ``kind`` first (e.g. UNAUTHORIZED); None: none."""
        self._control('scenario', {'type': kind})

    def fault(self, status, count=1, path=None):
        """Answer the next ``count`` requests (None: every one) whose path contains ``path`` with ``status``."""
        self._control('fault', {'status': status, 'count': count, 'path': path})

    def requests(self, method=None, path=None):
        """The cloud requests served so far, optionally only those of ``method`` whose path contains ``path``."""
        return [r for r in self._control('requests')
                if (method is None or r['method'] == method) and (path is None or path in r['path'])]

    def log(self):
        """What the server wrote to stderr (tracebacks of handlers that failed); empty once stopped."""
        if self.errors.closed:
            return ''
        self.errors.seek(0)
        return self.errors.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.errors.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
