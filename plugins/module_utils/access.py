# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the controller reaches a run's guests: the topology's ``access``, checked and resolved
against what the cloud says of itself, and the connection each server gets from it."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
import socket

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

MODES = ('auto', 'ssh', 'netns')
ACCESS_KEYS = ('mode', 'user', 'jump_host', 'ssh_from')
NETNS_CONNECTION = 'cloudops.multicloud.netns'
SSH_PORT = 22
# The login user of the well-known cloud images, by a word in the image name; root otherwise.
IMAGE_USERS = (
    ('ubuntu', 'ubuntu'), ('debian', 'debian'), ('cirros', 'cirros'), ('fedora', 'fedora'),
    ('centos', 'cloud-user'), ('rhel', 'cloud-user'), ('rocky', 'rocky'), ('alma', 'almalinux'),
    ('amzn', 'ec2-user'), ('amazon', 'ec2-user'), ('al2023', 'ec2-user'),
)
USER = re.compile(r'^[a-z_][a-z0-9_.-]{0,31}$')
JUMP_HOST = re.compile(r'^(?:(?P<user>[^@\s]+)@)?(?P<host>\[[0-9a-fA-F:.]+\]|[^:@\s\[\]]+)(?::(?P<port>\d+))?$')


def parse_jump_host(value, where='access.jump_host', resolve=True):
    """``[user@]host[:port]`` -> {user, host, port}; a host that does not resolve is refused."""
    match = JUMP_HOST.match(str(value or '').strip())
    if not match:
        raise CloudError('%s: %r is not [user@]host[:port]' % (where, value))
    host = match.group('host').strip('[]')
    port = int(match.group('port') or SSH_PORT)
    if not 1 <= port <= 65535:
        raise CloudError('%s: port %d is outside 1-65535' % (where, port))
    if resolve:
        try:
            socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise CloudError('%s: %r does not resolve (%s)' % (where, host, getattr(exc, 'strerror', None) or exc))
    return {'user': match.group('user'), 'host': host, 'port': port}


def check_access(access, where='access', resolve=True):
    """The topology's ``access`` mapping, checked; errors name the field."""
    if access is None:
        return {'mode': 'auto'}
    if not isinstance(access, dict):
        raise CloudError('%s: expected a mapping, got %r' % (where, access))
    unknown = set(access) - set(ACCESS_KEYS)
    if unknown:
        raise CloudError('%s.%s: not an access key (%s)' % (where, sorted(unknown)[0], ', '.join(ACCESS_KEYS)))
    mode = access.get('mode') or 'auto'
    if mode not in MODES:
        raise CloudError('%s.mode: %r is not one of %s' % (where, mode, ', '.join(MODES)))
    checked = {'mode': mode}
    user = access.get('user')
    if user is not None:
        if not isinstance(user, str) or not USER.match(user):
            raise CloudError('%s.user: %r is not a login name' % (where, user))
        checked['user'] = user
    if access.get('jump_host') is not None:
        parse_jump_host(access['jump_host'], where + '.jump_host', resolve)
        checked['jump_host'] = str(access['jump_host']).strip()
    if access.get('ssh_from') is not None:
        checked['ssh_from'] = parse_ssh_from(access['ssh_from'], where + '.ssh_from')
    return checked


def parse_ssh_from(value, where):
    try:
        network = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        raise CloudError('%s: %r is not a CIDR such as 203.0.113.7/32' % (where, value))
    if network.version != 4:
        raise CloudError('%s: %r is IPv6; security group rules here take IPv4 CIDRs' % (where, value))
    return str(network)


def egress_address(towards):
    """The controller's own address on the route to ``towards``: a UDP connect sends no packet."""
    try:
        family, kind, proto, _name, sockaddr = socket.getaddrinfo(towards, SSH_PORT, socket.AF_INET,
                                                                  socket.SOCK_DGRAM)[0]
        probe = socket.socket(family, kind, proto)
        try:
            probe.connect(sockaddr)
            return probe.getsockname()[0]
        finally:
            probe.close()
    except (OSError, IndexError):
        return None


