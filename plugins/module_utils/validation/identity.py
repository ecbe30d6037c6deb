# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The line a responder answers with, so that a probe knows which server it reached.

``cloudops-multicloud <name> <id>\\n``: the server's name and cloud id, each percent-encoded so
that neither holds a space, ``-`` for an id that is not known. A TCP responder sends the line
on accept and closes; a UDP responder echoes the datagram, a newline, then the line.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

PREFIX = 'cloudops-multicloud'
NO_ID = '-'
MAX_FIELD = 255  # characters of a name or an id: a cloud's own limit for names
MAX_LINE = 2048  # bytes a probe reads at most: the longest line, every character encoded
SAFE = '-._~:@+'  # kept as they are; everything else is percent-encoded


class IdentityError(CloudError):
    """An identity option that cannot be carried on one line."""


def check_identity(identity, where='identity'):
    """The identity option -> {name, id} (id None when not given), or None without one."""
    if identity is None:
        return None
    name = str(identity.get('name') or '').strip()
    if not name:
        raise IdentityError('%s.name: required' % where)
    server_id = identity.get('id')
    server_id = (str(server_id).strip() or None) if server_id is not None else None
    for key, value in (('name', name), ('id', server_id)):
        if value is not None and len(value) > MAX_FIELD:
            raise IdentityError('%s.%s: longer than %d characters' % (where, key, MAX_FIELD))
    return {'name': name, 'id': server_id}


def identity_line(identity):
    """{name, id} -> the line without its newline, as the responder carries it."""
    server_id = quote(identity['id'], safe=SAFE) if identity.get('id') else NO_ID
    if identity.get('id') == NO_ID:
        server_id = '%2D'  # an id that is a dash, not a missing one
    return '%s %s %s' % (PREFIX, quote(identity['name'], safe=SAFE), server_id)


def parse_identity(data):
    """A line (bytes or str, its newline optional) -> {name, id}, or None when it is not a responder's."""
    if isinstance(data, bytes):
        data = data.decode('utf-8', 'replace')
    fields = data.strip('\r\n').split(' ')
    if len(fields) != 3 or fields[0] != PREFIX or not fields[1]:
        return None
    return {'name': unquote(fields[1]), 'id': None if fields[2] == NO_ID else unquote(fields[2])}


def parse_echo(data, payload):
    """A UDP answer to ``payload`` -> (it is the echo, {name, id} or None); a stray datagram is (False, None)."""
    if data == payload:
        return True, None
    if data.startswith(payload + b'\n'):
        return True, parse_identity(data[len(payload) + 1:])
    return False, None
