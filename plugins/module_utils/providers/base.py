# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface every provider family implements. Kinds: network, subnet, router,
security_group, keypair, server, floating_ip. Records are model.* instances."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

KINDS = ('network', 'subnet', 'router', 'security_group', 'keypair', 'server', 'floating_ip')
SERVER_ACTIONS = ('start', 'stop', 'reboot')


# What a flow's path and filtering depend on, in dependency order.
CONFIGURATION_KINDS = ('network', 'subnet', 'router', 'security_group', 'floating_ip', 'server')


def named(records, name):
    """The records named ``name``, or all of them when it is None."""
    return [record for record in records if name is None or record.name == name]


class Provider:
    family = None
    # Whether server records say which key pair a server was given; where not, it is not compared.
    reports_key_name = True
    # The region the provider works in, where the cloud has regions.
    region = None
    # The run whose names lookups see (state_machine.in_run); None: every object on the cloud.
    run_scope = None
    # Whether check_many lets a step name what an earlier create step of the batch makes, of any kind.
    checks_whole_batches = False

    def __init__(self, cloud, settings, timeout=180, wait=True, api_retries=3):
        self.cloud = cloud
        self.settings = settings
        self.timeout = timeout
        self.wait = wait
        self.api_retries = api_retries

    def unsupported(self, operation):
        return CloudError('%s is not supported on %s' % (operation, self.family))

    # Reading
    def list(self, kind, name=None):
        raise self.unsupported('listing %s' % kind)

    def images(self, name=None):
        """Images, or only those named exactly ``name`` (a provider may filter on the API side)."""
        raise self.unsupported('listing images')

    def sizes(self, name=None):
        """Sizes, or only those named exactly ``name``."""
        raise self.unsupported('listing sizes')

    def delete_many(self, kind, records):
        """Bulk delete; providers override to batch."""
        for record in records:
            self.delete(kind, record)

    def describe(self):
        """cloud_info: what the cloud is and offers."""
        raise self.unsupported('describing the cloud')

    def data_plane(self):
        """Whether the controller can reach the guests: a remote cloud's clouds file says so."""
        return bool(self.settings.get('data_plane'))

    def endpoint_host(self):
        """The API's host: the controller's source address towards it is its egress address by default."""
        return self.settings.get('host')

    def guest_access(self):
        """cloud_info: how the controller reaches this cloud's guests, as the clouds file declares it."""
        return {'default_mode': 'ssh', 'netns': False, 'groupless_open': False, 'user': self.settings.get('ssh_user'),
                'jump_host': self.settings.get('jump_host'), 'ssh_from': self.settings.get('ssh_from'),
                'proxy_command': None, 'endpoint_host': self.endpoint_host(),
                'data_plane_reason': None if self.data_plane() else (
                    'the clouds file does not set data_plane: true for %s, so its guests are not known to be '
                    'reachable from this controller' % self.cloud)}

    def labelled(self, labels):
        """cloud_info: [{kind, id, name}] of every object whose labels include all of ``labels``."""
        raise self.unsupported('listing objects by label')

    def configuration(self, labels):
        """cloud_info: {kind: [record dicts]} of what reachability depends on, each kind listed once:
        the networks, subnets, routers, floating IPs and servers whose labels include all of
        ``labels``, and the security groups that carry them or that those servers are in."""
        def carries(record):
            return all((record.get('labels') or {}).get(k) == v for k, v in labels.items())
        listed = {kind: [r.to_dict() for r in self.list(kind)] for kind in CONFIGURATION_KINDS}
        chosen = {kind: [r for r in records if carries(r)] for kind, records in listed.items()}
        used = {group for server in chosen['server'] for group in server.get('security_groups') or []}
        chosen['security_group'] = [g for g in listed['security_group'] if carries(g) or g['name'] in used]
        return chosen

    # Changing: check_* validate and preview without acting, and fail exactly as the act would.
    def check_create(self, kind, name, desired):
        raise self.unsupported('creating %s' % kind)

    def create(self, kind, name, desired):
        raise self.unsupported('creating %s' % kind)

    def create_many(self, kind, names, desired):
        """Bulk create; providers override to batch. Returns records in names' order."""
        return [self.create(kind, name, desired) for name in names]

    def check_update(self, kind, record, changes):
        raise self.unsupported('updating %s' % kind)

    def update(self, kind, record, changes):
        raise self.unsupported('updating %s' % kind)

    def check_delete(self, kind, record):
        raise self.unsupported('deleting %s' % kind)

    def delete(self, kind, record):
        raise self.unsupported('deleting %s' % kind)

    def check_action(self, record, action):
        raise self.unsupported('%s of a server' % action)

    def server_action(self, record, action):
        raise self.unsupported('%s of a server' % action)

    def check_many(self, steps):
        """Validate a sequence of changes as one, each step seeing the ones before it.

        steps: ('create', kind, names, desired), ('update', kind, record, changes),
        ('action', 'server', record_or_name, action), ('delete', kind, record, None); a name refers
        to an object an earlier create step makes. Returns one entry per step: the list of
        previews for a create, None otherwise. This default checks each step on its own, so
        providers whose steps depend on each other override it.
        """
        results = []
        for op, kind, target, arg in steps:
            if op == 'create':
                results.append([self.check_create(kind, name, arg) for name in target])
                continue
            if isinstance(target, dict):
                if op == 'update':
                    self.check_update(kind, target, arg)
                elif op == 'action':
                    self.check_action(target, arg)
                else:
                    self.check_delete(kind, target)
            results.append(None)
        return results


