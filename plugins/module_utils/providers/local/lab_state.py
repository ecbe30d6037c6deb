# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's records on disk, shared by parallel forks and separate runs through one lock."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

KINDS = ('networks', 'subnets', 'routers', 'security_groups', 'keypairs', 'servers', 'floating_ips')


def empty_state():
    return {kind: {} for kind in KINDS}


class LabState:
    def __init__(self, state_dir, timeout=60):
        self.state_dir = state_dir
        self.path = os.path.join(state_dir, 'state.json')
        self.lock_path = state_dir.rstrip('/') + '.lock'
        self.timeout = timeout

    def _read(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return empty_state()
        except ValueError:
            raise CloudError('lab state %s is corrupt; remove it after removing the lab namespaces'
                             % self.path)
        for kind in KINDS:
            data.setdefault(kind, {})
        return data

    def _write(self, data):
        if not any(data[kind] for kind in KINDS):
            self._remove_files()
            return
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        tmp = self.path + '.tmp'
        with open(tmp, 'w') as handle:
            json.dump(data, handle, indent=1, sort_keys=True)
        os.replace(tmp, self.path)

    def _remove_files(self):
        """An empty lab leaves nothing behind. Called under the lock; the lock file goes last."""
        for path in [os.path.join(self.state_dir, name) for name in os.listdir(self.state_dir)] \
                if os.path.isdir(self.state_dir) else []:
            os.unlink(path)
        for remove, path in ((os.rmdir, self.state_dir), (os.unlink, self.lock_path),
                             (os.rmdir, os.path.dirname(self.lock_path))):
            with contextlib.suppress(FileNotFoundError, OSError):
                remove(path)

    @contextlib.contextmanager
    def _lock(self, mode):
        deadline = time.monotonic() + self.timeout
        while True:
            os.makedirs(os.path.dirname(self.lock_path) or '/', mode=0o755, exist_ok=True)
            handle = open(self.lock_path, 'a')
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                if time.monotonic() > deadline:
                    raise CloudError('timeout: the lab is busy (lock %s held for over %ss)'
                                     % (self.lock_path, self.timeout))
                time.sleep(0.02)
                continue
            # The holder before us may have removed the lock file of an emptied lab.
            try:
                current = os.stat(self.lock_path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(handle.fileno()).st_ino:
                break
            handle.close()
        try:
            yield
        finally:
            handle.close()

    def read(self):
        if not os.path.exists(self.lock_path):
            return empty_state()  # an untouched lab: reading it leaves no files behind
        with self._lock(fcntl.LOCK_SH):
            return self._read()

    def checkpoint(self, data):
        """Within a transaction: put the planned records on disk before the kernel work they stand
        for starts, so a process killed during that work leaves records teardown can follow."""
        self._write(data)

    @contextlib.contextmanager
    def transaction(self):
        """Yields the state; writes it back even when the body fails part way, so the
        record of what was made survives and teardown can finish the job."""
        with self._lock(fcntl.LOCK_EX):
            data = self._read()
            try:
                yield data
            finally:
                self._write(data)
