# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Translate the topology spec (DESIGN's short form) into module arguments."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


def topology_rules(rules, networks):
    """[{proto, port, remote, direction}] -> security_group rules.

    ``remote`` is a network of the topology (its CIDR), a CIDR, or a security group name.
    """
    cidrs = {n['name']: n['cidr'] for n in networks or []}
    translated = []
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, dict):
            raise CloudError('rules[%d]: expected a mapping, got %r' % (index, rule))
        unknown = set(rule) - {'proto', 'port', 'remote', 'direction'}
        if unknown:
            raise CloudError('rules[%d].%s: not a topology rule key (proto, port, remote, direction)'
                             % (index, sorted(unknown)[0]))
        out = {'protocol': rule.get('proto', 'any'), 'direction': rule.get('direction', 'ingress')}
        if rule.get('port') is not None:
            out['port'] = str(rule['port'])
        remote = rule.get('remote')
        if remote in cidrs:
            out['remote_cidr'] = cidrs[remote]
        elif remote and '/' in str(remote):
            out['remote_cidr'] = str(remote)
        elif remote:
            out['remote_group'] = str(remote)
        translated.append(out)
    return translated