class RoutedProvider(Provider):
    """A provider whose kinds each have a handler (self.handlers: {kind: handler}) that does the work:
    list(name), check_create/create(name, desired), check_update/update(record, changes),
    check_delete/delete(record), and optionally create_many and delete_many; the server handler
    also check_action(record, action) and action(record, action)."""

    handlers = {}

    def handler(self, kind):
        if kind not in self.handlers:
            raise self.unsupported('%s objects' % kind)
        return self.handlers[kind]

    def list(self, kind, name=None):
        return self.handler(kind).list(name)

    def check_create(self, kind, name, desired):
        return self.handler(kind).check_create(name, desired)

    def create(self, kind, name, desired):
        return self.handler(kind).create(name, desired)

    def create_many(self, kind, names, desired):
        handler = self.handler(kind)
        if hasattr(handler, 'create_many'):
            return handler.create_many(names, desired)
        return super().create_many(kind, names, desired)

    def check_update(self, kind, record, changes):
        return self.handler(kind).check_update(record, changes)

    def update(self, kind, record, changes):
        return self.handler(kind).update(record, changes)

    def check_delete(self, kind, record):
        return self.handler(kind).check_delete(record)

    def delete(self, kind, record):
        return self.handler(kind).delete(record)

    def delete_many(self, kind, records):
        handler = self.handler(kind)
        if hasattr(handler, 'delete_many'):
            return handler.delete_many(records)
        return super().delete_many(kind, records)

    def check_action(self, record, action):
        return self.handler('server').check_action(record, action)

    def server_action(self, record, action):
        return self.handler('server').action(record, action)

    def check_many(self, steps):
        """As the base, except that a step may name a server an earlier create step of the batch
        makes: its power action is checked on the preview, its floating IP against that server's
        planned networks (the server handler's check_batch gives previews and plans; the floating
        IP handler's check_create takes the plans)."""
        servers, results, planned = self.handler('server'), [], {}
        for op, kind, target, arg in steps:
            if op == 'create' and kind == 'server':
                previews, plans = servers.check_batch(target, arg)
                planned.update(plans)
                results.append(previews)
                continue
            if op == 'create':
                handler = self.handler(kind)
                if kind == 'floating_ip':
                    results.append([handler.check_create(name, arg, planned) for name in target])
                else:
                    results.append([handler.check_create(name, arg) for name in target])
                continue
            if op == 'action':
                servers.check_action(target if isinstance(target, dict) else {'name': target, 'status': 'ACTIVE'}, arg)
            elif isinstance(target, dict):
                if op == 'update':
                    self.check_update(kind, target, arg)
                else:
                    self.check_delete(kind, target)
            results.append(None)
        return results
