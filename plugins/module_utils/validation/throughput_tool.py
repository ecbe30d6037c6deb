# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which tool measures throughput on each side: iperf3, or the Python sender and receiver.

The listen side with tool auto starts iperf3 where it is installed, else the Python receiver, on
the same port number. The client with auto asks the server which it is (python_throughput.detect)
and runs the matching client: the two speak different protocols.
"""

from __future__ import annotations

import shutil

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import iperf, python_throughput

TOOLS = ('auto', 'iperf3', 'python')


class ToolError(CloudError):
    """The tool asked for cannot serve or measure here."""


def check_options(params):
    iperf.check_options(params)
    tool = params.get('tool') or 'auto'
    if tool not in TOOLS:
        raise ToolError('tool: %r is not one of %s' % (tool, ', '.join(TOOLS)))


def iperf3_installed():
    return shutil.which('iperf3') is not None


def running_server(port):
    """(tool, pid) of the throughput server on ``port`` in this network namespace, or None."""
    for tool, find in (('iperf3', iperf.find_servers), ('python', python_throughput.find_receivers)):
        pids = find(port)
        if pids:
            return tool, pids[0]
    return None


def listen(params, check_mode=False):
    """The listen side: the server already on the port, or a new one of the tool asked for."""
    port, listen_for, tool = params['port'], params['listen_for'], params.get('tool') or 'auto'
    running = running_server(port)
    if running:
        kind, pid = running
        if tool not in ('auto', kind):
            raise ToolError('tool: an %s server already listens on port %d here; ask for tool: %s or auto, or another port'
                            % (kind, port, kind))
        return {'changed': False, 'listener': {'pid': pid, 'port': port, 'listen_for': listen_for, 'tool': kind}}
    if tool == 'auto':
        tool = 'iperf3' if iperf3_installed() else 'python'
    if tool == 'iperf3':
        return iperf.ensure_server(port, listen_for, check_mode)
    return python_throughput.ensure_receiver(port, listen_for, check_mode)


def client_tool(server, port, tool):
    """The client to run against server:port: the one asked for, or with auto, the one the server speaks."""
    if tool != 'auto':
        return tool
    answer = python_throughput.detect(server, port)
    if answer == 'python':
        return 'python'
    if answer == 'other' and not iperf3_installed():
        raise ToolError('server: %s:%d is not the python receiver (iperf3, by its answer), and iperf3 is not installed '
                        'on this host; start the server side with tool: python' % (server, port))
    # Nobody answered: the client of this host says so in its own words.
    return 'iperf3' if iperf3_installed() else 'python'


def measure(params, commands):
    """The client side of the throughput module, with the tool that can talk to the server; iperf3 runs through ``commands``."""
    tool = client_tool(params['server'], params['port'], params.get('tool') or 'auto')
    if tool == 'iperf3':
        return iperf.measure(params, commands)
    return python_throughput.measure(params)
