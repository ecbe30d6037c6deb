"""Serve libcloud's own recorded responses over real HTTP on 127.0.0.1, to the stock drivers.

    python tests/clouds/replay/server.py DRIVER [PORT]

prints the port it listens on (a free one unless PORT is given) and serves until it is
terminated. A request is answered by the first of the driver's MockHttp classes (see
catalog.py) that has a handler for its path, tried with the scenario type set through the
control API, then with the type libcloud's mocks give writes (POST: CREATE, DELETE: DESTROY or
DELETE), then with none. The one piece of state: after a DELETE of a path, a GET of it answers
404, as the cloud would once the object is gone.

Control API, under /_replay/ (JSON bodies):
    POST /_replay/reset                       forget deletions, scenario, faults and the log
    POST /_replay/scenario {"type": T}        ask the mocks for scenario T first (null: none)
    POST /_replay/fault {"status": S, "count": N, "path": P}
                                              answer the next N requests (null: all) whose path
                                              contains P with status S, as the cloud would
    GET  /_replay/requests                    every cloud request so far: method, path, body, status
"""

from __future__ import annotations

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import catalog  # noqa: E402  (found beside this file)

# The scenario types libcloud's mocks give the handlers of writes.
WRITE_TYPES = {'POST': ('CREATE',), 'DELETE': ('DESTROY', 'DELETE'), 'PUT': ('UPDATE',)}
# Response headers worth passing on; some mocks hand back the request's headers as theirs.
PASSED_HEADERS = ('content-type', 'location', 'retry-after', 'link')
CONTROL = '/_replay/'


def error_body(status, message):
    """An error every replayed driver parses: Google/Azure read "error", DigitalOcean "id"/"message",
    Azure's token endpoint "error_description"."""
    reason = {401: 'Unauthorized', 403: 'Forbidden', 404: 'NotFound', 429: 'TooManyRequests'}.get(
        status, 'ServerError' if status >= 500 else 'Error')
    return json.dumps({'error': {'code': reason, 'message': message}, 'error_description': message,
                       'id': reason.lower(), 'message': message})


class Replay:
    """The driver's mocks and the replay's state; one request at a time."""

    def __init__(self, driver):
        self.driver = driver
        self.classes = catalog.mock_classes(driver)
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        catalog.reset_classes(self.classes)
        self.mocks = [cls() for cls in self.classes]
        self.deleted = set()
        self.scenario = None
        self.faults = []
        self.log = []

    def answer(self, method, target, body, headers):
        with self.lock:
            status, text, out = self._answer(method, target, body, headers)
            self.log.append({'method': method, 'path': target, 'body': body, 'status': status})
            return status, text, out

    def _answer(self, method, target, body, headers):
        parts = urlsplit(target)
        path = parts.path.rstrip('/') or '/'
        fault = self._take_fault(path)
        if fault:
            extra = {'Retry-After': '0'} if fault == 429 else {}
            return fault, error_body(fault, 'replayed fault: HTTP %d' % fault), dict(extra, **{'Content-Type': 'application/json'})
        if method == 'GET' and path in self.deleted:
            return 404, error_body(404, 'The resource %s was deleted' % path), {'Content-Type': 'application/json'}
        handler = self._handler(method, path, parse_qs(parts.query))
        if handler is None:
            return 404, error_body(404, 'no recorded response for %s %s' % (method, path)), {'Content-Type': 'application/json'}
        try:
            status, text, out, _reason = handler(method, target, body, dict(headers))
        except (IOError, OSError, NotImplementedError) as exc:  # a handler whose fixture is not recorded
            return 404, error_body(404, 'no recorded response for %s %s (%s)' % (method, path, type(exc).__name__)), {'Content-Type': 'application/json'}
        status = int(status)
        if method == 'DELETE' and status < 400:
            self.deleted.add(path)
        elif method == 'PUT' and status < 400:
            self.deleted.discard(path)
        if text is not None and not isinstance(text, (str, bytes)):
            text = json.dumps(text)
        return status, text or '', {k: v for k, v in (out or {}).items() if k.lower() in PASSED_HEADERS}

    def _take_fault(self, path):
        for fault in self.faults:
            if fault.get('path') and fault['path'] not in path:
                continue
            if fault.get('count') is not None:
                if fault['count'] <= 0:
                    continue
                fault['count'] -= 1
            return int(fault['status'])
        return None

    def _handler(self, method, path, qs):
        for mock in self.mocks:
            def name(kind):
                return mock._get_method_name(type=kind, use_param=mock.use_param, qs=qs, path=path).replace('%', '_')
            for kind in ((self.scenario,) if self.scenario else ()) + WRITE_TYPES.get(method, ()):
                # Only handlers the class defines: a typed name must not fall into a catch-all __getattr__.
                if getattr(type(mock), name(kind), None) is not None:
                    return getattr(mock, name(kind))
            try:
                return getattr(mock, name(None))
            except AttributeError:
                continue
        return None

    def control(self, method, path, body):
        with self.lock:
            request = json.loads(body) if body else {}
            if method == 'POST' and path == CONTROL + 'reset':
                self.reset()
            elif method == 'POST' and path == CONTROL + 'scenario':
                self.scenario = request.get('type')
            elif method == 'POST' and path == CONTROL + 'fault':
                self.faults.append({'status': int(request['status']), 'count': request.get('count', 1),
                                    'path': request.get('path')})
            elif method == 'GET' and path == CONTROL + 'requests':
                return 200, json.dumps(self.log)
            else:
                return 404, json.dumps({'error': 'unknown control request %s %s' % (method, path)})
            return 200, json.dumps({'ok': True})


class Handler(BaseHTTPRequestHandler):
    replay = None
    protocol_version = 'HTTP/1.1'

    def _serve(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8', 'replace') if length else None
        if self.path.startswith(CONTROL):
            status, text = self.replay.control(self.command, urlsplit(self.path).path, body)
            headers = {'Content-Type': 'application/json'}
        else:
            status, text, headers = self.replay.answer(self.command, self.path, body, self.headers.items())
        data = text.encode('utf-8') if isinstance(text, str) else text
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the control API's request log is the record."""


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    Handler.replay = Replay(argv[1])
    server = ThreadingHTTPServer(('127.0.0.1', int(argv[2]) if len(argv) == 3 else 0), Handler)
    sys.stdout.write('%d\n' % server.server_address[1])
    sys.stdout.flush()
    server.serve_forever()
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
