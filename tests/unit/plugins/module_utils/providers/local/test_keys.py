from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.keys import fingerprint, generate, parse_public_key


def test_generated_pair_parses_and_comment_is_dropped():
    private, public = generate()
    assert private.startswith('-----BEGIN OPENSSH PRIVATE KEY-----')
    key_type, line = parse_public_key(public + ' someone@host')
    assert key_type == 'ssh-ed25519' and line == public
    assert fingerprint(line).startswith('SHA256:') and '=' not in fingerprint(line)


@pytest.mark.parametrize('text', ['ssh-foo AAAA', 'ssh-ed25519 !!!', 'ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIA=='])
def test_bad_public_keys(text):
    with pytest.raises(CloudError, match='^public_key: '):
        parse_public_key(text)
