# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a router module asks for, in the state machine's terms (None means "leave as is")."""

from __future__ import annotations


def desired_router(interfaces, external_network, labels):
    """A function of the current router to its desired fields.

    ``interfaces``: the exact set of subnet names, or None. ``external_network``: a network
    name, '' for no gateway, or None.
    """
    if interfaces is not None:
        interfaces = list(dict.fromkeys(interfaces))  # a subnet listed twice is one interface

    def desired(current):
        external = external_network
        # '' asks for no gateway; on a router without one that is already so.
        if external == '' and not (current or {}).get('external_network'):
            external = None
        return {'interfaces': interfaces, 'external_network': external, 'labels': labels}
    return desired
