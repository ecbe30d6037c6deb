# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""EC2's Query API over libcloud's signed EC2 connection, read the same from AWS and moto.

libcloud's EC2 driver signs and sends requests well, but reads answers by one exact XML
namespace, numbers tag parameters from 0 and never follows NextToken. These calls read every
answer without namespaces, number list parameters from 1 (which AWS and moto both accept),
follow every page, and turn EC2 error codes into one CloudError line, retried where that is safe.
"""

from __future__ import annotations

import random
import socket
import time
import xml.etree.ElementTree as ET

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, NotFound

try:
    from libcloud.common.aws import SignedAWSConnection
    from libcloud.common.base import Response
except ImportError:  # driver.build_driver says what is missing before any of this is used
    SignedAWSConnection = Response = object

API_VERSION = '2016-11-15'
# Codes AWS documents as transient: the same request may succeed when sent again.
RETRIABLE_CODES = {'RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'InternalError',
                   'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'InsufficientInstanceCapacity'}
AUTH_CODES = {'AuthFailure', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'UnrecognizedClientException',
              'OptInRequired', 'Blocked'}


class Ec2Fault(Exception):
    """An error answer as read off the wire, before the action is known."""

    def __init__(self, code, message, status):
        super().__init__(code, message, status)
        self.code, self.message, self.status = code, message, status


class Ec2ApiError(CloudError):
    """An error answer of the EC2 API: ``code`` is EC2's own error code."""

    def __init__(self, action, code, message, status):
        super().__init__('%s failed: %s: %s' % (action, code, message), code=code)
        self.code = code
        self.status = status


class Ec2NotFound(Ec2ApiError, NotFound):
    """The object a request names does not exist."""


def strip_namespaces(element):
    """Drop the XML namespace from every tag, so AWS's and moto's answers read alike."""
    for node in element.iter():
        if isinstance(node.tag, str) and '}' in node.tag:
            node.tag = node.tag.split('}', 1)[1]
    return element


class Ec2QueryResponse(Response):
    def success(self):
        return 200 <= int(self.status) < 300

    def parse_body(self):
        if not self.body:
            return None
        try:
            return strip_namespaces(ET.fromstring(self.body))
        except ET.ParseError:
            raise CloudError('EC2 answered HTTP %s with a body that is not XML' % self.status)

    def parse_error(self):
        status = int(self.status)
        try:
            error = strip_namespaces(ET.fromstring(self.body)).find('.//Error')
        except (ET.ParseError, TypeError):
            error = None
        if error is None:
            raise Ec2Fault('HTTP%d' % status, (self.body or '').strip()[:200] or 'no message', status)
        raise Ec2Fault(error.findtext('Code') or 'HTTP%d' % status, error.findtext('Message') or '', status)


class Ec2QueryConnection(SignedAWSConnection):
    """libcloud's SigV4 connection with an answer that is read as above."""
    version = API_VERSION
    service_name = 'ec2'
    responseCls = Ec2QueryResponse


def list_params(prefix, values):
    """{'Prefix.1': v1, 'Prefix.2': v2, ...}: EC2 numbers list members from 1."""
    return {'%s.%d' % (prefix, index): value for index, value in enumerate(values, 1)}


def filter_params(filters):
    """{'Filter.1.Name': name, 'Filter.1.Value.1': value, ...} from {name: value or [values]}."""
    params = {}
    for index, (name, values) in enumerate(sorted(filters.items()), 1):
        params['Filter.%d.Name' % index] = name
        values = values if isinstance(values, (list, tuple)) else [values]
        params.update(list_params('Filter.%d.Value' % index, values))
    return params


def tag_params(labels, prefix='Tag'):
    params = {}
    for index, (key, value) in enumerate(sorted(labels.items()), 1):
        params['%s.%d.Key' % (prefix, index)] = key
        params['%s.%d.Value' % (prefix, index)] = '' if value is None else str(value)
    return params


def tag_specification(resource_type, labels, index=1):
    """TagSpecification parameters that tag a resource as it is created."""
    params = {'TagSpecification.%d.ResourceType' % index: resource_type}
    params.update(tag_params(labels, 'TagSpecification.%d.Tag' % index))
    return params if labels else {}


