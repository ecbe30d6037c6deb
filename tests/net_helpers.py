"""Ports on 127.0.0.1 for servers a test starts, or for clouds that must not answer."""

from __future__ import annotations

import socket


def free_port():
    """A TCP port of 127.0.0.1 that nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]
