"""The inventory's selection, host records, host names and groups, as pure functions."""

from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.inventory_hosts import (
    address_for, cache_keys, check_filters, connection_vars, default_groups, failure_line, fingerprint, host_names,
    host_record, secrets_of, select_clouds, server_matches,
)

KNOWN = {'lab': {'provider': 'local'}, 'aws': {'provider': 'libcloud', 'driver': 'ec2'}}
EVERY = {'states': None, 'labels': {}, 'names': []}


def server(**fields):
    base = {'id': 'i-1', 'name': 'web-1', 'status': 'ACTIVE', 'image': 'img', 'size': 'small',
            'addresses': {'front': ['10.0.0.2']}, 'private_ip': '10.0.0.2', 'public_ip': None,
            'security_groups': ['web'], 'labels': {'tier': 'web'}, 'created': '2026-01-01T00:00:00Z',
            'connection': {}}
    base.update(fields)
    return base


def test_every_defined_cloud_by_default():
    assert select_clouds(None, None, KNOWN, 'c.yml') == [('aws', EVERY), ('lab', EVERY)]
    assert select_clouds(None, None, dict(KNOWN, local={}), 'c.yml', every=['aws']) == [('aws', EVERY)]
    assert select_clouds(['local'], None, dict(KNOWN, local={}), 'c.yml', every=['aws']) == [('local', EVERY)]


def test_entries_keep_their_order_and_own_filters_replace_the_common_ones():
    selected = select_clouds(['lab', {'name': 'aws', 'states': ['active']}], {'names': ['web-*']}, KNOWN, 'c.yml')
    assert selected == [('lab', {'states': None, 'labels': {}, 'names': ['web-*']}),
                        ('aws', {'states': {'ACTIVE'}, 'labels': {}, 'names': []})]


@pytest.mark.parametrize('entries, filters, message', [
    (['gce'], None, r"^clouds\[0\]: 'gce' is not defined in c.yml; known clouds: aws, lab$"),
    (['lab', 'lab'], None, r"^clouds\[1\]: 'lab' is listed twice$"),
    ([{'states': ['ACTIVE']}], None, r'^clouds\[0\] must be a cloud name or a mapping with a name$'),
    ('lab', None, r'^clouds must be a list'),
    ([{'name': 'lab', 'state': ['ACTIVE']}], None, r'^clouds\[0\]\.state is not a filter; filters are states, labels, names$'),
    (None, {'labels': {'run-id': 1}}, r'^filters\.labels must be a mapping of label names to string values$'),
    (None, {'states': 'ACTIVE'}, r'^filters\.states must be a list of server states'),
    (None, {'names': ['']}, r'^filters\.names must be a list of name patterns'),
    (None, ['x'], r'^filters must be a mapping'),
])
def test_bad_selection_names_the_field(entries, filters, message):
    with pytest.raises(CloudError, match=message):
        select_clouds(entries, filters, KNOWN, 'c.yml')


def test_filters_match_state_labels_and_name_patterns():
    web = server()
    assert server_matches(web, EVERY)
    assert server_matches(web, check_filters({'states': ['active', 'SHUTOFF']}, 'f'))
    assert not server_matches(web, check_filters({'states': ['SHUTOFF']}, 'f'))
    assert server_matches(web, check_filters({'labels': {'tier': 'web'}}, 'f'))
    assert not server_matches(web, check_filters({'labels': {'tier': 'web', 'run-id': 'x'}}, 'f'))
    assert server_matches(web, check_filters({'names': ['db-*', 'web-?']}, 'f'))
    assert not server_matches(web, check_filters({'names': ['Web-*']}, 'f')), 'patterns are case-sensitive'


def test_host_record_has_one_shape():
    record = host_record(server(public_ip='198.51.100.7', addresses={'front': ['10.0.0.2'], 'back': [None]}),
                         'aws', 'libcloud', 'us-east-1')
    assert record == {
        'id': 'i-1', 'name': 'web-1', 'cloud': 'aws', 'provider': 'libcloud', 'region': 'us-east-1',
        'state': 'ACTIVE', 'image': 'img', 'size': 'small', 'labels': {'tier': 'web'},
        'security_groups': ['web'], 'created': '2026-01-01T00:00:00Z',
        'addresses': {'private': '10.0.0.2', 'public': '198.51.100.7', 'networks': {'front': ['10.0.0.2'], 'back': []}},
    }
    assert address_for(record, ['public', 'private']) == '198.51.100.7'
    assert address_for(record, ['private']) == '10.0.0.2'
    assert address_for(host_record(server(private_ip=None), 'aws', 'libcloud', None), ['public', 'private']) is None


def test_only_lab_vms_get_the_netns_connection():
    lab = server(connection={'type': 'cloudops.multicloud.netns', 'netns': 'cloudops-lab-vm-1', 'pid': 4})
    assert connection_vars(lab, python='/usr/bin/python3') == {
        'ansible_connection': 'cloudops.multicloud.netns', 'cloudops_netns': 'cloudops-lab-vm-1',
        'ansible_python_interpreter': '/usr/bin/python3'}
    assert connection_vars(server(connection={'type': 'ssh', 'host': '10.0.0.2'})) == {
        'ansible_connection': 'ssh', 'ansible_user': 'root'}


