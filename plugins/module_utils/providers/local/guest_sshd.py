# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sshd inside a lab VM that was given a keypair: what cloud-init does on a cloud image.

Each VM has a host key of its own and accepts its keypair's public key as root. Its files live
in the lab's state directory; its sshd runs in the VM's namespaces, started by the VM's init, so
it stops and starts with the VM.
"""

from __future__ import annotations

import os
import shutil

from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local import keys

SSHD = '/usr/sbin/sshd'
# sshd refuses to start without its privilege separation directory; Debian makes it at boot.
PRIVSEP_DIR = '/run/sshd'
CONFIG = '''ListenAddress 0.0.0.0
Port 22
HostKey {dir}/ssh_host_ed25519_key
AuthorizedKeysFile {dir}/authorized_keys
PidFile none
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
Subsystem sftp internal-sftp
'''


def guest_dir(state_dir, server_id):
    return os.path.join(state_dir, 'sshd-%s' % server_id[:8])


def config_path(state_dir, server_id):
    return os.path.join(guest_dir(state_dir, server_id), 'sshd_config')


def log_path(state_dir, server_id):
    return os.path.join(guest_dir(state_dir, server_id), 'sshd.log')


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, 'w') as handle:
        handle.write(text)


def prepare(state_dir, server_id, public_key):
    """Host key (made once), authorized key and sshd_config of a VM; returns the config's path."""
    where = guest_dir(state_dir, server_id)
    os.makedirs(where, mode=0o700, exist_ok=True)
    host_key = os.path.join(where, 'ssh_host_ed25519_key')
    if not os.path.exists(host_key):
        private, public = keys.generate()
        _write(host_key, private)
        _write(host_key + '.pub', public + '\n')
    _write(os.path.join(where, 'authorized_keys'), public_key.strip() + '\n')
    _write(os.path.join(where, 'sshd_config'), CONFIG.format(dir=where))
    os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
    return os.path.join(where, 'sshd_config')


def host_public_key(state_dir, server_id):
    try:
        with open(os.path.join(guest_dir(state_dir, server_id), 'ssh_host_ed25519_key.pub')) as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return None


def remove(state_dir, server_id):
    shutil.rmtree(guest_dir(state_dir, server_id), ignore_errors=True)


def remove_all(state_dir):
    try:
        entries = os.listdir(state_dir)
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.startswith('sshd-'):
            shutil.rmtree(os.path.join(state_dir, entry), ignore_errors=True)
