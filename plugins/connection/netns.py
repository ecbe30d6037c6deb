# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: netns
short_description: Run tasks inside a local-lab VM
description:
  - Runs commands, modules and file transfers inside a VM of the C(local) lab provider.
  - A lab VM is a network namespace on the controller with its own hostname, process table and
    mount namespace. The plugin finds the VM's init process and enters all four namespaces of it
    with C(nsenter), so tasks see the VM's interfaces, addresses, routes, hostname and processes.
  - The VM shares the controller's filesystem, so the temporary files Ansible writes are visible
    on both sides; files are still copied inside the VM's mount namespace.
  - Needs root on the controller and C(nsenter) from util-linux.
  - Server records returned by the collection's modules carry the namespace name in C(connection.netns).
author:
  - cloudops.multicloud maintainers (@cloudops)
version_added: 0.1.0
options:
  remote_addr:
    description:
      - Name of the VM's network namespace, as listed by C(ip netns list),
        for example C(cloudops-lab-vm-0a1b2c3d).
      - O(netns) takes precedence when set.
    type: str
    default: inventory_hostname
    vars:
      - name: inventory_hostname
      - name: ansible_host
  netns:
    description:
      - Name of the VM's network namespace, when C(ansible_host) holds something else
        (such as the VM's address).
    type: str
    vars:
      - name: cloudops_netns
  pipelining:
    description:
      - Send modules to the VM on standard input instead of writing them to a file first.
      - On by default because entering a VM needs no password prompt or terminal.
    type: bool
    default: true
    env:
      - name: ANSIBLE_PIPELINING
    ini:
      - section: defaults
        key: pipelining
      - section: connection
        key: pipelining
    vars:
      - name: ansible_pipelining
notes:
  - The remote user is ignored; everything runs as root inside the VM.
  - A VM shares the controller's filesystem and environment, so the right interpreter for its modules is
    the controller's own. The collection's inventory plugin and provision role set C(ansible_python_interpreter)
    to it for every lab VM; in an inventory of your own, set it too (for example to
    C({{ ansible_playbook_python }})), or interpreter discovery runs inside the VM and may pick whatever
    C(python3.x) comes first on the controller's C(PATH).
  - A stopped VM, or a namespace that does not exist, makes the host unreachable with a one-line reason.
'''

EXAMPLES = r'''
# inventory.ini
# [lab]
# web-1 ansible_host=cloudops-lab-vm-0a1b2c3d ansible_connection=cloudops.multicloud.netns
# [lab:vars]
# ansible_python_interpreter=/usr/bin/python3

- name: Look inside the lab VMs
  hosts: lab
  gather_facts: true
  tasks:
    - name: Show the VM's own address
      ansible.builtin.debug:
        var: ansible_default_ipv4.address

- name: Reach a VM by a host name that is not its namespace
  hosts: web-1
  vars:
    ansible_connection: cloudops.multicloud.netns
    cloudops_netns: cloudops-lab-vm-0a1b2c3d
  tasks:
    - name: Processes inside the VM
      ansible.builtin.command: ps -e
      changed_when: false
'''

import os
import shlex
import shutil
import subprocess

from ansible.errors import AnsibleConnectionFailure, AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.connection import ConnectionBase, BUFSIZE
from ansible.utils.display import Display

from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.kernel import (
    namespace_inits, namespaces,
)

display = Display()

SHELL = '/bin/sh'


class Connection(ConnectionBase):
    """Commands and files go through nsenter into the network, UTS, PID and mount namespaces of a lab VM."""

    transport = 'cloudops.multicloud.netns'
    has_pipelining = True
    # Nothing here can answer a become password prompt.
    has_tty = False
    default_user = 'root'

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._nsenter = None

    @property
    def netns(self):
        return self.get_option('netns') or self.get_option('remote_addr')

    def _connect(self):
        if not self._connected:
            if os.geteuid() != 0:
                raise AnsibleConnectionFailure('the cloudops.multicloud.netns connection must run as root on the '
                                               'controller to enter lab VM %s; run ansible-playbook as root' % self.netns)
            self._nsenter = shutil.which('nsenter')
            if not self._nsenter:
                raise AnsibleConnectionFailure('the cloudops.multicloud.netns connection needs the nsenter command '
                                               '(Debian package util-linux) on the controller')
            display.vvv('ENTER LAB VM %s' % self.netns, host=self.netns)
            self._connected = True
        return self

    def _init_pid(self):
        """The host pid of the VM's init, looked up afresh so a restarted VM is found again."""
        netns = self.netns
        if netns not in namespaces():
            raise AnsibleConnectionFailure('lab VM namespace %s does not exist' % netns)
        pid = namespace_inits([netns]).get(netns)
        if not pid:
            raise AnsibleConnectionFailure('lab VM %s is stopped: no init process runs in its namespace' % netns)
        return pid

    def _spawn(self, cmd, stdin):
        pid = self._init_pid()
        argv = [self._nsenter, '-t', str(pid), '-n', '-u', '-p', '-m', '--', SHELL, '-c', cmd]
        display.vvv('EXEC %s' % cmd, host=self.netns)
        # cwd '/' is what the VM sees as well: entering a mount namespace resets the working directory to its root.
        return subprocess.Popen([to_bytes(a, errors='surrogate_or_strict') for a in argv], cwd='/',
                                stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def _raise_if_gone(self, proc, stderr):
        """A failed nsenter because the VM stopped meanwhile is a connection failure, not a task failure."""
        if proc.returncode != 0 and stderr.startswith(b'nsenter: '):
            self._init_pid()

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        proc = self._spawn(to_text(cmd, errors='surrogate_or_strict'), subprocess.PIPE)
        stdout, stderr = proc.communicate(in_data)
        self._raise_if_gone(proc, stderr)
        return proc.returncode, stdout, stderr

    @staticmethod
    def _vm_path(path):
        # Relative paths are taken from the VM's root, like the commands' working directory.
        return os.path.normpath(os.path.join('/', path))

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        display.vvv('PUT %s TO %s' % (in_path, out_path), host=self.netns)
        target = self._vm_path(out_path)
        try:
            source = open(to_bytes(in_path, errors='surrogate_or_strict'), 'rb')
        except OSError as exc:
            raise AnsibleFileNotFound('file or module does not exist at %s: %s' % (in_path, exc.strerror))
        with source:
            proc = self._spawn('cat > %s' % shlex.quote(target), source)
            stdout, stderr = proc.communicate()
        self._raise_if_gone(proc, stderr)
        if proc.returncode != 0:
            raise AnsibleError('failed to copy %s to %s in lab VM %s: %s'
                               % (in_path, target, self.netns, to_text(stderr or stdout).strip()))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        display.vvv('FETCH %s TO %s' % (in_path, out_path), host=self.netns)
        source = self._vm_path(in_path)
        proc = self._spawn('cat < %s' % shlex.quote(source), subprocess.DEVNULL)
        try:
            with open(to_bytes(out_path, errors='surrogate_or_strict'), 'wb') as target:
                for chunk in iter(lambda: proc.stdout.read(BUFSIZE), b''):
                    target.write(chunk)
        finally:
            stderr = proc.stderr.read()
            proc.wait()
            proc.stdout.close()
            proc.stderr.close()
        self._raise_if_gone(proc, stderr)
        if proc.returncode != 0:
            os.unlink(to_bytes(out_path, errors='surrogate_or_strict'))
            raise AnsibleError('failed to fetch %s from lab VM %s: %s' % (source, self.netns, to_text(stderr).strip()))

    def reset(self):
        # Nothing persists between commands; there is nothing to reset.
        self.close()

    def close(self):
        super().close()
        self._connected = False
