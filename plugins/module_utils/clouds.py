# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Find, load and validate the clouds file, and resolve a cloud name to its settings."""

from __future__ import annotations

import os
import re

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.leases import parse_lease

try:
    import yaml
    HAS_YAML = True
except ImportError:  # pragma: no cover - ansible-core always ships PyYAML
    HAS_YAML = False

ENV_CLOUDS_FILE = 'CLOUDOPS_CLOUDS_FILE'
SEARCH_PATH = (
    './clouds.multicloud.yml',
    '~/.config/cloudops/clouds.yml',
    '/etc/cloudops/clouds.yml',
)
DEFAULT_CLOUD = 'local'
PROVIDERS = ('local', 'openstack', 'libcloud')
CLOUD_NAME = re.compile(r'^[a-z0-9][a-z0-9_-]{0,31}$')

# How the controller reaches a remote cloud's guests (the local lab is always reachable).
ACCESS_KEYS = {'data_plane', 'ssh_user', 'jump_host', 'ssh_from'}
# Every provider's: how long what the roles create there lives (leases.py).
COMMON_KEYS = {'provider', 'lease'}
# Keys each provider accepts; anything else is a typo worth naming.
PROVIDER_KEYS = {
    'local': {'state_dir', 'external_cidr'} | COMMON_KEYS,
    'openstack': {'cloud', 'clouds_yaml', 'auth', 'auth_type', 'region_name', 'interface', 'identity_api_version',
                  'verify', 'cacert', 'external_network', 'image', 'size'} | ACCESS_KEYS | COMMON_KEYS,
    'libcloud': {'driver', 'region', 'key', 'secret', 'host', 'port', 'secure', 'extra', 'image',
                 'size'} | ACCESS_KEYS | COMMON_KEYS,
}


def find_clouds_file(option=None, environ=None):
    """Return the clouds file to use, or None when there is none (only `local` exists then)."""
    environ = os.environ if environ is None else environ
    if option:
        path = os.path.expanduser(option)
        if not os.path.isfile(path):
            raise CloudError('clouds_file: %s does not exist' % path)
        return path
    if environ.get(ENV_CLOUDS_FILE):
        path = os.path.expanduser(environ[ENV_CLOUDS_FILE])
        if not os.path.isfile(path):
            raise CloudError('%s: %s does not exist' % (ENV_CLOUDS_FILE, path))
        return path
    for candidate in SEARCH_PATH:
        path = os.path.expanduser(candidate)
        if os.path.isfile(path):
            return os.path.abspath(path)
    return None


def parse_clouds(text, path):
    """Validate the text of a clouds file; return {name: settings}. Errors name the file and key."""
    if not HAS_YAML:
        raise CloudError('reading %s needs PyYAML, which is missing' % path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = ' line %d' % (mark.line + 1) if mark else ''
        raise CloudError('clouds file %s:%s is not valid YAML' % (path, where))
    if data is None:
        data = {'clouds': {}}
    if not isinstance(data, dict) or not isinstance(data.get('clouds', {}), dict):
        raise CloudError('clouds file %s: top-level key "clouds" must be a mapping of cloud names'
                         % path)
    unknown = set(data) - {'clouds'}
    if unknown:
        raise CloudError('clouds file %s: unknown top-level key %s' % (path, sorted(unknown)[0]))
    clouds = {}
    for name, settings in (data.get('clouds') or {}).items():
        key = 'clouds.%s' % name
        if not isinstance(name, str) or not CLOUD_NAME.match(name):
            raise CloudError('clouds file %s: %s: a cloud name is 1-32 characters of a-z, 0-9, '
                             '"-" and "_", starting with a letter or digit' % (path, key))
        if not isinstance(settings, dict):
            raise CloudError('clouds file %s: %s must be a mapping' % (path, key))
        provider = settings.get('provider')
        if provider not in PROVIDERS:
            raise CloudError('clouds file %s: %s.provider must be one of %s, got %r'
                             % (path, key, ', '.join(PROVIDERS), provider))
        extra = set(settings) - PROVIDER_KEYS[provider]
        if extra:
            raise CloudError('clouds file %s: %s.%s is not a setting of the %s provider'
                             % (path, key, sorted(extra)[0], provider))
        if 'data_plane' in settings and not isinstance(settings['data_plane'], bool):
            raise CloudError('clouds file %s: %s.data_plane must be true or false, got %r'
                             % (path, key, settings['data_plane']))
        if 'lease' in settings:
            parse_lease(settings['lease'], 'clouds file %s: %s.lease' % (path, key))
        clouds[name] = dict(settings)
    return clouds


def defined_clouds(path):
    """The clouds a clouds file defines; with no file (None), only the implicit `local` cloud."""
    if not path:
        return {DEFAULT_CLOUD: {'provider': 'local'}}
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError as exc:
        raise CloudError('clouds file %s cannot be read: %s' % (path, exc.strerror))
    return parse_clouds(text, path)


def with_local(clouds):
    """``clouds`` and the implicit `local` cloud, which exists whether a file defines it or not."""
    clouds = dict(clouds)
    clouds.setdefault(DEFAULT_CLOUD, {'provider': 'local'})
    return clouds


def load_clouds(path):
    """Read a clouds file (None: no file) and add the implicit `local` cloud."""
    return with_local(defined_clouds(path))


def resolve_cloud(name, clouds_file=None, environ=None):
    """Return (name, settings) for a cloud, with a clear error for an unknown name."""
    path = find_clouds_file(clouds_file, environ)
    clouds = load_clouds(path)
    name = name or DEFAULT_CLOUD
    if name not in clouds:
        where = path or 'any clouds file (none was found)'
        raise CloudError('cloud: %r is not defined in %s; known clouds: %s'
                         % (name, where, ', '.join(sorted(clouds))))
    return name, clouds[name]
