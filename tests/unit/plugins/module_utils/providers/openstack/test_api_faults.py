"""Which openstacksdk faults are retried, and the one line each becomes."""

from __future__ import annotations

import keystoneauth1.exceptions as ksa_exc
import openstack.exceptions as sdk_exc
import pytest
import requests

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import InUse, NotFound
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.openstack.api import (
    OpenStackApi, QuotaExceeded, credentials,
)


@pytest.fixture
def api():
    """The call and error logic without a connection behind it."""
    made = OpenStackApi.__new__(OpenStackApi)
    made.cloud, made.retries, made.timeout, made.secrets = 'osp', 2, 30, ['hunter22']
    return made


def http(status, details):
    """The exception openstacksdk raises for an error answer of ``status``."""
    response = requests.Response()
    response.status_code = status
    response.url = 'http://127.0.0.1:9696/v2.0/networks'
    return sdk_exc.HttpException(message='Client Error', response=response, details=details)


@pytest.mark.parametrize('exc, creates, retried', [
    (http(503, 'busy'), True, True),
    (http(429, 'slow down'), False, True),
    (http(500, 'bug'), False, False),
    (http(409, 'conflict'), False, False),
    (ksa_exc.ConnectFailure('refused'), True, True),
    (ksa_exc.ConnectTimeout('late'), False, True),
    (ksa_exc.ConnectTimeout('late'), True, False),
])
def test_only_what_is_safe_to_send_again_is_retried(api, exc, creates, retried):
    assert (api.fault('x', exc, creates) is not None) is retried


def test_transient_faults_are_retried_up_to_the_budget(api, monkeypatch):
    monkeypatch.setattr('time.sleep', lambda seconds: None)
    answers = [http(503, 'busy'), 'made']

    def flaky():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    assert api.call('creating network', flaky, creates=True) == 'made'

    def down():
        raise http(503, 'busy')
    with pytest.raises(Exception) as info:
        api.call('creating network', down)
    assert str(info.value) == 'creating network failed after 3 attempts: HTTP 503: busy'


@pytest.mark.parametrize('exc, kind, message', [
    (http(404, 'Network abc could not be found.'), NotFound, 'reading x failed: HTTP 404: Network abc could not be found.'),
    (http(409, 'Unable to complete operation on network abc. There are one or more ports still in use on the network.'),
     InUse, 'reading x failed: HTTP 409: Unable to complete operation'),
    (http(403, 'Quota exceeded for instances: Requested 1, but already used 2 of 2 instances'), QuotaExceeded,
     'reading x failed: HTTP 403: Quota exceeded for instances'),
    (http(401, 'The request you have made requires authentication.'), Exception,
     "cloud: 'osp' refused the credentials (HTTP 401)"),
    (ksa_exc.Unauthorized('password hunter22 refused'), Exception, "cloud: 'osp' refused the credentials (HTTP 401)"),
    (http(400, 'bad value hunter22\nsecond line'), Exception, 'reading x failed: HTTP 400: bad value ********'),
])
def test_faults_become_one_line_without_secrets(api, exc, kind, message):
    error = api.error('reading x', exc, 0)
    assert isinstance(error, kind) and str(error).startswith(message) and 'hunter22' not in str(error)
    assert '\n' not in str(error)


def test_credentials_come_from_auth_clouds_yaml_and_environment(tmp_path):
    clouds_yaml = tmp_path / 'clouds.yaml'
    clouds_yaml.write_text('clouds:\n  osp: {auth: {username: u, password: from-yaml}}\n')
    settings = {'provider': 'openstack', 'cloud': 'osp', 'clouds_yaml': str(clouds_yaml)}
    assert credentials(settings, {'OS_PASSWORD': 'from-env', 'OS_USERNAME': 'u'}) == ['from-yaml', 'from-env']
    assert credentials({'provider': 'openstack', 'auth': {'password': 'inline', 'username': 'u'}}, {}) == ['inline']
