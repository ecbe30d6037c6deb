"""keypair on EC2 (moto): import, generate, idempotency, a key that does not match, delete; boto3 confirms."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def new_public_key(comment='operator@laptop'):
    key = Ed25519PrivateKey.generate().public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    return key + ' ' + comment


def fingerprint(public_key):
    digest = hashlib.sha256(base64.b64decode(public_key.split()[1])).digest()
    return 'SHA256:' + base64.b64encode(digest).decode().rstrip('=')


def key_pairs(aws):
    return {k['KeyName']: k for k in aws.describe_key_pairs(IncludePublicKey=True)['KeyPairs']}


def test_import_lifecycle(run, aws, ec2_clean):
    public_key = new_public_key()
    bare = ' '.join(public_key.split()[:2])
    args = {'name': 'deploy', 'public_key': public_key, 'labels': {'run-id': 't-key'}}
    checked = run('keypair', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['keypair']['public_key'] == bare and checked['keypair']['fingerprint'] == fingerprint(bare)
    assert key_pairs(aws) == {}, 'check mode imported'

    imported = run('keypair', **args)
    keypair = imported['keypair']
    assert imported['changed'] and keypair['type'] == 'ssh-ed25519' and keypair['public_key'] == bare
    assert keypair['fingerprint'] == fingerprint(public_key) and 'private_key' not in keypair
    seen = key_pairs(aws)['deploy']
    assert seen['KeyPairId'] == keypair['id'] and ' '.join(seen['PublicKey'].split()[:2]) == bare
    assert {t['Key']: t['Value'] for t in seen['Tags']} == {'run-id': 't-key'}
    assert run('keypair', **args)['changed'] is False
    assert run('keypair', name='deploy', public_key=bare)['changed'] is False
    assert run('keypair', name='deploy')['changed'] is False

    relabelled = run('keypair', name='deploy', labels={'owner': 'ops'})
    assert relabelled['changed'] and relabelled['keypair']['labels'] == {'run-id': 't-key', 'owner': 'ops'}
    assert {t['Key']: t['Value'] for t in key_pairs(aws)['deploy']['Tags']} == {'run-id': 't-key', 'owner': 'ops'}

    assert run('keypair', name='deploy', state='absent', check=True)['changed']
    assert 'deploy' in key_pairs(aws), 'check mode deleted'
    deleted = run('keypair', name='deploy', state='absent')
    assert deleted['changed'] and deleted['keypair'] is None
    assert deleted['diff']['before']['fingerprint'] == fingerprint(public_key)
    assert key_pairs(aws) == {}
    assert run('keypair', name='deploy', state='absent')['changed'] is False


def test_generate_returns_private_key_once(run, aws, ec2_clean):
    checked = run('keypair', name='gen', check=True)
    assert checked['changed'] and 'private_key' not in checked['keypair'] and key_pairs(aws) == {}

    generated = run('keypair', name='gen', labels={'run-id': 't-gen'})
    keypair = generated['keypair']
    assert generated['changed'] and keypair['type'] == 'ssh-ed25519'
    assert keypair['private_key'].startswith('-----BEGIN OPENSSH PRIVATE KEY-----')
    assert 'private_key' not in generated['diff']['after']
    private = serialization.load_ssh_private_key(keypair['private_key'].encode(), password=None)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    assert derived == keypair['public_key'] and keypair['fingerprint'] == fingerprint(derived)
    seen = key_pairs(aws)['gen']
    assert seen['KeyType'] == 'ed25519' and ' '.join(seen['PublicKey'].split()[:2]) == derived

    again = run('keypair', name='gen')
    assert again['changed'] is False and 'private_key' not in again['keypair']
    assert again['keypair']['public_key'] == keypair['public_key']
    assert run('keypair', name='gen', public_key=keypair['public_key'] + ' gen@ec2')['changed'] is False
    assert run('keypair', name='gen', state='absent')['changed']
    assert key_pairs(aws) == {}


def test_another_key_under_the_same_name_is_refused(run, aws, ec2_clean):
    first, second = new_public_key(), new_public_key()
    run('keypair', name='deploy', public_key=first)
    for check in (True, False):
        refused = run('keypair', check=check, name='deploy', public_key=second)
        assert refused['failed'] and '\n' not in refused['msg']
        assert refused['msg'].startswith("public_key: keypair 'deploy' already holds another key (ssh-ed25519 %s)"
                                         % fingerprint(first)), refused['msg']
    assert ' '.join(key_pairs(aws)['deploy']['PublicKey'].split()[:2]) == ' '.join(first.split()[:2])


def test_bad_keys_change_nothing(run, aws, ec2_clean):
    ecdsa = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    for args, message in ((({'public_key': 'ssh-ed25519 not-base64!'}), 'public_key: the key data is not valid base64'),
                          ({'public_key': 'hello'}, 'public_key: expected an OpenSSH public key line'),
                          ({'public_key': ecdsa}, 'public_key: EC2 imports ssh-rsa and ssh-ed25519 keys, not ecdsa'),
                          ({'labels': {'Name': 'x'}}, 'labels.Name: '),
                          ({'name': 'ключ'}, 'name: an EC2 key pair name is 1 to 255 ASCII characters')):
        for check in (True, False):
            failed = run('keypair', check=check, **dict({'name': 'bad'}, **args))
            assert failed['failed'] and failed['msg'].startswith(message) and '\n' not in failed['msg'], failed['msg']
    assert key_pairs(aws) == {}
