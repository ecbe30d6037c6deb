# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Any libcloud compute driver but ec2, through libcloud's common NodeDriver API.

Servers are nodes: listed, created (image, size and location resolved from names or ids),
destroyed, started, stopped and rebooted where the driver can. Key pairs, networks and labels
are used where the driver has them; every other operation is one clear "<operation> is not
supported on <driver>" line. Calls are retried with backoff when the cloud throttles or fails
with a 5xx, and every driver failure becomes one CloudError line without a secret in it.

Where a driver's arguments differ (labels, keys, user data, networks), the parameters of its
create_node say which it takes; settings.extra.create_node adds what a driver needs besides
(azure_arm: ex_resource_group, ex_network, auth). Objects a driver has no API for do not exist
there: listing them finds none, creating one is not supported.
"""

from __future__ import annotations

import inspect
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.model import Image, Keypair, Network, Server, Size
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.base import Provider, named
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.driver import (
    build_driver, create_options, credentials, failure, is_auth_failure, is_not_found, is_throttled, is_transient,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local import keys

try:
    from libcloud.compute.base import NodeAuthPassword, NodeAuthSSHKey, NodeDriver
    HAS_LIBCLOUD = True
except ImportError:
    NodeAuthPassword = NodeAuthSSHKey = NodeDriver = None
    HAS_LIBCLOUD = False

# libcloud NodeState values -> the collection's server status (the lab's and OpenStack's words).
STATUS = {
    'running': 'ACTIVE', 'pending': 'BUILD', 'starting': 'BUILD', 'updating': 'BUILD', 'reconfiguring': 'BUILD',
    'rebooting': 'REBOOT', 'stopping': 'SHUTOFF', 'stopped': 'SHUTOFF', 'suspended': 'SUSPENDED',
    'paused': 'PAUSED', 'migrating': 'MIGRATING', 'terminated': 'DELETED', 'error': 'ERROR',
}
# States a new or acted-on node will not leave by waiting.
FAILED = ('error', 'terminated')
POLL_INTERVAL = 1.0
BULK_WORKERS = 8
# The first of these the driver implements does the action.
ACTIONS = {
    'start': ('start_node', 'ex_start_node', 'ex_power_on_node'),
    'stop': ('stop_node', 'ex_stop_node', 'ex_shutdown_node', 'ex_power_off_node'),
    'reboot': ('reboot_node',),
}
ACTION_WORDS = {'start': 'starting', 'stop': 'stopping', 'reboot': 'rebooting'}
ACTION_TARGET = {'start': 'ACTIVE', 'stop': 'SHUTOFF', 'reboot': 'ACTIVE'}
# Drivers whose ex_tags is a mapping; elsewhere ex_tags is a list of strings ("key:value" here).
DICT_TAG_DRIVERS = ('azure_arm', 'openstack', 'ec2')
# Drivers whose network API (ex_list_networks, ex_create_network, ex_destroy_network) this provider drives.
NETWORK_DRIVERS = ('gce',)
# A network's MTU where the driver does not report one.
DEFAULT_MTU = {'gce': 1460}
# create_node parameters that carry user data, and GCE's metadata key for a boot script.
USER_DATA_PARAMS = ('ex_userdata', 'ex_user_data', 'ex_customdata')
GCE_BOOT_SCRIPT = 'startup-script'
# The create_node parameters this provider fills itself.
FILLED = ('self', 'name', 'size', 'image', 'location')


def _text(kind):
    return kind.replace('_', ' ')


def _name_of(value):
    """A name from what drivers put in node.image / node.size / extra: objects, dicts, URLs."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get('slug') or value.get('name') or value.get('id')
    elif not isinstance(value, (str, int)):
        value = getattr(value, 'name', None) or getattr(value, 'id', None)
    value = None if value is None else str(value)
    return value.rstrip('/').rsplit('/', 1)[-1] if value and '://' in value else value


def _one_line(items, limit=5):
    items = list(items)
    shown = ', '.join(str(i) for i in items[:limit])
    return shown + (', ...' if len(items) > limit else '')


