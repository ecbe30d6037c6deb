from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import Network
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import StateMachine, plan_update


def test_labels_merge_and_unchanged_when_subset():
    current = {'name': 'n', 'labels': {'a': '1', 'b': '2'}}
    assert plan_update('network', current, {'labels': {'a': '1'}}) == {}
    assert plan_update('network', current, {'labels': {'c': '3'}}) == {'labels': {'a': '1', 'b': '2', 'c': '3'}}


def test_none_means_leave_and_order_of_unordered_lists_is_ignored():
    current = {'name': 'r', 'interfaces': ['a', 'b'], 'labels': {}}
    assert plan_update('router', current, {'interfaces': ['b', 'a'], 'labels': None}) == {}
    assert plan_update('router', current, {'interfaces': ['a']}) == {'interfaces': ['a']}


def test_immutable_field_is_refused_naming_the_field():
    with pytest.raises(CloudError, match=r"^cidr: subnet 's' has cidr '10.0.0.0/24'; it cannot be changed in place"):
        plan_update('subnet', {'name': 's', 'cidr': '10.0.0.0/24'}, {'cidr': '10.0.1.0/24'})


class FakeProvider:
    """Records calls; the state machine's flow is pure logic over this interface."""

    def __init__(self, records=()):
        self.records = list(records)
        self.calls = []

    def list(self, kind, name=None):
        return [r for r in self.records if name is None or r.name == name]

    def check_create(self, kind, name, desired):
        self.calls.append('check_create')
        return Network(id='', name=name, mtu=desired.get('mtu') or 1500)

    def create(self, kind, name, desired):
        self.calls.append('create')
        return Network(id='x', name=name, mtu=desired.get('mtu') or 1500)

    def check_update(self, kind, record, changes):
        self.calls.append('check_update')

    def update(self, kind, record, changes):
        self.calls.append('update')
        return Network(**dict(record, **changes))

    def check_delete(self, kind, record):
        self.calls.append('check_delete')

    def delete(self, kind, record):
        self.calls.append('delete')


def test_check_mode_validates_and_does_not_act():
    provider = FakeProvider([Network(id='1', name='n', mtu=1500)])
    machine = StateMachine(provider, 'network', check_mode=True)
    assert machine.present('new', {'mtu': 1400}).changed
    assert machine.present('n', {'mtu': 1400}).after['mtu'] == 1400
    assert machine.absent('n').changed
    assert provider.calls == ['check_create', 'check_update', 'check_delete']


def test_real_run_acts_and_reports_diff():
    provider = FakeProvider([Network(id='1', name='n', mtu=1500)])
    machine = StateMachine(provider, 'network')
    outcome = machine.present('n', {'mtu': 1400})
    assert outcome.diff == {'before': Network(id='1', name='n', mtu=1500).to_dict(),
                            'after': Network(id='1', name='n', mtu=1400).to_dict()}
    assert machine.present('n', {'mtu': 1500}).changed is False
    assert machine.absent('gone').changed is False
    assert provider.calls == ['update']


def test_run_id_label_scopes_identity():
    provider = FakeProvider([Network(id='1', name='n', labels={'run-id': 'a'}),
                             Network(id='2', name='n', labels={'run-id': 'b'})])
    machine = StateMachine(provider, 'network')
    assert machine.find('n', {'run-id': 'b'})['id'] == '2'
    with pytest.raises(CloudError, match=r"^name: 2 objects of kind network are named 'n'"):
        machine.find('n')
