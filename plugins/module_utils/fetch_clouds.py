# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run one fetch per cloud at once, at most ``concurrency`` at a time, each within its own timeout."""

from __future__ import annotations

import queue
import threading
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


class FetchTimeout(CloudError):
    def __init__(self, seconds):
        super().__init__('no answer within the timeout of %s s' % seconds)


def fetch_all(jobs, concurrency, timeout, clock=time.monotonic):
    """Run ``jobs`` ({key: callable}) and return {key: (result, None) or (None, exception)}.

    A job's clock starts when it starts. One that outlives ``timeout`` gets FetchTimeout and is
    abandoned: its thread is a daemon, so a cloud that never answers cannot hold the caller up
    (nor its exit), and its slot goes to the next job.
    """
    pending = list(jobs)
    running = {}
    outcomes = {}
    done = queue.Queue()

    def work(key, job):
        try:
            done.put((key, job(), None))
        except Exception as exc:  # every failure of one cloud becomes its outcome, not the caller's
            done.put((key, None, exc))

    while pending or running:
        while pending and len(running) < max(1, concurrency):
            key = pending.pop(0)
            running[key] = clock() + timeout
            threading.Thread(target=work, args=(key, jobs[key]), daemon=True,
                             name='cloudops-fetch-%s' % key).start()
        wait = max(0.0, min(running.values()) - clock())
        try:
            key, result, error = done.get(timeout=wait)
        except queue.Empty:
            key = None
        if key in running:
            del running[key]
            outcomes[key] = (result, error)
        now = clock()
        for late in [k for k, deadline in running.items() if deadline <= now]:
            del running[late]
            outcomes[late] = (None, FetchTimeout(timeout))
    return outcomes
