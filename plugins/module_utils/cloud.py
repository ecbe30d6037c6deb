# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a cloud name into a connected provider."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.clouds import resolve_cloud
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


def connect(cloud=None, clouds_file=None, timeout=180, wait=True, api_retries=3, commands=None):
    name, settings = resolve_cloud(cloud, clouds_file)
    return provider_for(name, settings, timeout=timeout, wait=wait, api_retries=api_retries, commands=commands)


def provider_for(name, settings, timeout=180, wait=True, api_retries=3, commands=None):
    """The provider of a cloud whose settings are already loaded from the clouds file.

    ``commands`` (processes.Commands) runs the programs of providers that use any (the local lab).
    """
    family = settings['provider']
    if family == 'local':
        from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.provider import LocalProvider
        return LocalProvider(name, settings, commands, timeout=timeout, wait=wait, api_retries=api_retries)
    if family == 'libcloud':
        if settings.get('driver') == 'ec2':
            from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.ec2 import Ec2Provider
            return Ec2Provider(name, settings, timeout=timeout, wait=wait, api_retries=api_retries)
        from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.provider import LibcloudProvider
        return LibcloudProvider(name, settings, timeout=timeout, wait=wait, api_retries=api_retries)
    if family == 'openstack':
        from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.provider import OpenStackProvider
        return OpenStackProvider(name, settings, timeout=timeout, wait=wait, api_retries=api_retries)
    raise CloudError('cloud: %r uses the %s provider, which this release of the collection does '
                     'not include yet' % (name, family))


def credentials_in_use(settings, environ=None):
    """The credential values a cloud's provider would sign in with, settings or environment."""
    if settings.get('provider') == 'libcloud':
        from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.libcloud.driver import credentials
        return [value for value in credentials(settings, environ) if value]
    if settings.get('provider') == 'openstack':
        from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.api import credentials
        return credentials(settings, environ)
    return []
