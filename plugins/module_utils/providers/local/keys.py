# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SSH public keys: parse, fingerprint, and generate a new pair."""

from __future__ import annotations

import base64
import binascii
import hashlib

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


def generate():
    """A new ed25519 pair as (OpenSSH private key text, public key line)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    except ImportError:
        raise CloudError('public_key: generating a key pair needs the Python cryptography library; '
                         'give public_key to import an existing key instead')
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    return private, public
