# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface every provider family implements. Kinds: network, subnet, router,
security_group, keypair, server, floating_ip. Records are model.* instances."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

KINDS = ('network', 'subnet', 'router', 'security_group', 'keypair', 'server', 'floating_ip')
SERVER_ACTIONS = ('start', 'stop', 'reboot')


class Provider:
    family = None

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

    def images(self):
        raise self.unsupported('listing images')

    def sizes(self):
        raise self.unsupported('listing sizes')

    def describe(self):
        """cloud_info: what the cloud is and offers."""
        raise self.unsupported('describing the cloud')

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

    def server_action(self, record, action):
        raise self.unsupported('%s of a server' % action)
