"""An HTTP proxy on 127.0.0.1 in front of a real API that answers some requests with a fault itself.

    with FaultProxy('http://127.0.0.1:15696', fail=lambda method, path: method == 'POST', times=1) as proxy:
        ...  # point the client at proxy.url (proxy.port); proxy.faults counts the faults it answered

Every other request goes to the API unchanged and its answer comes back unchanged.
"""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {'connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization',
              'proxy-authenticate', 'content-length', 'host'}


class FaultProxy:
    def __init__(self, target, fail=None, times=None, status=503, body=None, content_type='application/json'):
        """``fail(method, path)`` picks the requests to fault (None: every one); ``times`` of them at most
        (None: all). A fault is ``status`` with ``body``."""
        self.target = urllib.parse.urlsplit(target)
        self.fail, self.times, self.status = fail or (lambda method, path: True), times, status
        self.body = (body if body is not None else '{"message": "injected fault", "code": %d}' % status).encode()
        self.content_type = content_type
        self.faults = self.forwarded = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(('127.0.0.1', 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = 'http://127.0.0.1:%d' % self.port

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def _fault_now(self, method, path):
        with self.lock:
            if not self.fail(method, path) or (self.times is not None and self.faults >= self.times):
                return False
            self.faults += 1
            return True

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _relay(self):
                length = int(self.headers.get('Content-Length') or 0)
                body = self.rfile.read(length) if length else None
                if proxy._fault_now(self.command, self.path):
                    self.send_response(proxy.status)
                    self.send_header('Content-Type', proxy.content_type)
                    self.send_header('Content-Length', str(len(proxy.body)))
                    self.send_header('Connection', 'close')
                    self.end_headers()
                    self.wfile.write(proxy.body)
                    return
                with proxy.lock:
                    proxy.forwarded += 1
                upstream = http.client.HTTPConnection(proxy.target.hostname, proxy.target.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream.request(self.command, self.path, body=body, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in HOP_BY_HOP:
                        self.send_header(key, value)
                self.send_header('Content-Length', str(len(data)))
                self.send_header('Connection', 'close')
                self.end_headers()
                self.wfile.write(data)
                upstream.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _relay
        return Handler
