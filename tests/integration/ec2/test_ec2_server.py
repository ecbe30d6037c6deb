"""server on EC2 (moto): check -> apply -> rerun -> delete -> delete again, confirmed with boto3;
paging, bad input, throttling and unreachable endpoints."""

from __future__ import annotations

import base64
import json
import socket

import pytest
import yaml

from fault_proxy import FaultProxy

AMI_NAME = 'amzn2-ami-hvm-2.0.20180810-x86_64-gp2'
THROTTLED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>RequestLimitExceeded</Code>'
             '<Message>Request limit exceeded.</Message></Error></Errors><RequestID>throttle</RequestID></Response>')
REFUSED = ('<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>AuthFailure</Code>'
           '<Message>AWS was not able to validate the provided access credentials</Message></Error></Errors>'
           '<RequestID>auth</RequestID></Response>')


def tagged(kind, name, **labels):
    return [{'ResourceType': kind, 'Tags': [{'Key': k, 'Value': v} for k, v in dict(labels, Name=name).items()]}]


@pytest.fixture
def net(aws, ec2_clean):
    """VPC 'front' (10.40.0.0/16) with subnet 'front-a', groups 'web' and 'db', an internet gateway."""
    vpc = aws.create_vpc(CidrBlock='10.40.0.0/16', TagSpecifications=tagged('vpc', 'front'))['Vpc']['VpcId']
    subnet = aws.create_subnet(VpcId=vpc, CidrBlock='10.40.1.0/24',
                               TagSpecifications=tagged('subnet', 'front-a'))['Subnet']['SubnetId']
    groups = {name: aws.create_security_group(GroupName=name, Description=name, VpcId=vpc,
                                              TagSpecifications=tagged('security-group', name))['GroupId']
              for name in ('web', 'db')}
    gateway = aws.create_internet_gateway()['InternetGateway']['InternetGatewayId']
    aws.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    image = aws.describe_images(Filters=[{'Name': 'name', 'Values': [AMI_NAME]}])['Images'][0]['ImageId']
    return {'vpc': vpc, 'subnet': subnet, 'groups': groups, 'image': image}


def instances(aws, name=None, states=('pending', 'running', 'stopping', 'stopped')):
    filters = [{'Name': 'instance-state-name', 'Values': list(states)}]
    if name:
        filters.append({'Name': 'tag:Name', 'Values': [name]})
    found = []
    for page in aws.get_paginator('describe_instances').paginate(Filters=filters):
        for reservation in page['Reservations']:
            found += [dict(i, ReservationId=reservation['ReservationId']) for i in reservation['Instances']]
    return found


def tags(instance):
    return {t['Key']: t['Value'] for t in instance.get('Tags', [])}


