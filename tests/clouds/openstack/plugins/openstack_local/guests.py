"""A nova virt driver whose servers are Linux network namespaces plugged into OVN's br-int.

nova's fake driver keeps the bookkeeping (power state, resources); this driver adds what a
hypervisor and cloud-init would do to the network: per server a namespace named after its id,
per port a veth whose host end is on br-int with ``iface-id`` = the neutron port (so OVN binds
the logical port and neutron marks the port ACTIVE), the port's MAC, addresses, MTU and default
route, and an sshd that accepts the server's keypair as root. The guest shares the host's file
system, so it has the host's Python 3, ping and iperf3.

It is driven by nova's own calls (spawn, destroy, power off and on, reboot, attach and detach
interface), so a guest comes and goes exactly with its server and ports, with no polling.
Its settings come from the environment tests/clouds/openstack/up starts nova-compute with.
"""

import os
import shutil
import signal
import subprocess
import time

from oslo_log import log as logging

from nova.virt import fake

LOG = logging.getLogger(__name__)

GUESTS = os.environ.get('OPENSTACK_LOCAL_GUESTS', '/run/openstack-local/guests')
# The namespace ovs-vswitchd runs in: the host ends of the guests' veths live there.
DATAPATH_NETNS = os.environ.get('OPENSTACK_LOCAL_DATAPATH_NETNS', 'openstack-local')
OVS_DB = os.environ.get('OPENSTACK_LOCAL_OVS_DB', 'unix:/run/openvswitch/db.sock')
SSHD_CONFIG = '''ListenAddress 0.0.0.0
Port 22
HostKey {dir}/ssh_host_ed25519_key
AuthorizedKeysFile {dir}/authorized_keys
PidFile {dir}/sshd.pid
# The guest's files are 0600 in a 0700 directory, but the checkout may sit below /tmp.
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PrintMotd no
Subsystem sftp internal-sftp
'''


def _run(*argv, check=True):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(argv), proc.stderr.strip()))
    return proc


def _tap(port_id):
    """The host end of a port's veth: tap + 11 characters of the port id, as nova names taps."""
    return ('tap' + port_id)[:14]


def _vsctl(*args, check=True):
    return _run('ovs-vsctl', '--db=' + OVS_DB, '--timeout=10', *args, check=check)


