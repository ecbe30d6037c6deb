# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The floating IP flow: allocate, associate, disassociate, release.

A floating IP has no name. It is found by its address, or else by the server it is
associated with, so that a task naming only a server is idempotent.
"""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import Outcome, plan_update

KIND = 'floating_ip'
STATES = ('present', 'absent', 'detached')


def find_floating_ip(provider, address=None, server=None):
    """The floating IP with ``address``, else the one associated with ``server``, else None."""
    if address:
        found = provider.list(KIND, name=address)
    elif server:
        found = [f for f in provider.list(KIND) if f.server == server]
    else:
        raise CloudError('address: give the address of the floating IP or the server it is associated '
                         'with, so that it can be found again')
    return found[0].to_dict() if found else None


def ensure_floating_ip(provider, params, check_mode):
    """params: address, server, network, labels, state. Returns the module result."""
    state = params['state']
    if state not in STATES:
        raise CloudError('state: %r is not one of %s' % (state, ', '.join(STATES)))
    current = find_floating_ip(provider, params['address'], params['server'])
    if current and params['network'] and current['network'] != params['network']:
        raise CloudError('network: floating IP %s is on network %r, not %r; release it to allocate one on %r'
                         % (current['address'], current['network'], params['network'], params['network']))
    if state == 'absent':
        outcome = _release(provider, current, check_mode)
    elif current is None and state == 'detached' and not params['address']:
        outcome = Outcome(False)  # nothing is associated with that server
    else:
        server = params['server'] if state == 'present' else None
        desired = {'network': params['network'], 'server': server, 'labels': params['labels']}
        outcome = _converge(provider, params['address'], current, desired, state == 'detached', check_mode)
    return {'changed': outcome.changed, KIND: outcome.after, 'diff': outcome.diff}


def _converge(provider, address, current, desired, detach, check_mode):
    if current is None:
        preview = provider.check_create(KIND, address, desired).to_dict()
        if check_mode:
            return Outcome(True, None, preview, ['create'])
        return Outcome(True, None, provider.create(KIND, address, desired).to_dict(), ['create'])
    changes = plan_update(KIND, current, {'server': desired['server'], 'labels': desired['labels']})
    if detach and current['server']:
        changes['server'] = None
    if not changes:
        return Outcome(False, current, current)
    if check_mode:
        provider.check_update(KIND, current, changes)
        after = dict(current, **changes)
        if 'server' in changes and not changes['server']:
            after.update(status='DOWN', fixed_address=None, router=None)
        return Outcome(True, current, after, ['update'])
    return Outcome(True, current, provider.update(KIND, current, changes).to_dict(), ['update'])


def _release(provider, current, check_mode):
    if current is None:
        return Outcome(False)
    provider.check_delete(KIND, current)
    if not check_mode:
        provider.delete(KIND, current)
    return Outcome(True, current, None, ['delete'])