def test_server_lifecycle(run, aws, net):
    aws.create_key_pair(KeyName='ops', KeyType='ed25519')
    args = {'name': 'web', 'count': 3, 'image': AMI_NAME, 'size': 't3.small', 'networks': ['front'], 'key_name': 'ops',
            'security_groups': ['web'], 'user_data': '#!/bin/sh\necho hello\n', 'labels': {'run-id': 't-srv'}}
    checked = run('server', check=True, **args)
    assert checked['changed'] and [s['name'] for s in checked['servers']] == ['web-1', 'web-2', 'web-3']
    assert checked['server']['networks'][0]['network'] == 'front' and checked['server']['security_groups'] == ['web']
    assert instances(aws) == [], 'check mode created instances'

    created = run('server', **args)
    assert created['changed'] and [s['name'] for s in created['servers']] == ['web-1', 'web-2', 'web-3']
    seen = {tags(i)['Name']: i for i in instances(aws)}
    assert sorted(seen) == ['web-1', 'web-2', 'web-3']
    assert len({i['ReservationId'] for i in seen.values()}) == 1, 'the batch took more than one RunInstances'
    for server in created['servers']:
        instance = seen[server['name']]
        assert server['id'] == instance['InstanceId'] and server['status'] == 'ACTIVE'
        assert instance['State']['Name'] == 'running' and instance['InstanceType'] == 't3.small'
        assert instance['ImageId'] == net['image'] and server['image'] == AMI_NAME and server['size'] == 't3.small'
        assert instance['SubnetId'] == net['subnet'] and server['networks'] == [
            {'network': 'front', 'subnet': 'front-a', 'address': instance['PrivateIpAddress'], 'interface': 'eth0'}]
        assert server['private_ip'] == instance['PrivateIpAddress'] and server['addresses'] == {
            'front': [instance['PrivateIpAddress']]}
        assert [g['GroupId'] for g in instance['NetworkInterfaces'][0]['Groups']] == [net['groups']['web']]
        assert tags(instance) == {'Name': server['name'], 'run-id': 't-srv'} and server['labels'] == {'run-id': 't-srv'}
        assert server['connection'] == {'type': 'ssh', 'host': instance['PrivateIpAddress'], 'user': None}
        assert instance['KeyName'] == 'ops' == server['key_name']
    user_data = aws.describe_instance_attribute(InstanceId=seen['web-1']['InstanceId'], Attribute='userData')
    assert base64.b64decode(user_data['UserData']['Value']).decode() == args['user_data']

    assert run('server', **args)['changed'] is False
    assert run('server', name='web', count=3, image=AMI_NAME)['changed'] is False
    assert run('server', names=['web-2'], labels={'run-id': 't-srv'})['changed'] is False
    refused = run('server', name='web', count=3, size='t3.large')
    assert refused['failed'] and refused['msg'].startswith('size: ') and '\n' not in refused['msg']

    # Security groups and labels change in place.
    assert run('server', check=True, names=['web-1'], security_groups=['db'])['changed']
    assert [g['GroupName'] for g in instances(aws, 'web-1')[0]['NetworkInterfaces'][0]['Groups']] == ['web']
    moved = run('server', names=['web-1'], security_groups=['db', 'web'], labels={'tier': 'front'})
    assert moved['changed'] and moved['server']['security_groups'] == ['db', 'web']
    instance = instances(aws, 'web-1')[0]
    assert sorted(g['GroupId'] for g in instance['NetworkInterfaces'][0]['Groups']) == sorted(net['groups'].values())
    assert tags(instance) == {'Name': 'web-1', 'run-id': 't-srv', 'tier': 'front'}
    assert run('server', names=['web-1'], security_groups=['web', 'db'], labels={'tier': 'front'})['changed'] is False

    assert run('server', check=True, state='absent', **args)['changed']
    assert len(instances(aws)) == 3, 'check mode deleted'
    deleted = run('server', state='absent', **args)
    assert deleted['changed'] and deleted['servers'] == [] and sorted(deleted['diff']['before']) == ['web-1', 'web-2', 'web-3']
    assert instances(aws) == [] and len(instances(aws, states=('terminated',))) == 3
    assert run('server', state='absent', **args)['changed'] is False


def test_stop_start_reboot(run, aws, net):
    base = {'name': 'app', 'image': AMI_NAME, 'networks': [{'name': 'front', 'subnet': 'front-a', 'fixed_ip': '10.40.1.10'}]}
    created = run('server', **base)['server']
    assert created['private_ip'] == '10.40.1.10' and created['size'] == 't3.micro'
    assert instances(aws, 'app')[0]['PrivateIpAddress'] == '10.40.1.10'
    assert run('server', name='app', networks=['front'])['changed'] is False

    assert run('server', check=True, state='stopped', **base)['changed']
    assert instances(aws, 'app')[0]['State']['Name'] == 'running', 'check mode stopped it'
    stopped = run('server', state='stopped', **base)
    assert stopped['changed'] and stopped['server']['status'] == 'SHUTOFF'
    assert instances(aws, 'app')[0]['State']['Name'] == 'stopped'
    assert run('server', state='stopped', **base)['changed'] is False
    assert run('server', **base)['changed'] is False, 'present changed the power state'

    started = run('server', state='started', **base)
    assert started['changed'] and started['server']['status'] == 'ACTIVE'
    assert instances(aws, 'app')[0]['State']['Name'] == 'running'
    assert run('server', state='started', **base)['changed'] is False

    rebooted = run('server', state='rebooted', name='app')
    assert rebooted['changed'] and rebooted['server']['status'] == 'ACTIVE'
    assert run('server', state='stopped', name='app')['changed']
    assert run('server', state='rebooted', name='app')['server']['status'] == 'ACTIVE', 'reboot did not boot it'

    # A new server asked to be stopped is created and then stopped, in check mode too.
    checked = run('server', check=True, name='cold', image=AMI_NAME, networks=['front'], state='stopped')
    assert checked['changed'] and checked['server']['status'] == 'SHUTOFF' and instances(aws, 'cold') == []
    cold = run('server', name='cold', image=AMI_NAME, networks=['front'], state='stopped')
    assert cold['server']['status'] == 'SHUTOFF' and instances(aws, 'cold')[0]['State']['Name'] == 'stopped'

    assert run('server', names=['app', 'cold'], state='absent')['changed']
    assert instances(aws) == []
    assert run('server', names=['app', 'cold'], state='absent')['changed'] is False


