"""The responder's identity line: its format, parsing, and what is not a responder's line."""

from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.identity import (
    IdentityError, check_identity, identity_line, parse_echo, parse_identity,
)


def test_the_line_names_the_server_and_its_id():
    assert identity_line({'name': 'web-1', 'id': '0a1b-2c'}) == 'cloudops-multicloud web-1 0a1b-2c'
    assert identity_line({'name': 'web-1', 'id': None}) == 'cloudops-multicloud web-1 -'
    assert parse_identity(b'cloudops-multicloud web-1 0a1b-2c\n') == {'name': 'web-1', 'id': '0a1b-2c'}
    assert parse_identity('cloudops-multicloud web-1 -') == {'name': 'web-1', 'id': None}


@pytest.mark.parametrize('identity', [
    {'name': 'web 1', 'id': 'a b'},
    {'name': 'db/primary', 'id': '-x-'},
    {'name': 'naïve%20', 'id': None},
    {'name': '-', 'id': '-'},
])
def test_any_name_survives_the_line(identity):
    line = identity_line(identity)
    assert line.count(' ') == 2 and '\n' not in line
    assert parse_identity(line.encode('utf-8') + b'\n') == identity


@pytest.mark.parametrize('data', [
    b'', b'\n', b'SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n', b'cloudops-multicloud\n', b'cloudops-multicloud web\n',
    b'cloudops-multicloud web 1 2\n', b'other web 1\n', b'cloudops-multicloud  1\n',
])
def test_other_lines_name_nobody(data):
    assert parse_identity(data) is None


def test_the_option_is_checked():
    assert check_identity(None) is None
    assert check_identity({'name': ' db ', 'id': ''}) == {'name': 'db', 'id': None}
    assert check_identity({'name': 'db', 'id': 42}) == {'name': 'db', 'id': '42'}
    with pytest.raises(IdentityError, match=r'^identity\.name: required$'):
        check_identity({'name': ' '})
    with pytest.raises(IdentityError, match=r'^identity\.id: longer than 255 characters$'):
        check_identity({'name': 'db', 'id': 'x' * 256})


def test_a_udp_answer_is_the_echo_then_the_line():
    payload = b'cloudops-multicloud probe 1 0'
    assert parse_echo(payload + b'\ncloudops-multicloud db 0a1b\n', payload) == (True, {'name': 'db', 'id': '0a1b'})
    assert parse_echo(payload, payload) == (True, None)  # a plain echo: a responder without identity
    assert parse_echo(payload + b'\ngarbage', payload) == (True, None)
    assert parse_echo(b'cloudops-multicloud probe 1 1', payload) == (False, None)  # an earlier attempt's echo
