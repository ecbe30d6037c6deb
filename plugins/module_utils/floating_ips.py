# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The floating IP flow: allocate, associate, disassociate, release.

A floating IP has no name. It is found by its address, or else by the server it is
associated with, so that a task naming only a server is idempotent.
"""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import Outcome, StateMachine

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
    machine = StateMachine(provider, KIND, check_mode)
    if state == 'absent':
        outcome = machine.remove(current)
    elif current is None and state == 'detached' and not params['address']:
        outcome = Outcome(False)  # nothing is associated with that server
    else:
        server = params['server']
        if state == 'detached':
            # '' rather than None: detaching is a change to make, not a field to leave alone.
            server = '' if current and current['server'] else None
        desired = {'network': params['network'], 'server': server, 'labels': params['labels']}
        outcome = machine.converge(current, params['address'], desired)
        if outcome.after is not None and not outcome.after['server']:
            outcome.after.update(server=None, status='DOWN', fixed_address=None, router=None)
    return {'changed': outcome.changed, KIND: outcome.after, 'diff': outcome.diff}