def test_floating_ip_with_a_new_server(run, aws, net):
    args = {'name': 'edge', 'image': AMI_NAME, 'networks': ['front'], 'floating_ip': True, 'labels': {'run-id': 't-fip'}}
    checked = run('server', check=True, **args)
    assert checked['changed'] and aws.describe_addresses()['Addresses'] == [] and instances(aws) == []

    created = run('server', **args)['server']
    addresses = aws.describe_addresses()['Addresses']
    assert len(addresses) == 1 and addresses[0]['InstanceId'] == created['id']
    assert created['public_ip'] == addresses[0]['PublicIp'] == instances(aws, 'edge')[0]['PublicIpAddress']
    assert created['connection']['host'] == created['public_ip']
    assert {t['Key']: t['Value'] for t in addresses[0]['Tags']} == {'run-id': 't-fip'}
    assert run('server', **args)['changed'] is False

    deleted = run('server', state='absent', **args)
    assert deleted['changed'] and aws.describe_addresses()['Addresses'] == [] and instances(aws) == []


def test_two_networks(run, aws, net):
    zone = aws.describe_subnets(SubnetIds=[net['subnet']])['Subnets'][0]['AvailabilityZone']
    aws.create_subnet(VpcId=net['vpc'], CidrBlock='10.40.2.0/24', AvailabilityZone=zone,
                      TagSpecifications=tagged('subnet', 'front-b'))
    networks = [{'name': 'front', 'subnet': 'front-a'}, {'name': 'front', 'subnet': 'front-b', 'fixed_ip': '10.40.2.7'}]
    checked = run('server', check=True, name='dual', image=AMI_NAME, networks=networks, security_groups=['db'])
    assert [(n['subnet'], n['address']) for n in checked['server']['networks']] == [('front-a', None), ('front-b', '10.40.2.7')]
    created = run('server', name='dual', image=AMI_NAME, networks=networks, security_groups=['db'])['server']
    interfaces = sorted(instances(aws, 'dual')[0]['NetworkInterfaces'], key=lambda e: e['Attachment']['DeviceIndex'])
    assert [e['PrivateIpAddress'] for e in interfaces] == [n['address'] for n in created['networks']]
    assert interfaces[1]['PrivateIpAddress'] == '10.40.2.7' and created['private_ip'] == interfaces[0]['PrivateIpAddress']
    assert [n['interface'] for n in created['networks']] == ['eth0', 'eth1'] and created['security_groups'] == ['db']
    assert all([g['GroupName'] for g in e['Groups']] == ['db'] for e in interfaces)
    assert run('server', name='dual', image=AMI_NAME, networks=networks)['changed'] is False
    refused = run('server', name='dual', networks=['front'])
    assert refused['failed'] and refused['msg'].startswith('networks: ')
    assert run('server', name='dual', state='absent')['changed'] and instances(aws) == []


def test_image_by_ami_id(run, aws, net):
    created = run('server', name='by-id', image=net['image'], networks=['front'])['server']
    assert instances(aws, 'by-id')[0]['ImageId'] == net['image'] and created['image'] == AMI_NAME
    assert run('server', name='by-id', image=AMI_NAME, networks=['front'])['changed'] is False
    assert run('server', name='by-id', state='absent')['changed']


