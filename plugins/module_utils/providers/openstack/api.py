# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One openstacksdk connection per cloud, and one way to call it.

Every call goes through OpenStackApi.call: transient faults (HTTP 429, 502, 503, 504 and a
refused connection) are retried with backoff, a request that may have reached the service
(a read timeout of a create) is not, and every other fault becomes one CloudError line with
the cloud's secrets masked.
"""

from __future__ import annotations

import os
import random
import time

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, InUse, NotFound, redact

try:
    import yaml
except ImportError:  # pragma: no cover - ansible-core always ships PyYAML
    yaml = None

try:
    import keystoneauth1.exceptions as ksa_exc
    import openstack.config
    import openstack.connection
    import openstack.exceptions as sdk_exc
    HAS_OPENSTACKSDK = True
except ImportError:
    HAS_OPENSTACKSDK = False

# Answers that say "not now" rather than "no": sending the same request again is safe.
TRANSIENT_STATUS = {429, 502, 503, 504}
SECRET_AUTH_KEYS = ('password', 'token', 'application_credential_secret', 'secret')


class QuotaExceeded(CloudError):
    """The project's quota does not leave room for what was asked."""


ENV_SECRETS = ('OS_PASSWORD', 'OS_TOKEN', 'OS_APPLICATION_CREDENTIAL_SECRET')


def auth_secrets(auth):
    return [str(value) for key, value in (auth or {}).items() if key in SECRET_AUTH_KEYS and value]


def credentials(settings, environ=None):
    """The secrets a cloud signs in with: inline auth, its clouds.yaml entry, or the OS_* environment."""
    environ = os.environ if environ is None else environ
    found = auth_secrets(settings.get('auth'))
    path = settings.get('clouds_yaml')
    if yaml and path and settings.get('cloud') and os.path.isfile(os.path.expanduser(path)):
        try:
            with open(os.path.expanduser(path)) as handle:
                entry = ((yaml.safe_load(handle) or {}).get('clouds') or {}).get(settings['cloud']) or {}
            found += auth_secrets(entry.get('auth'))
        except (OSError, yaml.YAMLError, AttributeError):
            pass
    return found + [environ[key] for key in ENV_SECRETS if environ.get(key)]


def cloud_region(cloud, settings, timeout):
    """The openstacksdk CloudRegion of a cloud of the clouds file, from clouds.yaml or inline auth."""
    if not HAS_OPENSTACKSDK:
        raise CloudError('cloud: %r uses the openstack provider, which needs the Python library '
                         'openstacksdk: pip install openstacksdk' % cloud)
    options = {key: settings[key] for key in ('region_name', 'interface', 'identity_api_version', 'verify',
                                              'cacert', 'auth_type') if settings.get(key) is not None}
    options.update(api_timeout=timeout, connect_retries=0, status_code_retries=0)
    files = []
    if settings.get('clouds_yaml'):
        path = os.path.expanduser(settings['clouds_yaml'])
        if not os.path.isfile(path):
            raise CloudError('cloud: %r: clouds_yaml %s does not exist' % (cloud, path))
        files = [path]
    try:
        if settings.get('auth'):
            config = openstack.config.OpenStackConfig(load_yaml_config=False, load_envvars=False)
            return config.get_one(auth=dict(settings['auth']), **options)
        config = openstack.config.OpenStackConfig(config_files=files or None, load_envvars=True)
        return config.get_one(cloud=settings.get('cloud'), **options)
    except sdk_exc.SDKException as exc:
        raise CloudError('cloud: %r: its openstack settings cannot be used: %s'
                         % (cloud, redact(str(exc), auth_secrets(settings.get('auth')))))


