# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server flow: many servers in one task, their power state and floating IPs.

Every step of a task is first validated as one batch (provider.check_many), so a bad request
fails before anything changes, in check mode and out of it alike. Missing servers are then
created with one provider.create_many call.
"""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import (
    StateMachine, labels_match, plan_update,
)

STATES = ('present', 'absent', 'started', 'stopped', 'rebooted')
NETWORK_KEYS = ('name', 'subnet', 'fixed_ip')
# Fields compared with an existing server; networks are compared on their own.
COMPARED = ('image', 'size', 'key_name', 'security_groups', 'labels')


def server_names(name=None, count=None, names=None):
    """<name>, <name>-1 .. <name>-<count>, or the given list, validated."""
    if names is not None:
        if not names:
            raise CloudError('names: give at least one server name')
        seen = set()
        for index, item in enumerate(names):
            if not item:
                raise CloudError('names[%d]: a server name may not be empty' % index)
            if item in seen:
                raise CloudError('names: %r is given twice' % item)
            seen.add(item)
        return list(names)
    if not name:
        raise CloudError('name: a server name (or names) is required')
    if count is None:
        return [name]
    if count < 1:
        raise CloudError('count: must be at least 1, got %d' % count)
    return ['%s-%d' % (name, index) for index in range(1, count + 1)]


def normalize_networks(networks):
    """Each entry a network name or {name, subnet, fixed_ip}; returns dicts."""
    if networks is None:
        return None
    result = []
    for index, want in enumerate(networks):
        where = 'networks[%d]' % index
        if isinstance(want, str):
            want = {'name': want}
        if not isinstance(want, dict):
            raise CloudError('%s: a network name or a dict with name, subnet, fixed_ip; got %r' % (where, want))
        unknown = sorted(set(want) - set(NETWORK_KEYS))
        if unknown:
            raise CloudError('%s: unknown key %s; use %s' % (where, ', '.join(unknown), ', '.join(NETWORK_KEYS)))
        if not want.get('name') or not isinstance(want['name'], str):
            raise CloudError('%s.name: the name of a network is required' % where)
        for key in ('subnet', 'fixed_ip'):
            if want.get(key) is not None and not isinstance(want[key], str):
                raise CloudError('%s.%s: must be a string, got %r' % (where, key, want[key]))
        result.append({key: want.get(key) for key in NETWORK_KEYS if want.get(key) is not None})
    return result


def check_networks(current, networks):
    """Networks of an existing server are fixed: refuse a different list, in one line."""
    if networks is None:
        return
    have = current['networks']
    same = len(have) == len(networks) and all(
        h['network'] == w['name'] and w.get('subnet') in (None, h['subnet'])
        and w.get('fixed_ip') in (None, h['address'])
        for h, w in zip(have, networks))
    if not same:
        raise CloudError('networks: server %r is attached to %s; its networks cannot be changed in '
                         'place, delete and recreate it to use %s'
                         % (current['name'], _describe(have), ', '.join(w['name'] for w in networks)))


def _describe(ports):
    return ', '.join('%s (%s)' % (p['network'], p['address']) for p in ports) or 'no network'


class ServerRequest:
    """What one server task asks for, planned into provider steps and then carried out."""

    def __init__(self, params, check_mode=False):
        self.state = params.get('state') or 'present'
        if self.state not in STATES:
            raise CloudError('state: must be one of %s, got %r' % (', '.join(STATES), self.state))
        self.names = server_names(params.get('name'), params.get('count'), params.get('names'))
        self.labels = params.get('labels')
        self.floating_ip = bool(params.get('floating_ip'))
        self.check_mode = check_mode
        self.desired = {
            'image': params.get('image'),
            'size': params.get('size'),
            'networks': normalize_networks(params.get('networks')),
            'security_groups': params.get('security_groups'),
            'key_name': params.get('key_name'),
            'user_data': params.get('user_data'),
            'labels': self.labels,
        }

    def run(self, provider):
        machine = StateMachine(provider, 'server', self.check_mode, labels=self.labels)
        current = machine.find_many(self.names, self.labels)
        fips = {}
        if self.floating_ip:
            for fip in provider.list('floating_ip'):
                fips.setdefault(fip.server, []).append(fip.to_dict())
        if self.state == 'absent':
            return self._absent(provider, current, fips)
        return self._present(provider, current, fips)

    # ------------------------------------------------------------------ absent
    def _absent(self, provider, current, fips):
        existing = [record for record in current.values() if record]
        steps = []
        for record in existing:
            if self.floating_ip:
                steps += [('delete', 'floating_ip', fip, None) for fip in fips.get(record['name'], [])]
            steps.append(('delete', 'server', record, None))
        provider.check_many(steps)
        if not self.check_mode:
            for kind in ('floating_ip', 'server'):
                provider.delete_many(kind, [record for _op, step_kind, record, _arg in steps if step_kind == kind])
        before = {record['name']: record for record in existing}
        return self._result(bool(steps), before, {}, [])

    # ------------------------------------------------------------------ present and power states
    def _present(self, provider, current, fips):
        missing = [name for name in self.names if current[name] is None]
        steps, updates, actions = [], {}, {}
        if missing:
            steps.append(('create', 'server', missing, self.desired))
        for name in self.names:
            record = current[name]
            if record is not None:
                check_networks(record, self.desired['networks'])
                changes = plan_update('server', record, self._comparable(provider, record))
                if changes:
                    updates[name] = changes
                    steps.append(('update', 'server', record, changes))
            action = self._power_action(record)
            if action:
                actions[name] = action
                steps.append(('action', 'server', record if record else name, action))
            if self.floating_ip and (record is None or not fips.get(record['name'])):
                labels = dict((record or {}).get('labels') or {}, **(self.labels or {}))
                steps.append(('create', 'floating_ip', [None], {'server': name, 'labels': labels}))
        previews = provider.check_many(steps)
        changed = bool(steps)
        before = {name: record for name, record in current.items() if record}
        if self.check_mode:
            created = dict(zip(missing, previews[0])) if missing else {}
            after = [self._preview(current[name] or created[name].to_dict(), updates.get(name),
                                   actions.get(name), name in missing) for name in self.names]
            return self._result(changed, before, {s['name']: s for s in after}, after)

        records = dict(current)
        if missing:
            records.update((r.name, r.to_dict()) for r in provider.create_many('server', missing, self.desired))
        for name, changes in updates.items():
            records[name] = provider.update('server', records[name], changes).to_dict()
        for name, action in actions.items():
            records[name] = provider.server_action(records[name], action).to_dict()
        for _op, _kind, _target, desired in [s for s in steps if s[1] == 'floating_ip']:
            provider.create('floating_ip', None, desired)
        if changed:
            ids = {records[name]['id'] for name in self.names}
            fresh = {r.id: r.to_dict() for r in provider.list('server') if r.id in ids}
            records = {name: fresh.get(records[name]['id'], records[name]) for name in self.names}
        after = [records[name] for name in self.names]
        return self._result(changed, before, {s['name']: s for s in after}, after)

    def _comparable(self, provider, record):
        """The compared fields as the record states them: an image given by id is the record's image."""
        wanted = {key: self.desired[key] for key in COMPARED}
        if wanted['image'] is not None and wanted['image'] == record.get('image_id'):
            wanted['image'] = record['image']
        if record.get('key_name') is None and not provider.reports_key_name:
            wanted['key_name'] = None  # the cloud does not say which key a server has
        return wanted

    def _power_action(self, record):
        """The start/stop/reboot a server needs; a new server boots as it is created."""
        if self.state == 'stopped':
            return 'stop' if record is None or record['status'] != 'SHUTOFF' else None
        if record is None:
            return None
        if self.state == 'rebooted':
            return 'reboot'
        if self.state == 'started' and record['status'] not in ('ACTIVE', 'BUILD'):
            return 'start'
        return None

    def _preview(self, record, changes, action, new):
        preview = dict(record, **(changes or {}))
        if action == 'stop':
            preview['status'] = 'SHUTOFF'
        elif action or new:
            preview['status'] = 'ACTIVE'
        if action or new:
            preview['connection'] = dict(preview.get('connection') or {}, pid=None)
        return preview

    def _result(self, changed, before, after, servers):
        return {'changed': changed, 'servers': servers, 'server': servers[0] if servers else None,
                'diff': {'before': before, 'after': after}}


def ensure_servers(provider, params, check_mode=False):
    return ServerRequest(params, check_mode).run(provider)


def find_servers(provider, name=None, labels=None, status=None):
    """server_info: servers by exact name, labels (all must match) and status, sorted by name."""
    found = [r.to_dict() for r in provider.list('server', name=name)
             if labels_match(r.labels, labels) and (status is None or r.status == status)]
    return sorted(found, key=lambda r: (r['name'], r['id']))
