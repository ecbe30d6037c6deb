# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a stock libcloud compute driver from a cloud's settings in the clouds file.

Credentials come from the file or, when it leaves them out, from the environment (which is
how AWX credential types inject them): AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for ec2,
CLOUDOPS_LIBCLOUD_KEY / CLOUDOPS_LIBCLOUD_SECRET for any driver.

Settings of a libcloud cloud:
  driver   the libcloud compute driver (ec2, gce, azure_arm, digitalocean, linode, ...)
  key, secret  the driver's first two credentials (gce: service account e-mail and key file;
           azure_arm: application id and password; digitalocean: the API token as key)
  region   passed to drivers that take one; the generic provider also creates servers in it
  extra    further keyword arguments of the driver's constructor (gce: project, datacenter,
           auth_type, credential_file; azure_arm: tenant_id, subscription_id), and under
           ``create_node`` keyword arguments every create_node call gets (azure_arm:
           ex_resource_group, ex_network, ex_use_managed_disks, auth: {ssh_key: ...})
  host, port, secure  a private endpoint: see endpoint_connection.
"""

from __future__ import annotations

import inspect
import os
import socket

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, redact

try:
    from libcloud.common.exceptions import RateLimitReachedError
    from libcloud.common.types import InvalidCredsError, LibcloudError
    from libcloud.compute.providers import get_driver
    from libcloud.compute.types import Provider as LibcloudDrivers
    HAS_LIBCLOUD = True
except ImportError:
    RateLimitReachedError = InvalidCredsError = LibcloudError = None
    HAS_LIBCLOUD = False

KEY_ENV = {'ec2': ('AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY')}
GENERIC_ENV = ('CLOUDOPS_LIBCLOUD_KEY', 'CLOUDOPS_LIBCLOUD_SECRET')
# Under settings.extra: keyword arguments of create_node, not of the constructor.
CREATE_OPTIONS = 'create_node'
# libcloud 3.x's DigitalOcean driver hands keyword arguments of its constructor to object.__new__,
# so it takes none: region and endpoint reach it by other ways.
NO_CONSTRUCTOR_KWARGS = {'digitalocean'}


def credentials(settings, environ=None):
    """(key, secret) from the settings, else from the environment; either may be None."""
    environ = os.environ if environ is None else environ
    names = KEY_ENV.get(settings.get('driver'), ()) + GENERIC_ENV
    key = settings.get('key') or next((environ[n] for n in names[::2] if environ.get(n)), None)
    secret = settings.get('secret') or next((environ[n] for n in names[1::2] if environ.get(n)), None)
    return key, secret


def driver_class(name):
    if not HAS_LIBCLOUD:
        raise CloudError('the libcloud provider needs the Python package apache-libcloud, which is '
                         'not installed where the module runs')
    if not isinstance(name, str) or not name:
        raise CloudError('driver: name a libcloud compute driver, e.g. ec2, gce, azure_arm, digitalocean')
    try:
        return get_driver(name.lower())
    except AttributeError:
        raise CloudError('driver: %r is not a libcloud compute driver' % name)
    except ImportError as exc:
        raise CloudError('driver: %r needs a Python package that is missing: %s' % (name, exc))


def create_options(settings):
    """Keyword arguments every create_node call of this cloud gets (settings.extra.create_node)."""
    options = (settings.get('extra') or {}).get(CREATE_OPTIONS) or {}
    if not isinstance(options, dict):
        raise CloudError('extra.%s: a mapping of create_node keyword arguments, got %r' % (CREATE_OPTIONS, options))
    return dict(options)


def build_driver(cloud, settings, timeout=180, environ=None):
    """The driver for ``settings`` (a clouds file entry with provider libcloud)."""
    name = settings.get('driver')
    cls = driver_class(name)
    key, secret = credentials(settings, environ)
    if not key:
        raise CloudError('cloud %r: key: no access key in the clouds file or the environment (%s)'
                         % (cloud, ', '.join(KEY_ENV.get(name, ())[:1] + GENERIC_ENV[:1])))
    kwargs = dict(settings.get('extra') or {})
    kwargs.pop(CREATE_OPTIONS, None)
    endpoint = None
    if name == LibcloudDrivers.EC2:
        kwargs.setdefault('region', settings.get('region') or 'us-east-1')
        kwargs.setdefault('signature_version', '4')
        for option in ('host', 'port', 'secure'):
            if settings.get(option) is not None:
                kwargs[option] = settings[option]
    else:
        if settings.get('region') and name not in NO_CONSTRUCTOR_KWARGS:
            kwargs.setdefault('region', settings['region'])
        if settings.get('host') or settings.get('port') is not None:
            endpoint = (settings.get('host') or '127.0.0.1', settings.get('port'), settings.get('secure', True))
    args, kwargs = credential_arguments(cls, key, secret, kwargs)
    try:
        driver = construct(cls, args, kwargs, endpoint)
    except TypeError as exc:
        raise CloudError('cloud %r: the %s driver does not take these settings: %s' % (cloud, name, exc))
    except Exception as exc:  # a driver may validate region or credentials, or sign in, as it is built
        raise failure(exc, 'connecting to cloud %r' % cloud, name, (key, secret))
    driver.connection.timeout = min(timeout, 60)
    return driver


def credential_arguments(cls, key, secret, kwargs):
    """(args, kwargs) for the constructor: key and secret by position, unless the settings name the
    constructor's leading parameters (azure_arm: tenant_id, subscription_id), then by keyword."""
    names = _positional(cls.__init__)
    if any(name in kwargs for name in names[:2]) and 'key' in names:
        kwargs = dict(kwargs, key=key)
        if secret is not None:
            kwargs['secret'] = secret
        return (), kwargs
    return ((key,) if secret is None else (key, secret)), kwargs