class OpenStackApi:
    def __init__(self, cloud, settings, timeout=180, retries=3):
        self.cloud = cloud
        self.retries = max(0, retries)
        self.timeout = timeout
        region = cloud_region(cloud, settings, timeout)
        self.secrets = auth_secrets(region.config.get('auth')) + auth_secrets(settings.get('auth'))
        self.region = region.get_region_name()
        self.conn = openstack.connection.Connection(config=region)
        self.proxies = {}

    def proxy(self, service):
        """conn.network, conn.compute, conn.image: making one signs in and reads the catalog, so it can fail."""
        if service not in self.proxies:
            self.proxies[service] = self.call('connecting to the %s service of cloud %r' % (service, self.cloud),
                                              getattr, self.conn, service)
        return self.proxies[service]

    def call(self, what, function, *args, creates=False, **kwargs):
        """function(*args, **kwargs), its generator read to a list; retried where sending again is safe.

        ``creates``: the request makes an object, so a timeout (it may have been made) is not retried.
        """
        attempt, delay = 0, 0.5
        while True:
            try:
                result = function(*args, **kwargs)
                if hasattr(result, '__next__'):
                    result = list(result)
                return result
            except Exception as exc:  # pylint: disable=broad-except
                fault = self.fault(what, exc, creates)
                if fault is None or attempt >= self.retries:
                    raise self.error(what, exc, attempt)
                attempt += 1
                time.sleep(delay * (1 + random.random() / 2))
                delay = min(delay * 2, 8)

    def fault(self, what, exc, creates):
        """'transient' when sending the request again is safe, else None."""
        if not HAS_OPENSTACKSDK:
            return None
        if isinstance(exc, sdk_exc.HttpException) and exc.status_code in TRANSIENT_STATUS:
            return 'transient'
        if isinstance(exc, ksa_exc.http.HttpError) and exc.http_status in TRANSIENT_STATUS:
            return 'transient'
        if isinstance(exc, ksa_exc.ConnectFailure):
            return 'transient'  # nothing was sent
        if isinstance(exc, ksa_exc.ConnectTimeout) and not creates:
            return 'transient'
        return None

    def error(self, what, exc, attempts):
        """The one line a person reads for a failed call, secrets masked."""
        tries = ' after %d attempts' % (attempts + 1) if attempts else ''
        if isinstance(exc, CloudError):
            return exc
        if isinstance(exc, (ksa_exc.Unauthorized, ksa_exc.AuthorizationFailure)) or \
                isinstance(exc, sdk_exc.HttpException) and exc.status_code == 401:
            return CloudError('cloud: %r refused the credentials (HTTP 401): check the user name, password '
                              'and project of this cloud' % self.cloud)
        if isinstance(exc, sdk_exc.HttpException):
            return self._http_error(what, exc, tries)
        if isinstance(exc, ksa_exc.http.HttpError):
            return CloudError(self._clean('%s failed%s: HTTP %s: %s' % (what, tries, exc.http_status, exc.message)))
        if isinstance(exc, ksa_exc.ConnectTimeout):
            return CloudError('%s failed%s: cloud %r did not answer within %ss' % (what, tries, self.cloud, self.timeout))
        if isinstance(exc, ksa_exc.ConnectFailure):
            return CloudError('%s failed%s: cloud %r cannot be reached: %s'
                              % (what, tries, self.cloud, self._clean(_first_line(exc))))
        if isinstance(exc, (ksa_exc.ClientException, sdk_exc.SDKException)):
            return CloudError(self._clean('%s failed%s: %s' % (what, tries, _first_line(exc))))
        raise exc

    def _http_error(self, what, exc, tries):
        detail = _first_line(exc.details or exc.message or '') or 'no details'
        message = self._clean('%s failed%s: HTTP %s: %s' % (what, tries, exc.status_code, detail))
        lowered = detail.lower()
        if 'quota' in lowered and ('exceed' in lowered or 'over' in lowered):
            return QuotaExceeded(message)
        if exc.status_code == 404:
            return NotFound(message)
        if exc.status_code == 409 and 'in use' in lowered:
            return InUse(message)
        return CloudError(message)

    def _clean(self, text):
        return redact(text, self.secrets)


def _first_line(value):
    text = str(value).strip()
    return text.splitlines()[0] if text else ''