class LibcloudProvider(Provider):
    family = 'libcloud'
    # Few drivers report the key pair a node was given, so it is not compared on existing servers.
    reports_key_name = False

    def __init__(self, cloud, settings, timeout=180, wait=True, api_retries=3, driver=None):
        super().__init__(cloud, settings, timeout=timeout, wait=wait, api_retries=api_retries)
        self.driver_name = str(settings.get('driver') or '').lower()
        self.options = create_options(settings)
        auth = self.options.get('auth') if isinstance(self.options.get('auth'), dict) else {}
        # Passwords given to new servers (azure_arm auth.password, linode root_pass) are secrets too.
        passwords = [value for key, value in list(self.options.items()) + list(auth.items())
                     if isinstance(value, str) and any(word in key.lower() for word in ('pass', 'secret'))]
        self.secrets = tuple(s for s in credentials(settings) + tuple(passwords) if s)
        self.region = settings.get('region')
        self._injected = driver is not None
        self.driver = driver or build_driver(cloud, settings, timeout)
        self._tune(self.driver)
        self._local = threading.local()
        self._cache = {}

    def unsupported(self, operation):
        return CloudError('%s is not supported on %s' % (operation, self.driver_name))

    # ------------------------------------------------------------------ calling the driver
    def _tune(self, driver):
        """Poll the cloud's asynchronous operations (GCE's) every POLL_INTERVAL, for as long as the task's timeout."""
        connection = driver.connection
        if getattr(connection, 'poll_interval', None):
            connection.poll_interval = min(connection.poll_interval, POLL_INTERVAL)
        if getattr(connection, 'timeout', None) and hasattr(connection, 'get_poll_request_kwargs'):
            connection.timeout = self.timeout

    def implements(self, method, driver=None):
        """Whether the driver does ``method`` itself (NodeDriver's own versions only raise)."""
        cls = type(driver or self.driver)
        own = getattr(cls, method, None)
        return own is not None and own is not getattr(NodeDriver, method, None)

    def _retrying(self, fn, *args, idempotent=True, **kwargs):
        """fn(*args, **kwargs), sent again with backoff while the cloud throttles or (for requests that
        may be repeated) fails with a 5xx or on the network; the last failure is raised as it came."""
        attempt = 0
        while True:
            try:
                return fn(*args, **kwargs)
            except CloudError:
                raise
            except Exception as exc:  # drivers raise many types; the classification decides
                retry = is_throttled(exc) or (idempotent and is_transient(exc))
                if not retry or attempt >= self.api_retries:
                    raise
                delay = min(0.5 * 2 ** attempt, 8.0) * random.uniform(0.8, 1.2)
                time.sleep(max(delay, min(float(getattr(exc, 'retry_after', 0) or 0), 30.0)))
                attempt += 1

    def call(self, action, method, *args, idempotent=True, driver=None, **kwargs):
        """driver.method(*args, **kwargs), retried, with every failure as one line naming ``action``."""
        try:
            return self._retrying(getattr(driver or self.driver, method), *args, idempotent=idempotent, **kwargs)
        except CloudError:
            raise
        except Exception as exc:
            raise failure(exc, action, self.driver_name, self.secrets)

    def _params(self, method):
        try:
            return inspect.signature(getattr(self.driver, method)).parameters
        except (TypeError, ValueError, AttributeError):
            return {}

    def _cached(self, key, load):
        if key not in self._cache:
            self._cache[key] = load()
        return self._cache[key]

    # ------------------------------------------------------------------ reading
    def list(self, kind, name=None):
        if kind == 'server':
            records = [self._server(node) for node in self._nodes()]
        elif kind == 'keypair':
            records = [self._keypair(pair) for pair in self._key_pairs()] if self.implements('list_key_pairs') else []
        elif kind == 'network':
            records = [self._network(net) for net in self._networks()]
        else:
            records = []  # the driver has no API for these, so none exist there
        return [r for r in records if name is None or r.name == name]

    def images(self, name=None):
        return named([self._image_record(image) for image in self._images()], name)

    def sizes(self, name=None):
        return named([self._size_record(size) for size in self._sizes()], name)

    def locations(self):
        return self._cached('locations', lambda: self.call('listing locations', 'list_locations'))

    def describe(self):
        servers = self.list('server')
        return {
            'name': self.cloud,
            'provider': self.family,
            'driver': self.driver_name,
            'region': self.region,
            'locations': [{'id': str(loc.id), 'name': loc.name, 'country': loc.country} for loc in self.locations()],
            'counts': {'servers': len(servers), 'keypairs': len(self.list('keypair')), 'networks': len(self.list('network'))},
            'capabilities': {
                'floating_ips': False, 'security_groups': False, 'routers': False, 'data_plane': self.data_plane(), 'network_mtu': False,
                'bulk_create': True, 'networks': self.driver_name in NETWORK_DRIVERS,
                'keypairs': self.implements('list_key_pairs'), 'labels': self._label_parameter() is not None,
                'start_stop': all(self._action_method(a) for a in ('start', 'stop')),
            },
        }

    def labelled(self, labels):
        found = []
        for kind in ('server', 'network', 'keypair'):
            for record in self.list(kind):
                if all((record.labels or {}).get(k) == v for k, v in (labels or {}).items()):
                    found.append({'kind': kind, 'id': record.id, 'name': record.name})
        return found

    def _nodes(self, driver=None):
        return self.call('listing servers', 'list_nodes', driver=driver)

    def _images(self):
        return self._cached('images', lambda: self.call('listing images', 'list_images'))

    def _sizes(self):
        return self._cached('sizes', lambda: self.call('listing sizes', 'list_sizes'))

    def _key_pairs(self):
        return self.call('listing key pairs', 'list_key_pairs')

    def _networks(self):
        if not hasattr(self.driver, 'ex_list_networks'):
            return []
        return self.call('listing networks', 'ex_list_networks')

    # ------------------------------------------------------------------ records
    def _server(self, node):
        extra = node.extra or {}
        private = [ip for ip in node.private_ips or [] if ip]
        public = [ip for ip in node.public_ips or [] if ip]
        networks, addresses = [], {}
        interfaces = extra.get('networkInterfaces') if isinstance(extra.get('networkInterfaces'), list) else []
        for index, address in enumerate(private):
            nic = interfaces[index] if index < len(interfaces) and isinstance(interfaces[index], dict) else {}
            network = _name_of(nic.get('network'))
            networks.append({'network': network, 'subnet': _name_of(nic.get('subnetwork')), 'address': address,
                             'interface': 'eth%d' % index})
            addresses.setdefault(network or 'private', []).append(address)
        if public:
            addresses['public'] = public
        created = getattr(node, 'created_at', None)
        return Server(
            id=str(node.id), name=node.name, status=STATUS.get(str(node.state), 'UNKNOWN'),
            image=self._node_image(node), image_id=_name_of(getattr(node.image, 'id', None) or extra.get('image_id')),
            size=self._node_size(node), networks=networks, addresses=addresses,
            private_ip=private[0] if private else None, public_ip=public[0] if public else None,
            security_groups=[], key_name=extra.get('key_name') or extra.get('keyname'),
            labels=self._labels_of(extra), created=created.isoformat() if hasattr(created, 'isoformat') else created,
            connection={'type': 'ssh', 'host': (public or private or [None])[0], 'user': None})

    def _node_image(self, node):
        extra = node.extra or {}
        reference = (((extra.get('properties') or {}).get('storageProfile') or {}).get('imageReference')
                     if isinstance(extra.get('properties'), dict) else None)
        if isinstance(reference, dict) and reference.get('publisher'):
            return ':'.join(str(reference.get(k)) for k in ('publisher', 'offer', 'sku', 'version'))
        return _name_of(node.image) or _name_of(extra.get('image')) or _name_of(extra.get('image_id'))

    def _node_size(self, node):
        extra = node.extra or {}
        hardware = ((extra.get('properties') or {}).get('hardwareProfile') or {}) if isinstance(extra.get('properties'), dict) else {}
        return (_name_of(node.size) or _name_of(extra.get('size_slug')) or _name_of(extra.get('machineType'))
                or hardware.get('vmSize') or _name_of(extra.get('instance_type')) or _name_of(extra.get('size')))

    def _labels_of(self, extra):
        """Labels where the driver keeps them: 'labels' (GCE), 'tags' (a mapping on Azure, "key:value"
        strings on DigitalOcean and Linode), 'metadata' (OpenStack); the first key present decides."""
        for key in ('labels', 'tags', 'metadata'):
            if key not in extra:
                continue
            value = extra[key]
            if isinstance(value, dict) and not (key == 'metadata' and 'items' in value):
                return {str(k): '' if v is None else str(v) for k, v in value.items()}
            if isinstance(value, list) and key == 'tags':
                return dict(tuple(str(t).split(':', 1)) if ':' in str(t) else (str(t), '') for t in value)
            return {}
        return {}

    def _keypair(self, pair):
        public_key = ' '.join((pair.public_key or '').split()[:2])
        fingerprint = pair.fingerprint
        if not fingerprint and public_key:
            try:
                fingerprint = keys.fingerprint(public_key)
            except (ValueError, IndexError):
                fingerprint = None
        extra = pair.extra or {}
        return Keypair(id=str(extra.get('id') or pair.name), name=pair.name, type=public_key.split(' ', maxsplit=1)[0] if public_key else None,
                       public_key=public_key, fingerprint=fingerprint, labels={},
                       private_key=getattr(pair, 'private_key', None))

    def _network(self, net):
        extra = getattr(net, 'extra', None) or {}
        subnets = extra.get('subnetworks') if isinstance(extra.get('subnetworks'), list) else []
        return Network(id=str(net.id), name=net.name, status='ACTIVE', mtu=int(extra.get('mtu') or DEFAULT_MTU.get(self.driver_name, 1500)),
                       subnets=sorted(_name_of(s) for s in subnets), labels={},
                       cidr=getattr(net, 'cidr', None) or extra.get('IPv4Range'))

    def _image_record(self, image):
        extra = image.extra or {}
        os_name = extra.get('os') or extra.get('distribution') or extra.get('family') or extra.get('os_type') or ''
        return Image(id=str(image.id), name=image.name or str(image.id), os=str(os_name),
                     description=str(extra.get('description') or ''), min_size=None)

    def _size_record(self, size):
        extra = size.extra or {}
        vcpus = next((extra[k] for k in ('vcpus', 'guestCpus', 'numberOfCores', 'cpus', 'cpu', 'cores') if extra.get(k)), None)
        if vcpus is None:
            vcpus = getattr(size, 'vcpus', None) or 1
        return Size(id=str(size.id), name=size.name or str(size.id), vcpus=int(vcpus), ram_mb=int(size.ram or 0),
                    disk_gb=int(size.disk or 0), description=str(extra.get('description') or ''))

    # ------------------------------------------------------------------ the interface
    def check_create(self, kind, name, desired):
        if kind == 'server':
            plan = self._plan_server(desired)
            return self._preview(name, plan, desired)
        if kind == 'keypair':
            return self._plan_keypair(name, desired)[0]
        if kind == 'network' and self.driver_name in NETWORK_DRIVERS:
            return self._plan_network(name, desired)
        raise self.unsupported('creating %s' % _text(kind))

    def create(self, kind, name, desired):
        if kind == 'server':
            return self.create_many(kind, [name], desired)[0]
        if kind == 'keypair':
            return self._create_keypair(name, desired)
        if kind == 'network' and self.driver_name in NETWORK_DRIVERS:
            return self._create_network(name, desired)
        raise self.unsupported('creating %s' % _text(kind))

    def create_many(self, kind, names, desired):
        if kind != 'server':
            return super().create_many(kind, names, desired)
        plan = self._plan_server(desired)
        nodes = self._create_nodes(names, plan)
        if self.wait:
            nodes = self._await(nodes, 'running', 'reach running')
        return [self._server(node) for node in nodes]

    def check_update(self, kind, record, changes):
        self._plan_update(kind, record, changes)

    def update(self, kind, record, changes):
        labels = self._plan_update(kind, record, changes)
        node = self._node(record)
        if hasattr(self.driver, 'ex_set_node_labels'):
            self.call('labelling server %r' % record['name'], 'ex_set_node_labels', node, labels)
        else:
            self.call('labelling server %r' % record['name'], 'ex_create_tags', node, labels, replace=True)
        return self._server(self._node(record))

    def check_delete(self, kind, record):
        if kind == 'keypair' and not self.implements('delete_key_pair'):
            raise self.unsupported('deleting keypair')
        if kind == 'network' and self.driver_name not in NETWORK_DRIVERS:
            raise self.unsupported('deleting network')
        if kind not in ('server', 'keypair', 'network'):
            raise self.unsupported('deleting %s' % _text(kind))

    def delete(self, kind, record):
        self.check_delete(kind, record)
        if kind == 'server':
            node = self._node(record, required=False)
            if node is None:
                return
            kwargs = {}
            params = self._params('destroy_node')
            if 'ex_poll_wait' in params:  # Azure waits for the VM to go before it removes its NIC and disk
                kwargs['ex_poll_wait'] = POLL_INTERVAL
                if 'ex_poll_qty' in params:
                    kwargs['ex_poll_qty'] = max(1, int(self.timeout / POLL_INTERVAL))
            if self.call('deleting server %r' % record['name'], 'destroy_node', node, **kwargs) is False:
                raise CloudError('deleting server %r failed on %s: the driver reported no success' % (record['name'], self.driver_name))
        elif kind == 'keypair':
            pair = next((p for p in self._key_pairs() if p.name == record['name']), None)
            if pair is not None:
                self.call('deleting key pair %r' % record['name'], 'delete_key_pair', pair)
        else:
            net = self._network_object(record)
            if net is not None:
                self.call('deleting network %r' % record['name'], 'ex_destroy_network', net)

    def check_action(self, record, action):
        if not self._action_method(action):
            raise self.unsupported('%s a server' % ACTION_WORDS.get(action, action))
        if record.get('status') not in ('ACTIVE', 'BUILD', 'SHUTOFF', 'REBOOT'):
            raise CloudError('server %r is in status %s and cannot %s' % (record['name'], record.get('status'), action))

    def server_action(self, record, action):
        self.check_action(record, action)
        node = self._node(record)
        method = self._action_method(action)
        if self.call('%s server %r' % (ACTION_WORDS[action], record['name']), method, node) is False:
            raise CloudError('%s server %r failed on %s: the driver reported no success'
                             % (ACTION_WORDS[action], record['name'], self.driver_name))
        if self.wait:
            target = 'stopped' if action == 'stop' else 'running'
            return self._server(self._await([node], target, 'reach %s after %s' % (target, ACTION_WORDS[action]))[0])
        return self._server(self._node(record))

    # ------------------------------------------------------------------ servers
    def _node(self, record, required=True, driver=None):
        node = next((n for n in self._nodes(driver) if str(n.id) == str(record['id'])), None)
        if node is None and required:
            raise NotFound('server %r (%s) no longer exists on %s' % (record['name'], record['id'], self.driver_name))
        return node

    def _action_method(self, action):
        return next((m for m in ACTIONS.get(action, ()) if self.implements(m)), None)

    def _plan_server(self, desired):
        """Everything create_node needs, resolved and checked; nothing changes. Returns (image, size, kwargs)."""
        params = self._params('create_node')
        # The cloud's entry in the clouds file may name the image and size of servers whose task names none.
        wanted_image = desired.get('image') or self.settings.get('image')
        wanted_size = desired.get('size') or self.settings.get('size')
        image = self._cached(('image', wanted_image),
                             lambda: self._resolve('image', wanted_image, self._images, lookup='get_image'))
        size = self._cached(('size', wanted_size), lambda: self._resolve('size', wanted_size, self._sizes))
        kwargs = {key: value for key, value in self.options.items() if key != 'auth'}
        unknown = sorted(set(kwargs) - set(params)) if not any(p.kind == p.VAR_KEYWORD for p in params.values()) else []
        if unknown:
            raise CloudError('extra.create_node.%s: %s creates servers without such an argument (it takes %s)'
                             % (unknown[0], self.driver_name, _one_line(p for p in params if p not in FILLED)))
        if 'location' in params:
            kwargs['location'] = self._location(params['location'])
        self._add_labels(kwargs, params, desired.get('labels'))
        self._add_key(kwargs, params, desired.get('key_name'))
        self._add_user_data(kwargs, params, desired.get('user_data'))
        self._add_networks(kwargs, params, desired.get('networks'))
        if desired.get('security_groups'):
            raise self.unsupported('security_groups: attaching security groups to servers')
        if 'auth' in params and 'auth' not in kwargs and self.options.get('auth'):
            kwargs['auth'] = self._auth_option(self.options['auth'])
        for key, param in params.items():
            if key in FILLED or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
                continue
            if param.default is inspect.Parameter.empty and kwargs.get(key) is None:
                if key == 'auth':
                    via = 'give key_name, or ' if self.implements('list_key_pairs') else ''
                    raise CloudError('%s: %s needs a login for a new server; %sset auth: {ssh_key: "<public key>"} under '
                                     'extra.create_node in the clouds file'
                                     % ('key_name' if via else 'extra.create_node.auth', self.driver_name, via))
                raise CloudError('extra.create_node.%s: %s creates servers only with %s; set it in the clouds file'
                                 % (key, self.driver_name, key))
        return image, size, kwargs

    def _resolve(self, field, value, listing, lookup=None):
        """A NodeImage/NodeSize by id or name: the driver's own lookup first where it has one, then its listing."""
        if not value:
            raise CloudError('%s: %s has no default %s; name one (see %s_info)' % (field, self.driver_name, field, field))
        if lookup and self.implements(lookup):
            try:
                found = self._retrying(getattr(self.driver, lookup), value)
                if found is not None:
                    return found
            except Exception as exc:  # not found, or a value this lookup does not parse: ask the listing
                if is_auth_failure(exc):
                    raise failure(exc, 'looking up %s %r' % (field, value), self.driver_name, self.secrets)
        try:
            items = listing()
        except CloudError as exc:
            raise NotFound('%s: %r cannot be looked up on %s: %s' % (field, value, self.driver_name, exc))
        for match in (lambda i: str(i.id) == str(value), lambda i: i.name == value):
            found = [item for item in items if match(item)]
            if len(found) > 1:
                raise CloudError('%s: %d %ss of %s are named %r; give one by its id (%s)'
                                 % (field, len(found), field, self.driver_name, value, _one_line(i.id for i in found)))
            if found:
                return found[0]
        raise NotFound('%s: %r is not a%s %s of %s (%d known, e.g. %s); see %s_info'
                       % (field, value, 'n' if field == 'image' else '', field, self.driver_name, len(items),
                          _one_line(sorted(i.name or str(i.id) for i in items)), field))

    def _location(self, param):
        wanted = self.options.get('location') or self.region
        if not wanted:
            if param.default is inspect.Parameter.empty:
                raise CloudError('region: %s creates servers in a location; set region in the clouds file (one of %s)'
                                 % (self.driver_name, _one_line(str(loc.id) for loc in self.locations())))
            return None
        for location in self.locations():
            if str(wanted).lower() in (str(location.id).lower(), str(location.name).lower()):
                return location
        raise NotFound('region: %r is not a location of %s (%s)'
                       % (wanted, self.driver_name, _one_line(str(loc.id) for loc in self.locations())))

    def _label_parameter(self):
        params = self._params('create_node')
        for name in ('ex_labels', 'ex_tags', 'ex_metadata'):
            if name in params:
                return name
        if 'ex_create_attr' in params and 'tags' in getattr(self.driver, 'EX_CREATE_ATTRIBUTES', ()):
            return 'ex_create_attr'
        return None

    def _check_labels(self, labels):
        for key, value in (labels or {}).items():
            if not isinstance(value, str):
                raise CloudError('labels.%s: label values are strings, got %r' % (key, value))

    def _add_labels(self, kwargs, params, labels):
        if not labels:
            return
        self._check_labels(labels)
        where = self._label_parameter()
        if where is None:
            raise CloudError('labels: servers on %s carry no labels; leave labels out' % self.driver_name)
        if where == 'ex_create_attr':
            kwargs['ex_create_attr'] = dict(kwargs.get('ex_create_attr') or {}, tags=['%s:%s' % kv for kv in labels.items()])
        elif where == 'ex_tags' and self.driver_name not in DICT_TAG_DRIVERS:
            kwargs['ex_tags'] = ['%s:%s' % kv for kv in labels.items()]
        else:
            kwargs[where] = dict(kwargs.get(where) or {}, **labels)

    def _key_pair_named(self, name):
        pairs = self._cached('keypairs', self._key_pairs)
        pair = next((p for p in pairs if p.name == name), None)
        if pair is None:
            raise NotFound('key_name: %s has no key pair named %r (it has %s)'
                           % (self.driver_name, name, _one_line(sorted(p.name for p in pairs)) or 'none'))
        return pair

    def _add_key(self, kwargs, params, key_name):
        if not key_name:
            return
        if not self.implements('list_key_pairs'):
            if 'auth' in params:
                raise CloudError('key_name: %s keeps no key pairs; give the login key as extra.create_node.auth '
                                 '({ssh_key: "<public key>"}) in the clouds file instead' % self.driver_name)
            raise self.unsupported('key_name: giving servers a key pair')
        pair = self._key_pair_named(key_name)
        ident = (pair.extra or {}).get('id') or pair.fingerprint or pair.name
        if 'ex_keyname' in params:
            kwargs['ex_keyname'] = pair.name
        elif 'ex_create_attr' in params and 'ssh_keys' in getattr(self.driver, 'EX_CREATE_ATTRIBUTES', ()):
            kwargs['ex_create_attr'] = dict(kwargs.get('ex_create_attr') or {}, ssh_keys=[ident])
        elif 'ex_ssh_key_ids' in params:
            kwargs['ex_ssh_key_ids'] = [str(ident)]
        elif 'ex_authorized_keys' in params:
            kwargs['ex_authorized_keys'] = [pair.public_key]
        elif 'auth' in params:
            kwargs['auth'] = NodeAuthSSHKey(pair.public_key)
        else:
            raise self.unsupported('key_name: giving servers a key pair')

    def _auth_option(self, auth):
        if not isinstance(auth, dict) or not (auth.get('ssh_key') or auth.get('password')):
            raise CloudError('extra.create_node.auth: a mapping with ssh_key (a public key) or password')
        return NodeAuthSSHKey(auth['ssh_key']) if auth.get('ssh_key') else NodeAuthPassword(auth['password'])

    def _add_user_data(self, kwargs, params, user_data):
        if not user_data:
            return
        param = next((p for p in USER_DATA_PARAMS if p in params), None)
        if param:
            kwargs[param] = user_data
        elif self.driver_name == 'gce' and 'ex_metadata' in params:
            kwargs['ex_metadata'] = dict(kwargs.get('ex_metadata') or {}, **{GCE_BOOT_SCRIPT: user_data})
        else:
            raise self.unsupported('user_data: giving servers user data')

    def _add_networks(self, kwargs, params, networks):
        if not networks:
            return
        if 'ex_network' not in params:
            raise self.unsupported('networks: attaching servers to networks')
        if len(networks) > 1:
            raise CloudError('networks: %s attaches a new server to one network, got %d' % (self.driver_name, len(networks)))
        want = networks[0]
        if hasattr(self.driver, 'ex_list_networks'):
            known = [n.name for n in self._cached('networks', self._networks)]
            if want['name'] not in known:
                raise NotFound('networks[0].name: %s has no network named %r (it has %s)'
                               % (self.driver_name, want['name'], _one_line(sorted(known)) or 'none'))
        kwargs['ex_network'] = want['name']
        if want.get('subnet'):
            subnet_param = next((p for p in ('ex_subnetwork', 'ex_subnet') if p in params), None)
            if not subnet_param:
                raise self.unsupported('networks[0].subnet: choosing a subnet')
            kwargs[subnet_param] = want['subnet']
        if want.get('fixed_ip'):
            if 'internal_ip' not in params:
                raise self.unsupported('networks[0].fixed_ip: choosing a server address')
            kwargs['internal_ip'] = want['fixed_ip']

    def _preview(self, name, plan, desired):
        image, size, _kwargs = plan
        return Server(id=None, name=name, status='BUILD', image=self._image_name(image), size=size.name or str(size.id),
                      networks=[{'network': n['name'], 'subnet': n.get('subnet'), 'address': n.get('fixed_ip'),
                                 'interface': 'eth%d' % i} for i, n in enumerate(desired.get('networks') or [])],
                      key_name=desired.get('key_name'), labels=dict(desired.get('labels') or {}),
                      connection={'type': 'ssh', 'host': None, 'user': None})

    def _image_name(self, image):
        if all(hasattr(image, a) for a in ('publisher', 'offer', 'sku', 'version')):  # an Azure marketplace image
            return ':'.join(str(getattr(image, a)) for a in ('publisher', 'offer', 'sku', 'version'))
        return image.name or str(image.id)

    def _worker_driver(self):
        """Each thread of a bulk create talks through its own driver: a libcloud connection holds one
        response at a time."""
        if self._injected:
            return self.driver
        driver = getattr(self._local, 'driver', None)
        if driver is None:
            driver = self._local.driver = build_driver(self.cloud, self.settings, self.timeout)
            self._tune(driver)
        return driver

    def _create_node(self, name, plan, driver=None):
        image, size, kwargs = plan
        # Not repeated on a 5xx: the server may exist although the answer failed.
        return self.call('creating server %r' % name, 'create_node', name=name, size=size, image=image,
                         idempotent=False, driver=driver, **kwargs)

    def _create_nodes(self, names, plan):
        if len(names) == 1 or self._injected:
            return [self._create_node(name, plan) for name in names]
        with ThreadPoolExecutor(max_workers=min(BULK_WORKERS, len(names))) as pool:
            futures = [pool.submit(lambda n=name: self._create_node(n, plan, self._worker_driver())) for name in names]
        nodes, failed = [], []
        for name, future in zip(names, futures):
            try:
                nodes.append(future.result())
            except CloudError as exc:
                failed.append((name, exc))
        if failed:
            raise CloudError('%d of %d servers were not created on %s (%s); created: %s'
                             % (len(failed), len(names), self.driver_name, failed[0][1], _one_line(n.name for n in nodes) or 'none'))
        return nodes

    def _await(self, nodes, state, goal):
        """The nodes once each is in ``state``, polling one listing per round, bounded by the timeout."""
        deadline = time.monotonic() + self.timeout
        current = {str(n.id): n for n in nodes}
        while True:
            pending = [n for n in current.values() if str(n.state) != state]
            for node in pending:
                if str(node.state) in FAILED and state not in FAILED:
                    raise CloudError('server %r is %s on %s and will not %s' % (node.name, node.state, self.driver_name, goal))
            if not pending:
                return [current[str(n.id)] for n in nodes]
            if time.monotonic() > deadline:
                node = pending[0]
                raise CloudError('timeout: server %r did not %s within %ss on %s (it is %s)'
                                 % (node.name, goal, self.timeout, self.driver_name, node.state))
            time.sleep(POLL_INTERVAL)
            listed = {str(n.id): n for n in self._nodes()}
            current.update((nid, listed[nid]) for nid in current if nid in listed)

    def _plan_update(self, kind, record, changes):
        """Returns the labels to set; refuses every other change."""
        for key in changes:
            if key != 'labels':
                raise self.unsupported('%s: changing %s of a %s' % (key, key.replace('_', ' '), _text(kind)))
        labels = changes.get('labels') or {}
        self._check_labels(labels)
        if kind != 'server':
            raise CloudError('labels: %ss on %s carry no labels; leave labels out' % (_text(kind), self.driver_name))
        if not (hasattr(self.driver, 'ex_set_node_labels') or hasattr(self.driver, 'ex_create_tags')):
            raise self.unsupported('labels: changing labels of a server')
        return labels

    # ------------------------------------------------------------------ key pairs
    def _plan_keypair(self, name, desired):
        """(preview, how) for a new key pair; how is 'import', 'create' (the cloud makes the key) or 'generate'."""
        if desired.get('labels'):
            raise CloudError('labels: key pairs on %s carry no labels; leave labels out' % self.driver_name)
        if not self.implements('list_key_pairs'):
            raise self.unsupported('creating keypair')
        create_params = self._params('create_key_pair') if self.implements('create_key_pair') else {}
        can_import = self.implements('import_key_pair_from_string') or 'public_key' in create_params
        if desired.get('public_key'):
            key_type, public_key = keys.parse_public_key(desired['public_key'])
            how = 'import'
        elif create_params and 'public_key' not in create_params:
            key_type, public_key, how = None, None, 'create'
        else:
            key_type, public_key, how = 'ssh-ed25519', None, 'generate'
        if how != 'create' and not can_import:
            raise self.unsupported('creating keypair')
        preview = Keypair(id=None, name=name, type=key_type, public_key=public_key,
                          fingerprint=keys.fingerprint(public_key) if public_key else None, labels={})
        return preview, how

    def _create_keypair(self, name, desired):
        _preview, how = self._plan_keypair(name, desired)
        private_key = None
        if how == 'create':
            return self._keypair(self.call('creating key pair %r' % name, 'create_key_pair', name, idempotent=False))
        if how == 'generate':
            private_key, public_key = keys.generate()
        else:
            public_key = keys.parse_public_key(desired['public_key'])[1]
        if self.implements('import_key_pair_from_string'):
            pair = self.call('importing key pair %r' % name, 'import_key_pair_from_string', name, public_key, idempotent=False)
        else:
            pair = self.call('importing key pair %r' % name, 'create_key_pair', name, public_key=public_key, idempotent=False)
        record = self._keypair(pair)
        record.private_key = private_key  # generated here: handed out once, never stored
        return record

    # ------------------------------------------------------------------ networks
    def _plan_network(self, name, desired):
        if desired.get('labels'):
            raise CloudError('labels: networks on %s carry no labels; leave labels out' % self.driver_name)
        mtu = DEFAULT_MTU.get(self.driver_name, 1500)
        if desired.get('mtu') not in (None, mtu):
            raise CloudError('mtu: new networks on %s have MTU %d here, got %r' % (self.driver_name, mtu, desired['mtu']))
        return Network(id=None, name=name, status='BUILD', mtu=mtu, cidr=desired.get('cidr'), labels={})

    def _network_object(self, record):
        """The driver's network of a record: asked for by name where the driver can (GCE), else from the listing."""
        if hasattr(self.driver, 'ex_get_network'):
            try:
                net = self._retrying(self.driver.ex_get_network, record['name'])
            except Exception as exc:  # gone already is what deleting wants
                if is_not_found(exc):
                    return None
                raise failure(exc, 'looking up network %r' % record['name'], self.driver_name, self.secrets)
            return net if net is not None and str(net.id) == str(record['id']) else None
        return next((n for n in self._networks() if str(n.id) == str(record['id'])), None)

    def _create_network(self, name, desired):
        self._plan_network(name, desired)
        cidr = desired.get('cidr')
        # Without a range GCE makes one subnet per region ("auto"); with one, libcloud's legacy network holds it.
        net = self.call('creating network %r' % name, 'ex_create_network', name, cidr, mode='legacy' if cidr else 'auto',
                        idempotent=False)
        return self._network(net)
