# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""find -> compare -> create/update/delete, the same for every kind and every provider.

Check mode asks the provider to validate and preview instead of acting, so a bad
request fails the same way with and without --check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

RUN_ID_LABEL = 'run-id'

# Fields that may change on an existing object; any other difference needs a new object.
UPDATABLE = {
    'network': {'mtu', 'labels'},
    'subnet': {'labels'},
    'router': {'interfaces', 'external_network', 'labels'},
    'security_group': {'description', 'rules', 'labels'},
    'keypair': set(),
    'server': {'security_groups', 'labels'},
    'floating_ip': {'server', 'labels'},
}
# List fields whose order carries no meaning.
UNORDERED = {'interfaces', 'security_groups', 'rules'}


@dataclass
class Outcome:
    changed: bool
    before: dict = None
    after: dict = None
    actions: list = field(default_factory=list)

    @property
    def diff(self):
        return {'before': self.before or {}, 'after': self.after or {}}


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _comparable(key, value):
    if key in UNORDERED and isinstance(value, list):
        return sorted(value, key=_order_key)
    return value


def _order_key(item):
    # Key order of a dict (rules) differs between a record read back from storage and a new one.
    return repr(sorted(item.items())) if isinstance(item, dict) else repr(item)


def plan_update(kind, current, desired):
    """Return {field: new value} for what must change; refuse changes that need a new object.

    ``desired`` holds only what the user asked for (None means "leave as is"). Labels merge:
    labels the user names are set, others stay.
    """
    changes = {}
    for key, want in desired.items():
        if want is None:
            continue
        have = current.get(key)
        if key == 'labels':
            merged = dict(have or {}, **want)
            if merged != (have or {}):
                changes[key] = merged
            continue
        if _comparable(key, have) == _comparable(key, want):
            continue
        if key not in UPDATABLE[kind]:
            raise CloudError('%s: %s %r has %s %s; it cannot be changed in place, delete and '
                             'recreate it to use %s' % (key, kind, current.get('name'), key,
                                                        _short(have), _short(want)))
        changes[key] = want
    return changes


def in_run(records, run, labels_of):
    """Of the records a name matches, those a lookup in run ``run`` may see: the run's own, else those
    of no run (shared ones, made outside the collection); another run's never. No run: all of them."""
    if not run:
        return list(records)
    own = [r for r in records if (labels_of(r) or {}).get(RUN_ID_LABEL) == run]
    return own or [r for r in records if not (labels_of(r) or {}).get(RUN_ID_LABEL)]


def labels_match(record_labels, match_labels):
    return all((record_labels or {}).get(k) == v for k, v in (match_labels or {}).items())


class StateMachine:
    """Drives one kind of object on one provider toward a desired state."""

    def __init__(self, provider, kind, check_mode=False, labels=None):
        self.provider = provider
        self.kind = kind
        self.check_mode = check_mode
        self._labels = labels
        if labels and labels.get(RUN_ID_LABEL):
            # The names an object refers to (its network, groups, subnets) are looked up in its run.
            provider.run_scope = labels[RUN_ID_LABEL]

    def find(self, name, labels=None):
        """The object named ``name``; with a run-id label, only the one of that run."""
        return self.find_many([name], labels, self.provider.list(self.kind, name=name))[name]

    def find_many(self, names, labels=None, records=None):
        """{name: object or None} for many names from one listing, scoped like find."""
        match = {RUN_ID_LABEL: labels[RUN_ID_LABEL]} if labels and RUN_ID_LABEL in labels else {}
        records = self.provider.list(self.kind) if records is None else records
        found = {name: [] for name in names}
        for record in records:
            if record.name in found and labels_match(record.labels, match):
                found[record.name].append(record)
        for name, matches in found.items():
            if len(matches) > 1:
                raise CloudError('name: %d objects of kind %s are named %r on this cloud; give them '
                                 'distinct names or a run-id label' % (len(matches), self.kind, name))
        return {name: matches[0].to_dict() if matches else None for name, matches in found.items()}

    def present(self, name, desired):
        """desired: {field: value}, or a function of the current object (None if absent) to that."""
        labels = desired.get('labels') if isinstance(desired, dict) else self._labels
        return self.converge(self.find(name, labels), name, desired)

    def converge(self, current, name, desired):
        """Create, update or leave ``current`` (None: absent) so it matches ``desired``."""
        if callable(desired):
            desired = desired(current)
        if current is None:
            preview = self.provider.check_create(self.kind, name, desired).to_dict()
            if self.check_mode:
                return Outcome(True, None, preview, ['create'])
            created = self.provider.create(self.kind, name, desired).to_dict()
            return Outcome(True, None, created, ['create'])
        changes = plan_update(self.kind, current, desired)
        if not changes:
            return Outcome(False, current, current)
        if self.check_mode:
            self.provider.check_update(self.kind, current, changes)
            return Outcome(True, current, dict(current, **changes), ['update'])
        updated = self.provider.update(self.kind, current, changes).to_dict()
        return Outcome(True, current, updated, ['update'])

    def absent(self, name, labels=None):
        return self.remove(self.find(name, labels))

    def remove(self, current):
        """Delete ``current`` (None: already absent)."""
        if current is None:
            return Outcome(False)
        self.provider.check_delete(self.kind, current)
        if not self.check_mode:
            self.provider.delete(self.kind, current)
        return Outcome(True, current, None, ['delete'])
