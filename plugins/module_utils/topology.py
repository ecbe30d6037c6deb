# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Translate the topology spec (DESIGN's short form) into module arguments."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.access import check_access
from ansible_collections.cloudops.multicloud.plugins.module_utils.addressing import check_no_overlap, parse_cidr
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.leases import parse_lease
from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import normalize_rule
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.regressions import regression_thresholds


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


TOPOLOGY_KEYS = {'run_id', 'cloud', 'name', 'description', 'access', 'lease', 'networks', 'routers',
                 'security_groups', 'servers', 'expect', 'sla', 'regressions'}
KEYS = {
    'networks': {'name', 'cidr', 'mtu'},
    'routers': {'name', 'interfaces', 'external'},
    'security_groups': {'name', 'rules', 'description'},
    'servers': {'name', 'network', 'networks', 'count', 'security_groups', 'floating_ip', 'image', 'size', 'key',
                'user_data'},
}


def _entries(spec, section):
    entries = spec.get(section) or []
    if not isinstance(entries, list):
        raise CloudError('%s: expected a list, got %r' % (section, entries))
    names = set()
    for index, entry in enumerate(entries):
        where = '%s[%d]' % (section, index)
        if not isinstance(entry, dict):
            raise CloudError('%s: expected a mapping, got %r' % (where, entry))
        unknown = set(entry) - KEYS[section]
        if unknown:
            raise CloudError('%s.%s: not a key of %s (%s)' % (where, sorted(unknown)[0], section, ', '.join(sorted(KEYS[section]))))
        if not entry.get('name') or not isinstance(entry['name'], str):
            raise CloudError('%s.name: required, a string' % where)
        if entry['name'] in names:
            raise CloudError('%s.name: %r is declared twice' % (where, entry['name']))
        names.add(entry['name'])
    return entries, names


def _known(values, names, where, what):
    for index, value in enumerate(values or []):
        if value not in names:
            raise CloudError('%s[%d]: %r is not a %s of the topology' % (where, index, value, what))


def check_topology(spec):
    """Refuse a malformed topology before anything is created; errors name the entry and field."""
    if not isinstance(spec, dict):
        raise CloudError('topology: expected a mapping, got %r' % (spec,))
    unknown = set(spec) - TOPOLOGY_KEYS
    if unknown:
        raise CloudError('topology.%s: not a topology key (%s)' % (sorted(unknown)[0], ', '.join(sorted(TOPOLOGY_KEYS))))
    if not spec.get('run_id') or not str(spec['run_id']).replace('-', '').replace('_', '').isalnum():
        raise CloudError('run_id: required, letters, digits, "-" and "_" only; got %r' % (spec.get('run_id'),))
    check_access(spec.get('access'))
    if 'name' in spec and (not isinstance(spec['name'], str) or not spec['name'].strip()):
        raise CloudError('name: %r is not a name; it keys the topology\'s run history' % (spec['name'],))
    regression_thresholds(spec.get('regressions'))
    if spec.get('lease') is not None:
        parse_lease(spec['lease'])
    networks, network_names = _entries(spec, 'networks')
    ranges = {}
    for index, network in enumerate(networks):
        cidr = parse_cidr(network.get('cidr'), 'networks[%d].cidr' % index)
        check_no_overlap(cidr, ranges, 'networks[%d].cidr' % index)
        ranges['network %r' % network['name']] = str(cidr)
        mtu = network.get('mtu')
        if mtu is not None and (not isinstance(mtu, int) or not 576 <= mtu <= 9216):  # 9216: the largest jumbo frame clouds offer
            raise CloudError('networks[%d].mtu: %r is not a number in 576-9216' % (index, mtu))
    routers, _names = _entries(spec, 'routers')
    for index, router in enumerate(routers):
        _known(router.get('interfaces'), network_names, 'routers[%d].interfaces' % index, 'network')
    groups, group_names = _entries(spec, 'security_groups')
    for index, group in enumerate(groups):
        try:
            for rule_index, rule in enumerate(topology_rules(group.get('rules'), networks)):
                normalize_rule(rule, 'rules[%d]' % rule_index)
        except CloudError as exc:
            raise CloudError('security_groups[%d].%s' % (index, exc))
    servers, _names = _entries(spec, 'servers')
    for index, server in enumerate(servers):
        where = 'servers[%d]' % index
        attached = server.get('networks') or ([server['network']] if server.get('network') else [])
        if not attached:
            raise CloudError('%s.network: every server needs a network' % where)
        if server.get('networks'):
            _known(attached, network_names, where + '.networks', 'network')
        elif attached[0] not in network_names:
            raise CloudError('%s.network: %r is not a network of the topology' % (where, attached[0]))
        _known(server.get('security_groups'), group_names, where + '.security_groups', 'security group')
        count = server.get('count')
        if count is not None and (not isinstance(count, int) or count < 1):
            raise CloudError('%s.count: %r is not a whole number of at least 1' % (where, count))
    return spec
