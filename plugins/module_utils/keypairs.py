# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The keypair flow: import a public key or generate a pair, and hand a private key out once."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import ensure
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.keys import key_file_public_key


def desired_keypair(name, public_key, labels):
    """A function of the current keypair to its desired fields; a key is never replaced in place."""
    def desired(current):
        if current is None:
            return {'public_key': public_key, 'labels': labels}
        # The comment after the key data is not part of the key.
        if public_key is not None and ' '.join(public_key.split()[:2]) != current['public_key']:
            raise CloudError('public_key: keypair %r already holds another key (%s %s); delete it first, '
                             'or import this key under another name'
                             % (name, current['type'], current['fingerprint']))
        return {'labels': labels}
    return desired


def _without_private_key(record):
    record = dict(record or {})
    record.pop('private_key', None)
    return record


def ensure_keypair(provider, module):
    params = module.params
    public_key = params['public_key']
    if params.get('private_key_file'):
        public_key = key_file_public_key(params['private_key_file'], create=not module.check_mode)
    result = ensure(provider, module, 'keypair', desired_keypair(params['name'], public_key, params['labels']))
    if params.get('private_key_file'):
        result['private_key_file'] = params['private_key_file']
    # A private key goes out once, in the result of a real run, and never into a diff.
    result['diff'] = {side: _without_private_key(record) for side, record in result['diff'].items()}
    keypair = result['keypair']
    if keypair and (module.check_mode or not keypair.get('private_key')):
        result['keypair'] = _without_private_key(keypair)
    return result