def test_default_vpc_when_no_network_is_named(run, aws, ec2_clean):
    created = run('server', name='plain', image=AMI_NAME)['server']
    instance = instances(aws, 'plain')[0]
    default = aws.describe_vpcs(Filters=[{'Name': 'is-default', 'Values': ['true']}])['Vpcs'][0]['VpcId']
    assert instance['VpcId'] == default and created['networks'][0]['network'] == default
    assert created['security_groups'] == ['default']
    assert run('server', name='plain', image=AMI_NAME)['changed'] is False
    assert run('server', name='plain', state='absent')['changed']


def test_listing_follows_every_page(run, aws, ec2_clean):
    """moto answers DescribeInstances 100 reservations at a time: 105 reservations, one server each."""
    for index in range(105):
        aws.run_instances(ImageId='ami-03cf127a', MinCount=1, MaxCount=1,
                          TagSpecifications=tagged('instance', 'many-%03d' % index, **{'run-id': 't-page'}))
    listed = run('server_info', labels={'run-id': 't-page'})['servers']
    assert [s['name'] for s in listed] == ['many-%03d' % i for i in range(105)]
    assert run('server_info', name='many-104')['servers'][0]['id'] == instances(aws, 'many-104')[0]['InstanceId']
    aws.terminate_instances(InstanceIds=[instances(aws, 'many-000')[0]['InstanceId']])
    assert len(run('server_info')['servers']) == 104, 'a terminated instance was listed'
    batch = run('server', names=['many-%03d' % i for i in range(1, 105)], labels={'run-id': 't-page'})
    assert batch['changed'] is False and len(batch['servers']) == 104


@pytest.mark.parametrize('args, message', [
    ({'image': 'ami-0123456789abcdef0'}, "image: 'ami-0123456789abcdef0' is not an AMI id or the exact name of an AMI"),
    ({'image': 'no-such-image'}, "image: 'no-such-image' is not an AMI id or the exact name of an AMI"),
    ({'size': 't9.gigantic'}, "size: 't9.gigantic' is not an instance type of region us-east-1"),
    ({'networks': ['nowhere']}, "networks[0].name: network 'nowhere' does not exist"),
    ({'networks': ['internet']}, "networks[0].name: servers attach to VPCs, not to 'internet'"),
    ({'networks': [{'name': 'front', 'subnet': 'nope'}]}, "networks[0]: network 'front' has no subnet named 'nope'"),
    ({'networks': [{'name': 'front', 'fixed_ip': '10.99.0.5'}]}, "networks[0].fixed_ip: 10.99.0.5 is not in subnet"),
    ({'networks': [{'name': 'front', 'fixed_ip': '10.40.1.2'}]}, 'networks[0].fixed_ip: 10.40.1.2 is reserved by EC2'),
    ({'count': 2, 'networks': [{'name': 'front', 'fixed_ip': '10.40.1.20'}]}, 'networks[0].fixed_ip: one address'),
    ({'security_groups': ['nope']}, "security_groups[0]: security group 'nope' does not exist in network 'front'"),
    ({'security_groups': []}, 'security_groups: an EC2 instance needs at least one security group'),
    ({'key_name': 'nokey'}, "key_name: keypair 'nokey' does not exist"),
    ({'labels': {'Name': 'x'}}, 'labels.Name: '),
    ({'labels': {'n': 1}}, 'labels.n: label values are strings'),
    ({'user_data': 'x' * 20000}, 'user_data: 20000 bytes; EC2 takes at most 16384'),
])
def test_bad_input_changes_nothing(run, aws, net, args, message):
    request = dict({'name': 'bad', 'image': AMI_NAME, 'networks': ['front']}, **args)
    request = {k: v for k, v in request.items() if v is not None}
    for check in (True, False):
        failed = run('server', check=check, **request)
        assert failed.get('failed'), failed
        assert failed['msg'].startswith(message) and '\n' not in failed['msg'], failed['msg']
        assert 'Traceback' not in str(failed.get('exception', '')), failed['exception']
        assert instances(aws, states=('pending', 'running', 'stopping', 'stopped', 'terminated')) == []


