"""Faults and bad input on OpenStack: each gets one clear line, changes nothing (or says what it
made), and never shows a password."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from fault_proxy import FaultProxy
from openstack_helpers import clouds_file_with

pytestmark = pytest.mark.usefixtures('os_clean')


@pytest.fixture
def app_network(run):
    run('network', name='app')
    run('subnet', name='app-s', network='app', cidr='10.9.0.0/24')


@pytest.mark.parametrize('args, message', [
    ({'image': 'no-such-image'}, "image: 'no-such-image' is not an active image of cloud openstack-local"),
    ({'size': 'm9.huge'}, "size: 'm9.huge' is not a flavor of cloud openstack-local; flavors: "),
    ({'networks': ['nowhere']}, "networks[0].name: network 'nowhere' does not exist on cloud openstack-local"),
    ({'networks': ['public']}, "networks[0].name: 'public' is an external network"),
    ({'security_groups': ['nope']}, "security_groups[0]: security group 'nope' does not exist"),
    ({'key_name': 'nokey'}, "key_name: key pair 'nokey' does not exist on cloud openstack-local"),
    ({'networks': [{'name': 'app', 'fixed_ip': '10.10.0.5'}]}, 'networks[0].fixed_ip: 10.10.0.5 is outside 10.9.0.0/24'),
])
def test_unknown_references_change_nothing(run, osc, app_network, args, message):
    request = dict({'name': 'bad', 'image': 'cirros-tiny', 'size': 'm1.tiny', 'networks': ['app']}, **args)
    for check in (True, False):
        failed = run('server', check=check, **request)
        assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
        assert '\n' not in failed['msg'] and 'Traceback' not in json.dumps(failed)
    assert osc('server', 'list') == [] and osc('port', 'list', '--network', 'app', '--device-owner', 'compute:nova') == []


@pytest.fixture
def low_quota(osc):
    osc('quota', 'set', '--instances', '2', 'demo', admin=True, parse=False)
    yield
    osc('quota', 'set', '--instances', '100', 'demo', admin=True, parse=False)


def test_quota_exceeded_is_refused_before_anything_is_made(run, osc, app_network, low_quota):
    for check in (True, False):
        failed = run('server', name='many', count=3, networks=['app'], check=check)
        assert failed['failed'] and failed['msg'].startswith(
            'quota exceeded on cloud openstack-local: the project uses 0 of 2 servers and 3 more servers'), failed['msg']
    assert osc('server', 'list') == []


@pytest.fixture
def nowhere_flavor(osc):
    """A flavor no compute host can satisfy: nova's scheduler finds no host and the server goes to ERROR."""
    osc('flavor', 'create', '--ram', '64', '--disk', '1', '--vcpus', '1', '--property',
        'trait:CUSTOM_CLOUDOPS_NOWHERE=required', 'm1.nowhere', admin=True)
    yield 'm1.nowhere'
    osc('flavor', 'delete', 'm1.nowhere', admin=True, parse=False)


def test_a_server_that_goes_to_error_is_reported_and_deletable(run, osc, app_network, nowhere_flavor):
    failed = run('server', name='doomed', networks=['app'], size=nowhere_flavor, labels={'run-id': 't-err'})
    assert failed['failed'] and failed['msg'].startswith('creating servers: doomed went to ERROR: No valid host'), failed['msg']
    assert [s['name'] for s in failed['servers']] == ['doomed'] and failed['servers'][0]['status'] == 'ERROR'
    assert osc('server', 'show', 'doomed')['status'] == 'ERROR'
    assert run('server', name='doomed', state='absent', labels={'run-id': 't-err'})['changed']
    assert osc('server', 'list') == []


def neutron_url(osc):
    endpoints = osc('endpoint', 'list', '--service', 'network', '--interface', 'public', admin=True)
    parts = urllib.parse.urlsplit(endpoints[0]['URL'])
    return '%s://%s' % (parts.scheme, parts.netloc)


def posts_to_networks(method, path):
    return method == 'POST' and path.rstrip('/').endswith('/networks')


def test_a_503_once_is_retried(run, osc, tmp_path, clouds_yaml):
    with FaultProxy(neutron_url(osc), posts_to_networks, times=1) as proxy:
        clouds_file = clouds_file_with(tmp_path, clouds_yaml, lambda entry: None,
                                       {'network_endpoint_override': proxy.url + '/'})
        created = run('network', name='flaky', clouds_file=clouds_file)
        assert proxy.faults == 1
    assert created['changed'] and created['network']['name'] == 'flaky', created.get('msg')
    assert len(osc('network', 'list', '--name', 'flaky')) == 1


def test_a_503_that_persists_fails_clearly_after_the_retry_budget(run, osc, tmp_path, clouds_yaml):
    with FaultProxy(neutron_url(osc), posts_to_networks) as proxy:
        clouds_file = clouds_file_with(tmp_path, clouds_yaml, lambda entry: None,
                                       {'network_endpoint_override': proxy.url + '/'})
        failed = run('network', name='down', clouds_file=clouds_file, api_retries=2)
        assert proxy.faults == 3
    assert failed['failed'] and failed['msg'] == \
        "creating network 'down' failed after 3 attempts: HTTP 503: injected fault", failed['msg']
    assert osc('network', 'list', '--name', 'down') == []


def test_a_wrong_password_is_an_auth_error_that_never_shows_the_password(run, tmp_path, clouds_yaml):
    wrong = 'not-the-password-4711'

    def break_password(entry):
        entry['auth']['password'] = wrong
    clouds_file = clouds_file_with(tmp_path, clouds_yaml, break_password)
    for module, args in (('network', {'name': 'x'}), ('server_info', {}), ('cloud_info', {})):
        failed = run(module, clouds_file=clouds_file, **args)
        assert failed['failed'] and failed['msg'] == (
            "cloud: 'openstack-local' refused the credentials (HTTP 401): check the user name, password and "
            "project of this cloud"), failed['msg']
        assert wrong not in json.dumps(failed)
