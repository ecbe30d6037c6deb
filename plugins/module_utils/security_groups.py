# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a security_group module asks for, in the state machine's terms (None means "leave as is")."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import desired_rules, normalize_rules


def desired_security_group(description, rules, purge_rules, labels):
    """A function of the current group to its desired fields.

    ``rules`` are user rules, validated here so that bad ones fail before anything is looked up.
    With ``purge_rules`` they are the exact set; without, they are added to the current ones.
    """
    wanted = None if rules is None else normalize_rules(rules)

    def desired(current):
        merged = None
        if wanted is not None:
            merged = desired_rules((current or {}).get('rules'), wanted, purge_rules)
        return {'description': description, 'rules': merged, 'labels': labels}
    return desired
