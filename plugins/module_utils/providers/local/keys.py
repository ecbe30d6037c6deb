# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH public keys: parse, fingerprint, and generate a new pair."""

from __future__ import annotations

import base64
import binascii
import hashlib
import os

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

KEY_TYPES = ('ssh-ed25519', 'ssh-rsa', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521')


def parse_public_key(text):
    """'type base64 [comment]' -> (type, 'type base64'); the comment is not part of the key."""
    parts = str(text).split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise CloudError('public_key: expected an OpenSSH public key line "<type> <base64> [comment]" '
                         'with type one of %s' % ', '.join(KEY_TYPES))
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except (binascii.Error, ValueError):
        raise CloudError('public_key: the key data is not valid base64')
    if not blob.startswith(len(parts[0]).to_bytes(4, 'big') + parts[0].encode()):
        raise CloudError('public_key: the key data does not match its type %s' % parts[0])
    return parts[0], '%s %s' % (parts[0], parts[1])


def fingerprint(public_key):
    blob = base64.b64decode(public_key.split()[1])
    return 'SHA256:' + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip('=')


def _serialization():
    try:
        from cryptography.hazmat.primitives import serialization
    except ImportError:
        raise CloudError('public_key: generating a key pair needs the Python cryptography library; '
                         'give public_key to import an existing key instead')
    return serialization


def _public_line(key):
    serialization = _serialization()
    return key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()


def generate():
    """A new ed25519 pair as (OpenSSH private key text, public key line)."""
    serialization = _serialization()
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    return private, _public_line(key)


def key_file_public_key(path, create=True):
    """The public key line of the OpenSSH private key in ``path``, made there (mode 0600) when absent.

    The private key never leaves the file. Without ``create`` (check mode), a missing file gives None.
    """
    serialization = _serialization()
    where = 'private_key_file'
    try:
        with open(path, 'rb') as handle:
            data = handle.read()
    except FileNotFoundError:
        if not create:
            return None
        private, public = generate()
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise CloudError('%s: cannot create %s: %s' % (where, path, exc.strerror))
        with os.fdopen(fd, 'w') as handle:
            handle.write(private)
        return public
    except OSError as exc:
        raise CloudError('%s: cannot read %s: %s' % (where, path, exc.strerror))
    try:
        key = serialization.load_ssh_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise CloudError('%s: %s is not an unencrypted OpenSSH private key (%s)' % (where, path, exc))
    return _public_line(key)
