"""keypair on the lab: import, generate, idempotency, a key that does not match, delete."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def new_public_key(comment='operator@laptop'):
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return key + ' ' + comment


def fingerprint(public_key):
    digest = hashlib.sha256(base64.b64decode(public_key.split()[1])).digest()
    return 'SHA256:' + base64.b64encode(digest).decode().rstrip('=')


def test_import_lifecycle(run, lab_clean):
    public_key = new_public_key()
    bare = ' '.join(public_key.split()[:2])
    args = {'name': 'deploy', 'public_key': public_key, 'labels': {'run-id': 't-key'}}
    checked = run('keypair', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['keypair']['public_key'] == bare
    assert run('keypair', check=True, **args)['changed'], 'check mode created something'

    imported = run('keypair', **args)
    keypair = imported['keypair']
    assert imported['changed'] and keypair['type'] == 'ssh-ed25519' and keypair['public_key'] == bare
    assert keypair['fingerprint'] == fingerprint(public_key)
    assert 'private_key' not in keypair
    assert run('keypair', **args)['changed'] is False
    assert run('keypair', name='deploy', public_key=bare)['changed'] is False
    assert run('keypair', name='deploy')['changed'] is False

    relabelled = run('keypair', name='deploy', labels={'owner': 'ops'})
    assert relabelled['changed'] and relabelled['keypair']['labels'] == {'run-id': 't-key', 'owner': 'ops'}

    assert run('keypair', name='deploy', state='absent', check=True)['changed']
    assert run('keypair', name='deploy', public_key=public_key)['changed'] is False, 'check mode deleted'
    deleted = run('keypair', name='deploy', state='absent')
    assert deleted['changed'] and deleted['keypair'] is None
    assert deleted['diff']['before']['fingerprint'] == fingerprint(public_key)
    assert run('keypair', name='deploy', state='absent')['changed'] is False


def test_generate_returns_private_key_once(run, lab_clean):
    checked = run('keypair', name='gen', check=True)
    assert checked['changed'] and 'private_key' not in checked['keypair']

    generated = run('keypair', name='gen')
    keypair = generated['keypair']
    assert generated['changed'] and keypair['type'] == 'ssh-ed25519'
    assert keypair['private_key'].startswith('-----BEGIN OPENSSH PRIVATE KEY-----')
    assert 'private_key' not in generated['diff']['after']
    private = serialization.load_ssh_private_key(keypair['private_key'].encode(), password=None)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    assert derived == keypair['public_key'] and keypair['fingerprint'] == fingerprint(derived)

    again = run('keypair', name='gen')
    assert again['changed'] is False and 'private_key' not in again['keypair']
    assert again['keypair']['public_key'] == keypair['public_key']
    assert run('keypair', name='gen', public_key=keypair['public_key'] + ' gen@lab')['changed'] is False
    assert run('keypair', name='gen', state='absent')['changed']


def test_another_key_under_the_same_name_is_refused(run, lab_clean):
    first, second = new_public_key(), new_public_key()
    run('keypair', name='deploy', public_key=first)
    for check in (True, False):
        refused = run('keypair', check=check, name='deploy', public_key=second)
        assert refused['failed'] and '\n' not in refused['msg']
        assert refused['msg'] == ("public_key: keypair 'deploy' already holds another key (ssh-ed25519 %s); "
                                  'delete it first, or import this key under another name' % fingerprint(first))
        assert first.split()[1] not in refused['msg'] and second.split()[1] not in refused['msg']
    kept = run('keypair', name='deploy', public_key=first)
    assert kept['changed'] is False and kept['keypair']['fingerprint'] == fingerprint(first)


@pytest.mark.parametrize('public_key, message', [
    ('hello', 'public_key: expected an OpenSSH public key line'),
    ('ssh-ed25519 not*base64', 'public_key: the key data is not valid base64'),
    ('ssh-rsa ' + new_public_key().split()[1], 'public_key: the key data does not match its type ssh-rsa'),
], ids=['not-a-key-line', 'not-base64', 'ed25519-data-as-rsa'])  # ids every worker collects alike
def test_bad_public_key_changes_nothing(run, lab_clean, public_key, message):
    for check in (True, False):
        failed = run('keypair', check=check, name='bad', public_key=public_key)
        assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
    assert run('keypair', name='bad', state='absent')['changed'] is False