def tags_of(element):
    """The tagSet of an item as a dict."""
    return {item.findtext('key'): item.findtext('value') or '' for item in element.findall('tagSet/item')}


def text(element, path, default=None):
    value = element.findtext(path)
    return default if value is None else value


class Ec2Api:
    """One region of EC2. ``driver`` is libcloud's EC2NodeDriver; its key, secret, host and
    region are reused, its transport too."""

    def __init__(self, driver, retries=3, timeout=180, backoff=0.5):
        self.driver = driver
        self.retries = max(0, retries)
        self.timeout = timeout
        self.backoff = backoff
        conn = driver.connection
        self.connection = Ec2QueryConnection(
            driver.key, driver.secret, secure=conn.secure, host=conn.host, port=conn.port,
            timeout=min(timeout, 60), signature_version='4')
        self.connection.driver = driver
        self.connection.region_name = driver.region_name if hasattr(driver, 'region_name') else conn.region_name
        self.calls = 0

    def call(self, action, params=None, retry=True):
        """One request; answers the namespace-free root element. Transient faults (throttling,
        5xx, timeouts) are retried with exponential backoff and jitter when ``retry``."""
        request = {'Action': action, 'Version': API_VERSION}
        request.update({key: str(value) for key, value in (params or {}).items() if value is not None})
        attempt = 0
        deadline = time.monotonic() + self.timeout
        while True:
            attempt += 1
            try:
                self.calls += 1
                return self.connection.request('/', params=request, method='POST').object
            except Exception as exc:  # libcloud wraps every transport fault differently
                error = self._error(action, exc)
                transient = error.code in RETRIABLE_CODES or (error.status or 0) >= 500 or error.code == 'Timeout'
                if not (retry and transient) or attempt > self.retries or time.monotonic() > deadline:
                    if transient and attempt > 1:
                        error.message += ' (after %d attempts)' % attempt
                    raise error
                time.sleep(min(self.backoff * 2 ** (attempt - 1), 10) * (0.5 + random.random() / 2))

    def _error(self, action, exc):
        if isinstance(exc, Ec2ApiError):
            return exc
        status = None
        if isinstance(exc, Ec2Fault):
            code, message, status = exc.code, exc.message, exc.status
        elif isinstance(exc, CloudError):
            code, message = 'Invalid', str(exc)
        elif isinstance(exc, (socket.timeout, TimeoutError)) or 'timed out' in str(exc).lower():
            code, message = 'Timeout', 'no answer within the time allowed'
        elif isinstance(exc, (ConnectionError, OSError)):
            reason = 'connection refused' if 'refused' in str(exc).lower() else type(exc).__name__
            code, message = 'ConnectionFailed', 'cannot reach %s:%s (%s)' % (
                self.connection.host, self.connection.port, reason)
        else:
            code, message = type(exc).__name__, str(exc).splitlines()[0] if str(exc) else ''
        if code in AUTH_CODES:
            return Ec2ApiError(action, code, 'the access key or secret was refused (%s)' % message.split('.')[0],
                               status)
        error_class = Ec2NotFound if code.endswith('NotFound') else Ec2ApiError
        return error_class(action, code, message, status)

    def describe(self, action, item_path, params=None):
        """Every item of a Describe* answer, following NextToken to the last page."""
        params = dict(params or {})
        items = []
        while True:
            root = self.call(action, params)
            items.extend(root.findall(item_path))
            token = root.findtext('nextToken')
            if not token:
                return items
            params['NextToken'] = token

    def tag(self, resource_ids, labels):
        if labels and resource_ids:
            params = list_params('ResourceId', resource_ids)
            params.update(tag_params(labels))
            self.call('CreateTags', params)

    def untag(self, resource_ids, keys):
        if keys and resource_ids:
            params = list_params('ResourceId', resource_ids)
            params.update({'Tag.%d.Key' % index: key for index, key in enumerate(sorted(keys), 1)})
            self.call('DeleteTags', params)
