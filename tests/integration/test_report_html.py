"""report.html in a real browser (Debian's chromium, headless): it draws, logs nothing to the
console, fetches nothing, and its DOM holds the reachability matrix.

Console messages: with --enable-logging=stderr Chromium writes every console message of the page,
uncaught exceptions included, to stderr as `...:CONSOLE:<line>] "<message>", source: <url> (<line>)`.
Fetches: --log-net-log writes every network request to a JSON file; the page's own requests are
the ones whose network isolation key is the file:// site. Both detectors are proven on a page
built to trip them.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import struct
import subprocess
import zlib
from pathlib import Path

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.html_report import render_html
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import (
    history_report, sample_report,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / 'output' / 'artifacts'
FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
    # Chromium's own background traffic (updates, sync, accounts) would blur the page's requests.
    '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
    '--disable-extensions', '--no-first-run',
    '--enable-logging=stderr', '--v=0',
]
CONSOLE = re.compile(r':CONSOLE(?:\(\d+\)|:\d+)?\] (.*)$', re.MULTILINE)


def chromium():
    path = shutil.which('chromium')
    assert path, 'chromium is not installed; scripts/bootstrap --test installs it'
    return path


class Visit:
    def __init__(self, tmp_path, page, *action):
        number = len(list(tmp_path.glob('net-*.json')))
        net_log = tmp_path / ('net-%d.json' % number)
        argv = [chromium()] + FLAGS + ['--user-data-dir=%s' % (tmp_path / ('profile-%d' % number)),
                                       '--log-net-log=%s' % net_log] + list(action) + [page.as_uri()]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        self.dom = done.stdout
        self.console = CONSOLE.findall(done.stderr)
        self.requests = page_requests(net_log)


def page_requests(net_log):
    log = json.loads(net_log.read_text())
    start_job = log['constants']['logEventTypes']['URL_REQUEST_START_JOB']
    return [event['params']['url'] for event in log['events']
            if event['type'] == start_job and 'file://' in str(event['params'].get('network_isolation_key', ''))]


def png_pixels(path):
    """(width, height, distinct byte values of the decoded scanlines) of a PNG, by the book."""
    data = path.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'not a PNG'
    offset, width, height, idat = 8, 0, 0, b''
    while offset < len(data):
        length, kind = struct.unpack('>I4s', data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if kind == b'IHDR':
            width, height = struct.unpack('>II', body[:8])
        elif kind == b'IDAT':
            idat += body
        offset += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


def write_report(tmp_path, report=None):
    page = tmp_path / 'report.html'
    page.write_text(render_html(report or sample_report()), encoding='utf-8')
    return page


def test_report_draws_without_console_messages_or_fetches(tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / 'report.png'
    screenshot.unlink(missing_ok=True)
    visit = Visit(tmp_path, write_report(tmp_path), '--window-size=1280,3600', '--screenshot=%s' % screenshot)
    assert visit.console == []
    assert visit.requests == []
    width, height, shades = png_pixels(screenshot)
    assert (width, height) == (1280, 3600)
    assert screenshot.stat().st_size > 50000
    # A blank or single-colour page decodes to a handful of byte values; text and charts to many.
    assert shades > 100


def test_dom_holds_the_matrix_and_every_section(tmp_path):
    visit = Visit(tmp_path, write_report(tmp_path), '--dump-dom')
    assert visit.console == [] and visit.requests == []
    assert '<table id="reachability-matrix" class="matrix">' in visit.dom
    matrix = visit.dom[visit.dom.index('id="reachability-matrix"'):]
    matrix = matrix[:matrix.index('</table>')]
    assert matrix.count('<tr>') == 4 and 'timeout' in matrix and matrix.count('class="diag"') == 3
    for anchor in ('summary', 'matrix', 'latency', 'throughput', 'sla', 'pmtu', 'topology', 'checks'):
        assert 'id="%s"' % anchor in visit.dom
    assert visit.dom.count('<svg') == 4


def test_trends_and_changes_draw_offline(tmp_path):
    visit = Visit(tmp_path, write_report(tmp_path, history_report()), '--dump-dom')
    assert visit.console == [] and visit.requests == []
    for anchor in ('since', 'trends', 'changes', 'regressions', 'trend-runs'):
        assert 'id="%s"' % anchor in visit.dom
    # The four charts of the sample report, and p99 RTT, TCP, UDP and passed checks over the runs.
    assert visit.dom.count('<svg') == 8 and visit.dom.count('<polyline') == 9
    assert 'data-plane fault: packets and configuration disagree' in visit.dom


def test_detectors_catch_a_script_error_and_a_fetch(tmp_path):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    # Nothing listens on that port any more, so the fetch fails at once instead of waiting.
    image = 'http://127.0.0.1:%d/pixel.png' % port
    page = tmp_path / 'broken.html'
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title></head><body>'
                    '<img alt="" src="%s"><script>console.error("deliberate"); notDefinedAnywhere();</script>'
                    '</body></html>' % image)
    visit = Visit(tmp_path, page, '--dump-dom')
    assert any('"deliberate"' in line for line in visit.console), visit.console
    assert any('Uncaught ReferenceError: notDefinedAnywhere is not defined' in line for line in visit.console), visit.console
    assert visit.requests == [image]