def outside_address(ssh_from, gateway):
    """The controller's address as guests see it: a single-host ssh_from says it, else the route to ``gateway``."""
    if ssh_from:
        network = ipaddress.ip_network(str(ssh_from), strict=False)
        if network.num_addresses == 1:
            return str(network.network_address)
    return egress_address(gateway) if gateway else None


def image_user(image):
    name = str(image or '').lower()
    for word, user in IMAGE_USERS:
        if word in name:
            return user
    return 'root'


def resolve_access(topology, cloud, access_dir):
    """The run's access: mode, login, the run's key and groups, and where its files live.

    ``cloud`` is cloud_info's description. ``auto`` is the cloud's own default (the lab: netns).
    """
    access = check_access((topology or {}).get('access'))
    offered = cloud.get('access') or {}
    run_id = topology['run_id']
    mode = access['mode']
    if mode == 'auto':
        mode = offered.get('default_mode') or 'ssh'
    if mode == 'netns' and not offered.get('netns'):
        raise CloudError('access.mode: netns reaches only local-lab VMs; cloud %s is a %s cloud, use ssh or auto'
                         % (cloud.get('name'), cloud.get('provider')))
    resolved = {'mode': mode, 'user': access.get('user') or offered.get('user'),
                'jump_host': access.get('jump_host') or offered.get('jump_host'),
                'proxy_command': offered.get('proxy_command'),
                'data_plane': bool((cloud.get('capabilities') or {}).get('data_plane'))}
    if mode != 'ssh' or not resolved['data_plane']:
        return resolved  # no guest is reached: nothing to prepare
    ssh_from = access.get('ssh_from') or offered.get('ssh_from')
    if not ssh_from:
        towards = parse_jump_host(resolved['jump_host'], resolve=False)['host'] if resolved['jump_host'] \
            else offered.get('endpoint_host')
        address = egress_address(towards) if towards else None
        if not address:
            raise CloudError('access.ssh_from: cannot tell the controller\'s egress address towards cloud %s; '
                             'set it to the CIDR the guests see SSH come from' % cloud.get('name'))
        ssh_from = '%s/32' % address
    access_dir = os.path.abspath(access_dir)
    resolved.update(
        ssh_from=ssh_from, key_name='%s-access' % run_id, group='%s-ssh' % run_id,
        bastion='%s-bastion' % run_id if not resolved['jump_host'] else None,
        bastion_group='%s-bastion' % run_id,
        dir=access_dir, key_file=os.path.join(access_dir, 'id_ed25519'),
        known_hosts=os.path.join(access_dir, 'known_hosts'), ssh_config=os.path.join(access_dir, 'ssh_config'))
    if not needs_bastion(topology, resolved):
        resolved['bastion'] = None
    resolved['servers'] = access_servers(topology, resolved, bool(offered.get('groupless_open')))
    return resolved


def needs_bastion(spec, access):
    """A bastion is made when some server has no floating IP and no jump host was given."""
    return access.get('mode') == 'ssh' and bool(access.get('bastion')) and any(
        not server.get('floating_ip') for server in spec.get('servers') or [])


def access_servers(spec, access, groupless_open):
    """The topology's servers with the run's key and SSH group, and the bastion if one is needed.

    The SSH group goes only where it cannot open anything else: on a server with declared groups,
    or on any server of a cloud that filters servers without groups.
    """
    servers = []
    for server in spec.get('servers') or []:
        server = dict(server)
        server.setdefault('key', access['key_name'])
        if server.get('security_groups') or not groupless_open:
            server['security_groups'] = list(server.get('security_groups') or []) + [access['group']]
        servers.append(server)
    if needs_bastion(spec, access):
        servers.append({'name': access['bastion'], 'network': bastion_network(spec), 'floating_ip': True,
                        'key': access['key_name'], 'security_groups': [access['bastion_group']]})
    return servers


