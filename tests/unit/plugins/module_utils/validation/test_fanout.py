"""Fan-out: one forked child per job, many at once, results by key, a time budget that names what it left out."""

from __future__ import annotations

import os
import time

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import fanout


def stay(_pid):
    """Enter nothing: the unit tests run the children in this process's own namespaces."""


def test_every_job_runs_in_a_child_of_its_own_and_comes_back_by_key():
    jobs = [('vm-%d' % i, 1, {'n': i}) for i in range(6)]
    results = fanout.fan_out(jobs, lambda job: {'square': job['n'] ** 2, 'pid': os.getpid()}, parallel=3, enter=stay)
    assert {key: r['square'] for key, r in results.items()} == {'vm-%d' % i: i * i for i in range(6)}
    assert os.getpid() not in {r['pid'] for r in results.values()}


def test_jobs_run_at_once_up_to_parallel():
    started = time.monotonic()
    fanout.fan_out([(i, 1, None) for i in range(4)], lambda _job: time.sleep(0.5) or {}, parallel=4, enter=stay)
    assert time.monotonic() - started < 1.5


def test_a_job_that_raises_or_has_no_vm_fails_alone():
    def work(job):
        if job == 'bad':
            raise ValueError('no such target')
        return {'ok': True}

    results = fanout.fan_out([('a', 1, 'good'), ('b', 1, 'bad'), ('c', None, 'good')], work, parallel=2, enter=stay)
    assert results['a'] == {'ok': True}
    assert results['b'] == {'failed': True, 'msg': 'ValueError: no such target'}
    assert results['c']['failed'] and 'is stopped' in results['c']['msg']


def test_a_job_whose_turn_comes_after_the_budget_is_reported_not_dropped():
    results = fanout.fan_out([(i, 1, None) for i in range(3)], lambda _job: time.sleep(0.3) or {'ok': True},
                             parallel=1, time_budget=0.1, enter=stay, budget=7)
    assert results[0] == {'ok': True}
    assert results[1] == results[2] == {'failed': True, 'budget_spent': True,
                                        'msg': 'the time budget of 7s was spent before its turn came'}


def test_a_job_that_overruns_the_budget_is_stopped(monkeypatch):
    monkeypatch.setattr(fanout, 'GRACE', 0.2)
    started = time.monotonic()
    results = fanout.fan_out([('slow', 1, None)], lambda _job: time.sleep(30) or {}, parallel=1, time_budget=0.1,
                             enter=stay)
    assert time.monotonic() - started < 5
    assert results['slow'] == {'failed': True, 'budget_spent': True,
                               'msg': 'the time budget of 0.1s was spent before its probes finished'}


def test_parallel_must_be_at_least_one():
    with pytest.raises(ValueError, match='parallel'):
        fanout.fan_out([], dict, parallel=0, enter=stay)


def test_the_lab_data_plane_starts_responders_before_probing_and_skips_tcp_22_where_sshd_answers(monkeypatch):
    from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import probes, responder

    def ensure(listen, listen_for, check_mode, identity):
        return {'changed': True, 'responder': {'pid': 1, 'listen': listen, 'identity': identity, 'expires': None}}

    def probe(targets, *args, **kwargs):
        return [{'name': t['name'], 'outcome': 'connected', 'sent': 1, 'received': 1} for t in targets]

    monkeypatch.setattr(responder, 'ensure_responder', ensure)
    monkeypatch.setattr(probes, 'probe_targets', probe)
    listeners = [{'host': 'a', 'listen': [{'proto': 'tcp', 'port': 22}, {'proto': 'tcp', 'port': 5999}],
                  'identity': {'name': 'a', 'id': None}}]
    result = fanout.lab_data_plane(
        listeners, [{'src': 'b', 'targets': [{'name': 'b->a icmp', 'address': '10.0.0.1'}]}], {'a': 'ns-a', 'b': 'ns-b'},
        {'count': 1, 'interval': 0.01, 'timeout': 1, 'path_mtu': False, 'mtu_max': 1500, 'parallel': 4},
        parallel=2, inits={'a': 1, 'b': 1}, sshd_hosts=['a'], enter=stay, enter_probe=stay)
    assert result['responders'][0]['responder']['listen'] == [{'proto': 'tcp', 'port': 5999}]
    assert result['probes'] == [{'src': 'b', 'results': [{'name': 'b->a icmp', 'outcome': 'connected',
                                                          'sent': 1, 'received': 1}]}]