def test_image_and_size_default_to_the_clouds_file(run, aws, net, ec2_settings, tmp_path):
    """A server task without an image takes the cloud's `image` setting; without one it is refused."""
    bare = clouds_file_at(tmp_path, {k: v for k, v in ec2_settings.items() if k not in ('image', 'size')},
                          ec2_settings['port'])
    for check in (True, False):
        failed = run('server', check=check, clouds_file=bare, name='bad', networks=['front'])
        assert failed.get('failed') and failed['msg'].startswith('image: EC2 has no default image'), failed
    assert instances(aws, states=('pending', 'running', 'stopping', 'stopped', 'terminated')) == []
    created = run('server', name='defaulted', networks=['front'])
    assert created['changed'] and created['server']['image_id'] == ec2_settings['image']
    assert created['server']['size'] == ec2_settings['size']
    assert run('server', name='defaulted', networks=['front'])['changed'] is False


# ---------------------------------------------------------------------- faults on the wire
def moto_url(settings):
    return 'http://127.0.0.1:%s' % settings['port']


def clouds_file_at(tmp_path, settings, port):
    path = tmp_path / 'clouds.multicloud.yml'
    path.write_text(yaml.safe_dump({'clouds': {'aws-local': dict(settings, port=port)}}))
    return str(path)


def assert_no_secret(result, settings):
    text = json.dumps(result)
    assert settings['key'] not in text and settings['secret'] not in text


def test_throttling_is_retried_with_backoff(run, aws, net, ec2_settings, tmp_path):
    with FaultProxy(moto_url(ec2_settings), times=3, body=THROTTLED, content_type='text/xml') as proxy:
        clouds = clouds_file_at(tmp_path, ec2_settings, proxy.port)
        created = run('server', clouds_file=clouds, api_retries=3, name='patient', image=AMI_NAME, networks=['front'])
        assert created['changed'] and created['server']['status'] == 'ACTIVE', created
        assert proxy.faults == 3 and proxy.forwarded > 0
    assert [tags(i)['Name'] for i in instances(aws)] == ['patient']
    assert_no_secret(created, ec2_settings)


def test_throttling_that_never_ends_fails_clearly(run, aws, net, ec2_settings, tmp_path):
    with FaultProxy(moto_url(ec2_settings), body=THROTTLED, content_type='text/xml') as proxy:
        clouds = clouds_file_at(tmp_path, ec2_settings, proxy.port)
        failed = run('server', clouds_file=clouds, api_retries=2, name='never', image=AMI_NAME, networks=['front'])
        assert failed['failed'] and '\n' not in failed['msg']
        assert 'RequestLimitExceeded' in failed['msg'] and '(after 3 attempts)' in failed['msg'], failed['msg']
        assert proxy.faults == 3 and proxy.forwarded == 0
    assert instances(aws) == []
    assert_no_secret(failed, ec2_settings)


def test_refused_credentials_are_not_printed(run, aws, net, ec2_settings, tmp_path):
    with FaultProxy(moto_url(ec2_settings), status=401, body=REFUSED, content_type='text/xml') as proxy:
        clouds = clouds_file_at(tmp_path, ec2_settings, proxy.port)
        for module, args in (('server', {'name': 'x', 'image': AMI_NAME}), ('server_info', {}), ('cloud_info', {})):
            failed = run(module, clouds_file=clouds, **args)
            assert failed['failed'] and '\n' not in failed['msg']
            assert 'the access key or secret was refused' in failed['msg'], failed['msg']
            assert_no_secret(failed, ec2_settings)
        assert proxy.faults == 3, 'an authentication failure was retried'
    assert instances(aws) == []


def test_unreachable_endpoint_fails_clearly(run, ec2_settings, tmp_path):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        closed = probe.getsockname()[1]
    clouds = clouds_file_at(tmp_path, ec2_settings, closed)
    failed = run('server_info', clouds_file=clouds)
    assert failed['failed'] and '\n' not in failed['msg']
    assert 'cannot reach 127.0.0.1:%d (connection refused)' % closed in failed['msg'], failed['msg']
    assert_no_secret(failed, ec2_settings)
    ok = run('server_info')
    assert_no_secret(ok, ec2_settings)