def test_ssh_user_from_the_image_or_the_clouds_file_and_a_jump_host_for_private_servers():
    private = server(public_ip=None, image='ubuntu-24.04', connection={'type': 'ssh'})
    assert connection_vars(private) == {'ansible_connection': 'ssh', 'ansible_user': 'ubuntu'}
    assert connection_vars(private, {'ssh_user': 'ops', 'jump_host': 'ops@bastion'}) == {
        'ansible_connection': 'ssh', 'ansible_user': 'ops', 'ansible_ssh_common_args': '-o ProxyJump=ops@bastion'}


def rec(name, cloud, id):
    return {'name': name, 'cloud': cloud, 'id': id}


def test_host_names_never_merge_two_servers():
    records = [rec('web-1', 'lab', 'a1'), rec('web-1', 'aws', 'i-1'), rec('db', 'aws', 'i-2'),
               rec('db', 'aws', 'i-3'), rec('db', 'lab', 'b1'), rec('solo', 'lab', 'c1')]
    assert host_names(records) == ['web-1.lab', 'web-1.aws', 'db.i-2', 'db.i-3', 'db.lab', 'solo']
    assert host_names(records, 'id') == ['a1', 'i-1', 'i-2', 'i-3', 'b1', 'c1']
    same_id = [rec('x', 'lab', 'i-9'), rec('y', 'aws', 'i-9')]
    assert host_names(same_id, 'id') == ['i-9.lab', 'i-9.aws']
    # A qualified name that meets an existing one falls back to both cloud and id.
    clash = [rec('a.lab', 'aws', 'i-1'), rec('a', 'lab', 'l1'), rec('a', 'aws', 'i-2')]
    names = host_names(clash)
    assert len(set(names)) == 3 and names == ['a.lab.aws.i-1', 'a.lab.l1', 'a.aws']
    # ... and never onto a name another server has as it is.
    taken = [rec('web', 'lab', 'v1'), rec('web', 'aws', 'i-1'), rec('web.lab', 'aws', 'i-2'), rec('web.lab.v1', 'gcp', 'x')]
    assert host_names(taken) == ['web.lab.v1.2', 'web.aws', 'web.lab.aws.i-2', 'web.lab.v1']


@pytest.mark.parametrize('names', [
    ['a', 'a', 'a.x', 'a.x.1', 'a.x.1.2', 'a.y'],
    ['n', 'n.c', 'n.c.1', 'n.c.1.2', 'n.c.1.3', 'n'],
])
def test_host_names_stay_distinct_whatever_the_names(names):
    records = [rec(n, 'c' if i % 2 else 'x', str(i // 2 + 1)) for i, n in enumerate(names)]
    assert len(set(host_names(records))) == len(records)


def test_default_groups_are_valid_group_names():
    record = host_record(server(status='SHUTOFF', addresses={'vpc-0a1': ['10.0.0.2']}), 'aws-east', 'libcloud', 'us-east-1')
    assert default_groups(record) == ['cloud_aws_east', 'provider_libcloud', 'region_us_east_1', 'state_shutoff',
                                      'network_vpc_0a1']
    assert default_groups(host_record(server(addresses={}), 'lab', 'local', None)) == [
        'cloud_lab', 'provider_local', 'state_active']


def test_secrets_of_settings_at_any_depth():
    settings = {'provider': 'openstack', 'auth': {'username': 'u', 'password': 'hunter22'},
                'key': 'AKIAX', 'secret': 's3cret', 'extra': [{'token': 't0ken'}]}
    assert sorted(secrets_of(settings)) == sorted(['hunter22', 'AKIAX', 's3cret', 't0ken'])


def test_failure_line_is_one_line_without_secrets():
    assert failure_line(CloudError('DescribeInstances failed: token t0ken-9 refused\nmore'), ['t0ken-9']) == (
        'DescribeInstances failed: token ******** refused')
    assert failure_line(KeyError('s3cret-key'), ['s3cret-key']) == "KeyError: '********'"
    assert failure_line(RuntimeError(), []) == 'RuntimeError'


def test_cached_hosts_depend_on_settings_credentials_and_selection():
    settings = {'provider': 'libcloud', 'driver': 'ec2', 'port': 5710}
    assert fingerprint(settings, ['AKIA1']) == fingerprint(dict(settings), ['AKIA1'])
    assert fingerprint(settings, ['AKIA1']) != fingerprint(settings, ['AKIA2'])
    assert fingerprint(settings, []) != fingerprint(dict(settings, port=5711), [])
    one = select_clouds(['aws', 'lab'], {'states': ['ACTIVE']}, KNOWN, 'c.yml')
    other = select_clouds(['aws', 'lab'], {'states': ['SHUTOFF']}, KNOWN, 'c.yml')
    prints = {'aws': 'p1', 'lab': 'p2'}
    keys = cache_keys('/s/a.clouds.yml', one, prints)
    assert keys == cache_keys('/s/a.clouds.yml', list(one), dict(prints)) and keys['aws'] != keys['lab']
    assert cache_keys('/s/a.clouds.yml', one, dict(prints, aws='p3'))['lab'] == keys['lab']
    variants = [cache_keys('/s/a.clouds.yml', one, dict(prints, aws='p3')), cache_keys('/s/a.clouds.yml', other, prints),
                cache_keys('/s/b.clouds.yml', one, prints)]
    assert all(v['aws'] != keys['aws'] for v in variants) and len({v['aws'] for v in variants}) == 3