class Guest:
    """One server's namespace, its interfaces and its sshd."""

    def __init__(self, uuid):
        self.uuid = uuid
        self.dir = os.path.join(GUESTS, uuid)

    def exists(self):
        return os.path.exists(os.path.join('/run/netns', self.uuid))

    def create(self, public_key):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        if not self.exists():
            _run('ip', 'netns', 'add', self.uuid)
        _run('ip', '-n', self.uuid, 'link', 'set', 'lo', 'up')
        key = os.path.join(self.dir, 'ssh_host_ed25519_key')
        if not os.path.exists(key):
            _run('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', self.uuid, '-f', key)
        self._write('authorized_keys', (public_key or '').strip() + '\n')
        self._write('sshd_config', SSHD_CONFIG.format(dir=self.dir))

    def _write(self, name, text):
        fd = os.open(os.path.join(self.dir, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'w') as handle:
            handle.write(text)

    def interfaces(self):
        """{port id: guest interface name} of the interfaces plugged now."""
        found = {}
        for line in _run('ip', '-n', self.uuid, '-o', 'link', 'show', 'type', 'veth',
                         check=False).stdout.splitlines():
            name = line.split(':')[1].strip().split('@')[0]
            alias = line.split(' alias ')[-1].strip() if ' alias ' in line else ''
            if alias:
                found[alias] = name
        return found

    def plug(self, vif):
        """A veth for neutron port ``vif``: host end on br-int, guest end configured as the port says."""
        port_id = vif['id']
        if port_id in self.interfaces():
            return
        used = set(self.interfaces().values())
        name = next('eth%d' % i for i in range(64) if 'eth%d' % i not in used)
        tap = _tap(port_id)
        network = vif['network'] or {}
        mtu = str((network.get_meta('mtu') if network else None) or 1500)
        _run('ip', '-n', DATAPATH_NETNS, 'link', 'add', tap, 'mtu', mtu, 'type', 'veth',
             'peer', 'name', name, 'netns', self.uuid)
        _run('ip', '-n', self.uuid, 'link', 'set', name, 'address', vif['address'], 'mtu', mtu,
             'alias', port_id)
        # The userspace datapath does not fill in checksums a veth leaves to offload.
        _run('ip', 'netns', 'exec', self.uuid, 'ethtool', '-K', name, 'tx', 'off')
        gateway = None
        for subnet in network.get('subnets', []) if network else []:
            prefix = subnet['cidr'].split('/')[1]
            for ip in subnet['ips']:
                _run('ip', '-n', self.uuid, 'addr', 'add', '%s/%s' % (ip['address'], prefix), 'dev', name)
            if subnet['gateway'] and subnet['gateway'].get('address') and subnet['version'] == 4:
                gateway = gateway or subnet['gateway']['address']
        _run('ip', '-n', DATAPATH_NETNS, 'link', 'set', tap, 'up')
        _vsctl('--may-exist', 'add-port', 'br-int', tap, '--', 'set', 'Interface', tap,
               'external_ids:iface-id=%s' % port_id, 'external_ids:attached-mac=%s' % vif['address'],
               'external_ids:vm-uuid=%s' % self.uuid, 'external_ids:iface-status=active')
        _run('ip', '-n', self.uuid, 'link', 'set', name, 'up')
        if gateway and not self._has_default_route():
            _run('ip', '-n', self.uuid, 'route', 'add', 'default', 'via', gateway, 'dev', name)

    def refresh_mtu(self, vif):
        """The port's network MTU as it is now: what a guest's DHCP client learns when it boots."""
        name = self.interfaces().get(vif['id'])
        mtu = vif['network'].get_meta('mtu') if vif['network'] else None
        if name and mtu:
            _run('ip', '-n', DATAPATH_NETNS, 'link', 'set', _tap(vif['id']), 'mtu', str(mtu))
            _run('ip', '-n', self.uuid, 'link', 'set', name, 'mtu', str(mtu))

    def _has_default_route(self):
        return bool(_run('ip', '-n', self.uuid, 'route', 'show', 'default', check=False).stdout.strip())

    def unplug(self, port_id):
        tap = _tap(port_id)
        _vsctl('--if-exists', 'del-port', 'br-int', tap, check=False)
        _run('ip', '-n', DATAPATH_NETNS, 'link', 'del', tap, check=False)

    def set_links(self, up):
        for name in self.interfaces().values():
            _run('ip', '-n', self.uuid, 'link', 'set', name, 'up' if up else 'down', check=False)

    def start_sshd(self):
        if self._sshd_pid():
            return
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        _run('ip', 'netns', 'exec', self.uuid, '/usr/sbin/sshd', '-f',
             os.path.join(self.dir, 'sshd_config'), '-E', os.path.join(self.dir, 'sshd.log'))

    def _sshd_pid(self):
        try:
            with open(os.path.join(self.dir, 'sshd.pid')) as handle:
                pid = int(handle.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def stop_processes(self):
        """Every process in the guest's namespace: its sshd, and what a test started there."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pids = _run('ip', 'netns', 'pids', self.uuid, check=False).stdout.split()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
            time.sleep(0.1)
        try:
            os.unlink(os.path.join(self.dir, 'sshd.pid'))
        except FileNotFoundError:
            pass

    def remove(self):
        for port_id in self.interfaces():
            self.unplug(port_id)
        self.stop_processes()
        if self.exists():
            _run('ip', 'netns', 'del', self.uuid, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


class NamespaceGuestDriver(fake.FakeDriverWithoutFakeNodes):
    """nova's fake driver, with a namespace guest behind every server."""

    def spawn(self, context, instance, image_meta, injected_files, admin_password, allocations,
              network_info=None, block_device_info=None, power_on=True, accel_info=None):
        super().spawn(context, instance, image_meta, injected_files, admin_password, allocations,
                      network_info=network_info, block_device_info=block_device_info,
                      power_on=power_on, accel_info=accel_info)
        guest = Guest(instance.uuid)
        try:
            guest.create(instance.key_data)
            for vif in network_info or []:
                guest.plug(vif)
            if power_on:
                guest.start_sshd()
            else:
                guest.set_links(False)
        except Exception:
            LOG.exception('guest of %s not made', instance.uuid)
            guest.remove()
            super().destroy(context, instance, network_info)
            raise

    def destroy(self, context, instance, network_info, block_device_info=None, destroy_disks=True,
                destroy_secrets=True):
        Guest(instance.uuid).remove()
        super().destroy(context, instance, network_info, block_device_info=block_device_info,
                        destroy_disks=destroy_disks, destroy_secrets=destroy_secrets)

    def power_off(self, instance, timeout=0, retry_interval=0):
        super().power_off(instance, timeout, retry_interval)
        guest = Guest(instance.uuid)
        guest.stop_processes()
        guest.set_links(False)

    def power_on(self, context, instance, network_info, block_device_info=None, accel_info=None,
                 share_info=None):
        super().power_on(context, instance, network_info, block_device_info=block_device_info,
                         accel_info=accel_info, share_info=share_info)
        guest = Guest(instance.uuid)
        for vif in network_info or []:
            guest.refresh_mtu(vif)
        guest.set_links(True)
        guest.start_sshd()

    def reboot(self, context, instance, network_info, reboot_type, block_device_info=None,
               bad_volumes_callback=None, accel_info=None, share_info=None):
        guest = Guest(instance.uuid)
        guest.stop_processes()
        super().reboot(context, instance, network_info, reboot_type,
                       block_device_info=block_device_info, bad_volumes_callback=bad_volumes_callback,
                       accel_info=accel_info, share_info=share_info)

    def attach_interface(self, context, instance, image_meta, vif):
        super().attach_interface(context, instance, image_meta, vif)
        Guest(instance.uuid).plug(vif)

    def detach_interface(self, context, instance, vif):
        super().detach_interface(context, instance, vif)
        Guest(instance.uuid).unplug(vif['id'])