def _positional(func):
    try:
        params = list(inspect.signature(func).parameters.values())[1:]
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def construct(cls, args, kwargs, endpoint=None):
    """cls(*args, **kwargs); with an endpoint, the instance's connection class is swapped before
    __init__ connects (after __new__, which may pick a subclass, as DigitalOcean's does)."""
    if endpoint is None:
        return cls(*args, **kwargs)
    driver = cls.__new__(cls, *args, **kwargs)
    driver.connectionCls = endpoint_connection(type(driver).connectionCls, *endpoint)
    driver.__init__(*args, **kwargs)
    return driver


def endpoint_connection(base, host, port, secure=True):
    """A subclass of the libcloud connection class ``base`` that sends every request to one endpoint.

    host/port/secure in the clouds file name a private endpoint: an API gateway, a private link or
    a proxy that fronts the cloud's API under the same paths. Every request of the driver goes
    there over http(s), its sign-in too (Google's token connection takes the connection's
    host/port/secure; Azure's opens its own transport, which this class also points there).
    Paths, headers and parsing stay the driver's own.
    """
    target = (host, int(port) if port else (443 if secure else 80), bool(secure))

    class EndpointTransport(base.conn_class):
        def __init__(self, host, port, secure=None, **kwargs):  # pylint: disable=unused-argument
            super().__init__(target[0], target[1], secure=target[2], **kwargs)

    def __init__(self, *args, **kwargs):
        args, kwargs = _bind(base.__init__, args, kwargs, dict(zip(('host', 'port', 'secure'), target)))
        base.__init__(self, *args, **kwargs)
        self.host, self.port, self.secure = target[0], target[1], int(target[2])

    members = {'conn_class': EndpointTransport, '__init__': __init__, 'allow_insecure': True}
    return type(base.__name__, (base,), members)


def _bind(func, args, kwargs, values):
    """args/kwargs of ``func`` with ``values`` in place of the named parameters, wherever they go."""
    params = list(inspect.signature(func).parameters.values())[1:]
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    takes_kwargs = any(p.kind == p.VAR_KEYWORD for p in params)
    args, kwargs = list(args), dict(kwargs)
    for name, value in values.items():
        if name in names and names.index(name) < len(args):
            args[names.index(name)] = value
        elif name in names or takes_kwargs:
            kwargs[name] = value
    return tuple(args), kwargs


# ---------------------------------------------------------------------- what a driver's failure means
def http_status(exc):
    """The HTTP status a libcloud exception carries, or None."""
    for attr in ('http_code', 'code'):
        value = getattr(exc, attr, None)
        if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            return int(value)
    return None


def is_auth_failure(exc):
    if HAS_LIBCLOUD and isinstance(exc, InvalidCredsError):
        return True
    if type(exc).__name__ in ('GoogleAuthError',):
        return True
    return http_status(exc) in (401, 403)


def is_throttled(exc):
    return (HAS_LIBCLOUD and isinstance(exc, RateLimitReachedError)) or http_status(exc) == 429


def is_transient(exc):
    """Worth sending again: throttling, a 5xx, or the network failing on the way."""
    if is_throttled(exc):
        return True
    status = http_status(exc)
    if status is not None and 500 <= status <= 599:
        return True
    if isinstance(exc, (socket.timeout, TimeoutError, ConnectionError)):
        return True
    network_failures = ('ConnectionError', 'Timeout', 'ReadTimeout', 'ConnectTimeout', 'ChunkedEncodingError')
    return (type(exc).__module__ or '').startswith('requests') and type(exc).__name__ in network_failures


def is_not_found(exc):
    return http_status(exc) == 404 or type(exc).__name__ in ('ResourceNotFoundError',)


def failure_text(exc):
    """The first line of what the driver or the cloud said, without a traceback."""
    value = getattr(exc, 'value', None) if HAS_LIBCLOUD and isinstance(exc, LibcloudError) else None
    if value is None:
        value = getattr(exc, 'message', None) if isinstance(getattr(exc, 'message', None), str) else str(exc)
    if isinstance(value, dict):
        value = value.get('message') or value
    text = str(value).strip().splitlines()[0] if str(value).strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + '...'


def failure(exc, action, driver, secrets=()):
    """One CloudError line for a failed driver call: what, on which driver, and why; never a secret."""
    status = http_status(exc)
    if is_auth_failure(exc):
        message = ('%s failed: %s refused the credentials (%s): %s; check key and secret in the clouds file'
                   % (action, driver, 'HTTP %d' % status if status else 'authentication', failure_text(exc)))
        return CloudError(redact(message, secrets), http_status=status)
    if is_throttled(exc):
        message = '%s failed: %s kept throttling the requests (HTTP 429): %s' % (action, driver, failure_text(exc))
    elif status:
        message = '%s failed on %s (HTTP %d): %s' % (action, driver, status, failure_text(exc))
    else:
        message = '%s failed on %s: %s: %s' % (action, driver, type(exc).__name__, failure_text(exc))
    return CloudError(redact(message, secrets), http_status=status)