def bastion_network(spec):
    """The first network a router with an external gateway serves: where a bastion can get a floating IP."""
    for router in spec.get('routers') or []:
        if router.get('external') and router.get('interfaces'):
            return router['interfaces'][0]
    raise CloudError('access: servers without a floating IP are reached through a bastion with one, which needs '
                     'a router with external: true; give them floating_ip: true, or set access.jump_host')


def _login(server, access):
    return access.get('user') or image_user(server.get('image'))


def _jump(server, access, by_name):
    """[user@]host[:port] of the hop to a server without a public address, or None."""
    if server.get('public_ip'):
        return None
    if access.get('jump_host'):
        return access['jump_host']
    bastion = by_name.get(access.get('bastion'))
    if bastion and bastion.get('public_ip'):
        return '%s@%s' % (_login(bastion, access), bastion['public_ip'])
    return None


def address_of(server):
    return server.get('public_ip') or server.get('private_ip')


def has_run_key(server, access):
    """A server that names a key of its own is logged in to with the user's keys, not the run's."""
    return server.get('key_name') in (None, access.get('key_name'))


def ssh_config(servers, access):
    """One ``Host`` block per server: the run's key, known_hosts and the hop that reaches it."""
    by_name = {s['name']: s for s in servers}
    lines = ['# How the controller reaches the guests of this run: ssh -F %s <address>' % access['ssh_config']]
    for server in sorted(servers, key=lambda s: s['name']):
        address = address_of(server)
        if not address:
            continue
        lines += ['', '# %s' % server['name'], 'Host %s' % address, '  User %s' % _login(server, access)]
        if has_run_key(server, access):
            lines += ['  IdentityFile %s' % access['key_file'], '  IdentitiesOnly yes']
        lines += ['  UserKnownHostsFile %s' % access['known_hosts'], '  StrictHostKeyChecking accept-new',
                  '  ServerAliveInterval 15']
        if server.get('id'):
            # Host keys belong to the server, not to an address that can move to another one.
            lines.append('  HostKeyAlias %s' % server['id'])
        jump = _jump(server, access, by_name)
        if jump:
            lines.append('  ProxyJump %s' % jump)
        elif access.get('proxy_command'):
            lines.append('  ProxyCommand %s' % access['proxy_command'])
    return '\n'.join(lines) + '\n'


def control_path(server, access):
    """The SSH master socket of ``server``, in Ansible's control_path_dir.

    Addresses are reused by later runs and move between servers, so the name is the server's own;
    it stays short because a Unix socket's path holds at most 107 bytes, wherever the run's files are.
    """
    owner = '%s %s %s' % (server.get('id') or server['name'], address_of(server), _login(server, access))
    return '%(directory)s/' + hashlib.sha256(owner.encode('utf-8')).hexdigest()[:16]


def host_vars(server, access, python=None):
    """The inventory variables that reach ``server`` under ``access``."""
    if access.get('mode') == 'netns':
        variables = {'ansible_connection': NETNS_CONNECTION, 'ansible_host': server['connection']['netns']}
        if python:
            # A lab VM shares the controller's filesystem: its interpreter is the controller's own.
            variables['ansible_python_interpreter'] = python
        return variables
    variables = {'ansible_connection': 'ssh', 'ansible_host': address_of(server),
                 'ansible_user': _login(server, access)}
    if access.get('ssh_config'):
        variables['ansible_ssh_common_args'] = '-F %s' % access['ssh_config']
        if has_run_key(server, access):
            variables['ansible_ssh_private_key_file'] = access['key_file']
        variables['ansible_control_path'] = control_path(server, access)
    elif access.get('jump_host') and not server.get('public_ip'):
        variables['ansible_ssh_common_args'] = '-o ProxyJump=%s' % access['jump_host']
    return variables
