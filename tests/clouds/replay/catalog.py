"""Which of libcloud's own recorded responses answer which stock driver.

libcloud's wheel ships its test modules and their fixtures. Each test module has a MockHttp
class that maps a request path (and a scenario ``type``) to one recorded response; the replay
server calls those classes as they are. Nothing here writes a response of its own, except
the one amendment below, which serves another of libcloud's own fixtures.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys

import libcloud.test

# driver name -> the MockHttp classes that answer it, asked in this order.
MOCKS = {
    'gce': [('libcloud.test.common.test_google', 'GoogleAuthMockHttp'),
            ('libcloud.test.compute.test_gce', 'GCEMockHttp')],
    'azure_arm': [('libcloud.test.compute.test_azure_arm', 'AzureMockHttp')],
    'digitalocean': [('libcloud.test.compute.test_digitalocean_v2', 'DigitalOceanComputeMockHttp')],
    'linode': [('libcloud.test.compute.test_linode_v4', 'LinodeMockHttpV4')],
}


def _load_secrets():
    """libcloud's test modules import libcloud.test.secrets, which the wheel ships as secrets.py-dist."""
    name = 'libcloud.test.secrets'
    if name in sys.modules:
        return
    path = os.path.join(os.path.dirname(libcloud.test.__file__), 'secrets.py-dist')
    loader = importlib.machinery.SourceFileLoader(name, path)
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
    loader.exec_module(module)
    sys.modules[name] = module


def _digitalocean_amended(base):
    """DigitalOcean's create_node.json predates the v2 API (it holds an action, not a droplet), so
    libcloud's own test suite never creates a droplet. The v2 API answers POST /v2/droplets with
    202 and the droplet, which libcloud records in list_node.json; serve that one."""
    def create(self, method, url, body, headers):
        return 202, self.fixtures.load('list_node.json'), {}, 'Accepted'
    return type(base.__name__, (base,), {'_v2_droplets_CREATE': create})


AMENDMENTS = {'DigitalOceanComputeMockHttp': _digitalocean_amended}


def mock_classes(driver):
    """The MockHttp classes for ``driver``, imported from libcloud's own test modules."""
    if driver not in MOCKS:
        raise KeyError('no recorded responses for driver %r; known: %s' % (driver, ', '.join(sorted(MOCKS))))
    _load_secrets()
    classes = []
    for module_name, class_name in MOCKS[driver]:
        cls = getattr(importlib.import_module(module_name), class_name)
        classes.append(AMENDMENTS.get(class_name, lambda c: c)(cls))
    return classes


def reset_classes(classes):
    """The mock classes keep state at class level (scenario type, Azure's queued responses)."""
    for cls in classes:
        for klass in cls.__mro__:
            if 'type' in vars(klass):
                klass.type = None
            if isinstance(vars(klass).get('responses'), list):
                klass.responses = []
