"""Concurrent fetches: bounded, each within its own timeout, every failure kept to its cloud."""

from __future__ import annotations

import threading
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.fetch_clouds import FetchTimeout, fetch_all


def test_results_and_failures_stay_with_their_job():
    def boom():
        raise ValueError('no route')
    outcomes = fetch_all({'a': lambda: [1], 'b': boom}, concurrency=4, timeout=5)
    assert outcomes['a'] == ([1], None)
    assert outcomes['b'][0] is None and str(outcomes['b'][1]) == 'no route'


def test_at_most_concurrency_jobs_run_at_once():
    running, peak, lock = [0], [0], threading.Lock()

    def job():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return True
    outcomes = fetch_all({i: job for i in range(9)}, concurrency=3, timeout=5)
    assert all(result for result, error in outcomes.values()) and peak[0] == 3


def test_a_job_that_never_answers_times_out_and_frees_its_slot():
    hang = threading.Event()
    started = time.monotonic()
    outcomes = fetch_all({'stuck': hang.wait, 'next': lambda: 'ok'}, concurrency=1, timeout=0.3)
    hang.set()
    assert isinstance(outcomes['stuck'][1], FetchTimeout)
    assert str(outcomes['stuck'][1]) == 'no answer within the timeout of 0.3 s'
    assert outcomes['next'] == ('ok', None), "the next job's clock starts when it does"
    assert time.monotonic() - started < 5


def test_no_jobs():
    assert fetch_all({}, concurrency=8, timeout=1) == {}
