# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory's pure part: which clouds and servers a source selects, the one host record
shape every provider's servers become, unique host names, and default groups."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections import Counter

from ansible_collections.cloudops.multicloud.plugins.module_utils.access import NETNS_CONNECTION, host_vars
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, redact
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import labels_match

FILTER_KEYS = ('states', 'labels', 'names')
ADDRESS_KINDS = ('public', 'private')
HOSTNAME_STYLES = ('name', 'id')
GROUP_UNSAFE = re.compile(r'[^A-Za-z0-9_]')
# Settings whose values are credentials, at any depth of a cloud's settings.
SECRET_SETTINGS = {'key', 'secret', 'password', 'token', 'application_credential_secret', 'root_pass'}


def check_filters(filters, field):
    """Validated filters {'states': set or None, 'labels': dict, 'names': list}; errors name ``field``."""
    filters = filters or {}
    if not isinstance(filters, dict):
        raise CloudError('%s must be a mapping of %s' % (field, ', '.join(FILTER_KEYS)))
    unknown = sorted(set(filters) - set(FILTER_KEYS))
    if unknown:
        raise CloudError('%s.%s is not a filter; filters are %s' % (field, unknown[0], ', '.join(FILTER_KEYS)))
    states = filters.get('states')
    if states is not None:
        if not isinstance(states, list) or not all(isinstance(s, str) and s for s in states):
            raise CloudError('%s.states must be a list of server states such as ACTIVE or SHUTOFF' % field)
        states = {s.upper() for s in states}
    labels = filters.get('labels') or {}
    if not isinstance(labels, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise CloudError('%s.labels must be a mapping of label names to string values' % field)
    names = filters.get('names') or []
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise CloudError('%s.names must be a list of name patterns such as web-*' % field)
    return {'states': states, 'labels': labels, 'names': names}


def select_clouds(entries, filters, known, clouds_file, every=None):
    """[(cloud, filters)] a source asks for. ``entries``: cloud names or {name, states, labels, names}
    (None: the clouds ``every`` names, else all ``known``); ``filters`` apply where an entry sets
    none of its own."""
    defaults = check_filters(filters, 'filters')
    if entries is None:
        return [(name, defaults) for name in sorted(known if every is None else every)]
    if not isinstance(entries, list):
        raise CloudError('clouds must be a list of cloud names or of mappings with a name')
    selected, seen = [], set()
    for index, entry in enumerate(entries):
        field = 'clouds[%d]' % index
        if isinstance(entry, dict):
            entry = dict(entry)
            name = entry.pop('name', None)
            own = check_filters(entry, field) if entry else None
        else:
            name, own = entry, None
        if not isinstance(name, str) or not name:
            raise CloudError('%s must be a cloud name or a mapping with a name' % field)
        if name not in known:
            where = clouds_file or 'any clouds file (none was found)'
            raise CloudError('%s: %r is not defined in %s; known clouds: %s'
                             % (field, name, where, ', '.join(sorted(known))))
        if name in seen:
            raise CloudError('%s: %r is listed twice' % (field, name))
        seen.add(name)
        selected.append((name, own or defaults))
    return selected


def server_matches(server, filters):
    """Whether a server record (a dict) passes the filters of its cloud."""
    if filters['states'] is not None and (server.get('status') or '').upper() not in filters['states']:
        return False
    if not labels_match(server.get('labels'), filters['labels']):
        return False
    return not filters['names'] or any(fnmatch.fnmatchcase(server['name'], p) for p in filters['names'])


def host_record(server, cloud, provider, region):
    """The normalized host record of a server dict, the same shape on every provider."""
    networks = {}
    for network, addresses in (server.get('addresses') or {}).items():
        networks[network] = [a for a in addresses if a]
    return {
        'id': server['id'],
        'name': server['name'],
        'cloud': cloud,
        'provider': provider,
        'region': region,
        'state': server.get('status'),
        'addresses': {
            'private': server.get('private_ip'),
            'public': server.get('public_ip'),
            'networks': networks,
        },
        'image': server.get('image'),
        'size': server.get('size'),
        'labels': dict(server.get('labels') or {}),
        'security_groups': list(server.get('security_groups') or []),
        'created': server.get('created'),
    }


def connection_vars(server, settings=None, python=None):
    """Connection variables a server needs besides ansible_host, as the provision role sets them.

    Lab VMs: the netns plugin with the controller's Python. Others: SSH as the clouds file's
    ``ssh_user`` or the image's user, through its ``jump_host`` when the server has no public address.
    """
    settings = settings or {}
    connection = server.get('connection') or {}
    if connection.get('type') == NETNS_CONNECTION and connection.get('netns'):
        variables = host_vars(server, {'mode': 'netns'}, python)
        variables['cloudops_netns'] = variables.pop('ansible_host')
        return variables
    variables = host_vars(server, {'mode': 'ssh', 'user': settings.get('ssh_user'), 'jump_host': settings.get('jump_host')})
    variables.pop('ansible_host')  # the source's address_preference chooses it
    return variables


def address_for(record, preference):
    """The first address a record has of the kinds in ``preference`` (public, private)."""
    for kind in preference:
        if record['addresses'].get(kind):
            return record['addresses'][kind]
    return None


def host_names(records, style='name'):
    """One distinct inventory name per record, in order, so two servers never merge into one host.

    A name (or id) only one server has stays as it is. Shared across clouds, it gets the cloud
    (``web-1.aws-east``); shared within a cloud, the server's id (``web-1.i-0abc``). Should a
    name made so meet another, both the cloud and the id (``web-1.aws-east.i-0abc``), then a
    number, until no two are alike.
    """
    base = [r[style] for r in records]
    total = Counter(base)
    in_cloud = Counter((r['cloud'], n) for n, r in zip(base, records))
    names = [n if total[n] == 1 else '%s.%s' % (n, r['cloud']) if in_cloud[(r['cloud'], n)] == 1
             else '%s.%s' % (n, r['id']) for n, r in zip(base, records)]
    taken = Counter(names)
    used = {n for n in names if taken[n] == 1}
    unique = []
    for name, first, record in zip(names, base, records):
        if taken[name] > 1:
            name = candidate = '%s.%s.%s' % (first, record['cloud'], record['id'])
            number = 2
            while name in used:
                name, number = '%s.%d' % (candidate, number), number + 1
            used.add(name)
        unique.append(name)
    return unique


def group_name(prefix, value):
    """A valid Ansible group name for ``<prefix>_<value>``, or None for a missing value."""
    if value in (None, ''):
        return None
    return GROUP_UNSAFE.sub('_', '%s_%s' % (prefix, value)).lower()


def default_groups(record):
    """The groups every host joins: by cloud, provider, region, state and network."""
    candidates = [group_name('cloud', record['cloud']), group_name('provider', record['provider']),
                  group_name('region', record['region']), group_name('state', record['state'])]
    candidates += [group_name('network', n) for n in sorted(record['addresses']['networks'])]
    return [g for g in candidates if g]


def fingerprint(settings, credentials):
    """What a cloud's cached hosts depend on: its settings and the credentials it signs in with."""
    text = json.dumps([settings, sorted(credentials)], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def cache_keys(path, selection, prints):
    """{cloud: cache key}: one entry per cloud of a source, keyed by the source's path, the clouds
    and filters it selects, and the cloud's fingerprint, so no two sources or accounts share one."""
    chosen = [[cloud, {k: sorted(v) if isinstance(v, set) else v for k, v in f.items()}] for cloud, f in selection]
    source = json.dumps([path, chosen], sort_keys=True, default=str)
    return {cloud: 'cloudops_multicloud_clouds_%s' % hashlib.sha256(
        ('%s\n%s\n%s' % (source, cloud, prints[cloud])).encode()).hexdigest()[:32] for cloud, f in selection}


def secrets_of(settings):
    """Every credential value in a cloud's settings, to keep out of error messages."""
    found = []
    if isinstance(settings, dict):
        for key, value in settings.items():
            if key in SECRET_SETTINGS and isinstance(value, str):
                found.append(value)
            else:
                found.extend(secrets_of(value))
    elif isinstance(settings, list):
        for value in settings:
            found.extend(secrets_of(value))
    return found


def failure_line(exc, secrets):
    """A cloud's failure as one line without its credentials; an unforeseen one says its type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
    if not isinstance(exc, CloudError):
        text = '%s: %s' % (type(exc).__name__, text) if text else type(exc).__name__
    return redact(text, secrets)
