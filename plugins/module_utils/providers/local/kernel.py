# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs iproute2 and nftables inside the lab's namespaces; never in the host namespace."""

from __future__ import annotations

import os
import shutil
import sys

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
REQUIRED_TOOLS = {'ip': 'iproute2', 'nft': 'nftables', 'unshare': 'util-linux', 'nsenter': 'util-linux'}
NETNS_DIR = '/run/netns'
# A gratuitous ARP request: argv[1] interface, argv[2] the address it now answers for.
GARP_SCRIPT = '''import socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((sys.argv[1], 0))
mac, ip = s.getsockname()[4], socket.inet_aton(sys.argv[2])
s.send(b"\\xff" * 6 + mac + b"\\x08\\x06\\x00\\x01\\x08\\x00\\x06\\x04\\x00\\x01" + mac + ip + b"\\x00" * 6 + ip)
'''


def effective_caps(status_text):
    for line in status_text.splitlines():
        if line.startswith('CapEff:'):
            return int(line.split()[1], 16)
    return 0


def check_privileges(status_path='/proc/self/status'):
    """The lab creates namespaces: say plainly when this process may not."""
    with open(status_path) as handle:
        caps = effective_caps(handle.read())
    missing = [n for n, bit in (('CAP_NET_ADMIN', CAP_NET_ADMIN), ('CAP_SYS_ADMIN', CAP_SYS_ADMIN))
               if not caps & (1 << bit)]
    if missing:
        raise CloudError('the local lab needs root (%s) to manage network namespaces; run the '
                         'task with become: true' % ' and '.join(missing))
    for tool, package in sorted(REQUIRED_TOOLS.items()):
        if not shutil.which(tool):
            raise CloudError('the local lab needs the %s command (Debian package %s)' % (tool, package))


class Kernel:
    def __init__(self, commands, timeout=60):
        self.commands = commands
        self.timeout = timeout

    def run(self, argv, stdin=None, check=True):
        proc = self.commands.run(argv, self.timeout, data=stdin)
        if proc.timed_out:
            raise CloudError('%s did not finish within %ss' % (' '.join(argv[:4]), self.timeout))
        if check and proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise CloudError('%s failed: %s' % (' '.join(argv[:6]), detail[0] if detail else proc.returncode))
        return proc

    def ip_batch(self, netns, commands):
        """Run many ip commands in one namespace with one process."""
        if commands:
            self.run(['ip', '-n', netns, '-batch', '-'], stdin='\n'.join(commands) + '\n')

    def nft(self, netns, ruleset):
        self.run(['ip', 'netns', 'exec', netns, 'nft', '-f', '-'], stdin=ruleset)

    def sysctl(self, netns, key, value):
        self.run(['ip', 'netns', 'exec', netns, 'sysctl', '-qw', '%s=%s' % (key, value)])

    def announce(self, netns, link, address):
        """Best effort: neighbours that cached another MAC for an address that moved here learn the new one."""
        self.run(['ip', 'netns', 'exec', netns, sys.executable, '-c', GARP_SCRIPT, link, address], check=False)

    def namespaces(self):
        return namespaces()

    def add_namespace(self, netns):
        if netns not in self.namespaces():
            self.run(['ip', 'netns', 'add', netns])
        self.ip_batch(netns, ['link set lo up'])

    def delete_namespace(self, netns):
        if netns in self.namespaces():
            self.run(['ip', 'netns', 'delete', netns])

    def link_exists(self, netns, name):
        return self.run(['ip', '-n', netns, 'link', 'show', 'dev', name], check=False).returncode == 0


def namespaces():
    """The names of the host's named network namespaces."""
    try:
        return set(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return set()


def namespace_inits(netns_names):
    """{netns: pid} of the process that is pid 1 of a PID namespace inside each named netns.

    One pass over /proc, matching each process's network namespace inode.
    """
    inodes = {}
    for name in netns_names:
        try:
            st = os.stat(os.path.join(NETNS_DIR, name))
        except OSError:
            continue
        inodes[(st.st_dev, st.st_ino)] = name
    found = {}
    if not inodes:
        return found
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            st = os.stat('/proc/%s/ns/net' % entry)
            name = inodes.get((st.st_dev, st.st_ino))
            if name is None:
                continue
            with open('/proc/%s/status' % entry) as handle:
                for line in handle:
                    if line.startswith('NSpid:'):
                        levels = line.split()[1:]
                        if len(levels) > 1 and levels[-1] == '1':
                            found[name] = int(entry)
                        break
        except OSError:
            continue
    return found
