"""network on EC2 (a VPC) against moto: lifecycle, cidr, MTU, the internet, refusals; boto3 confirms."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures('ec2_clean')


def vpcs_named(aws, name):
    return aws.describe_vpcs(Filters=[{'Name': 'tag:Name', 'Values': [name]}])['Vpcs']


def tags(item):
    return {t['Key']: t['Value'] for t in item.get('Tags', [])}


def start_instance(aws, subnet_id, name):
    """An instance started by boto3, not by this collection: something else that uses the network."""
    reservation = aws.run_instances(ImageId='ami-12345678', MinCount=1, MaxCount=1, SubnetId=subnet_id,
                                    TagSpecifications=[{'ResourceType': 'instance',
                                                        'Tags': [{'Key': 'Name', 'Value': name}]}])
    return reservation['Instances'][0]


def test_network_lifecycle(run, aws):
    args = {'name': 'net-a', 'labels': {'run-id': 't-net'}}
    checked = run('network', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['network']['mtu'] == 9001 and checked['network']['cidr'] == '10.0.0.0/16'
    assert vpcs_named(aws, 'net-a') == [], 'check mode created a VPC'

    created = run('network', **args)
    assert created['changed'] and created['network']['status'] == 'ACTIVE'
    network = created['network']
    assert network['id'].startswith('vpc-') and network['mtu'] == 9001 and network['external'] is False
    assert network['labels'] == {'run-id': 't-net'} and network['subnets'] == []
    vpc = aws.describe_vpcs(VpcIds=[network['id']])['Vpcs'][0]
    assert vpc['CidrBlock'] == '10.0.0.0/16' and tags(vpc) == {'Name': 'net-a', 'run-id': 't-net'}

    assert run('network', **args)['changed'] is False
    assert run('network', name='net-a', mtu=9001, labels={'run-id': 't-net'})['changed'] is False

    relabelled = run('network', name='net-a', labels={'run-id': 't-net', 'tier': 'front'})
    assert relabelled['changed'] and relabelled['network']['labels'] == {'run-id': 't-net', 'tier': 'front'}
    assert tags(aws.describe_vpcs(VpcIds=[network['id']])['Vpcs'][0])['tier'] == 'front'

    deleted_check = run('network', name='net-a', state='absent', check=True)
    assert deleted_check['changed'] and len(vpcs_named(aws, 'net-a')) == 1
    deleted = run('network', name='net-a', state='absent')
    assert deleted['changed'] and deleted['network'] is None
    assert vpcs_named(aws, 'net-a') == []
    assert run('network', name='net-a', state='absent')['changed'] is False


def test_cidr_is_the_vpc_block_and_fixed(run, aws):
    created = run('network', name='small', cidr='10.20.0.0/24')
    assert created['changed'] and created['network']['cidr'] == '10.20.0.0/24'
    assert aws.describe_vpcs(VpcIds=[created['network']['id']])['Vpcs'][0]['CidrBlock'] == '10.20.0.0/24'
    assert run('network', name='small', cidr='10.20.0.0/24')['changed'] is False
    assert run('network', name='small')['changed'] is False

    moved = run('network', name='small', cidr='10.30.0.0/24')
    assert moved['failed'] and moved['msg'].startswith('cidr: network ') and '\n' not in moved['msg']
    assert aws.describe_vpcs(VpcIds=[created['network']['id']])['Vpcs'][0]['CidrBlock'] == '10.20.0.0/24'


@pytest.mark.parametrize('cidr, message', [
    ('10.0.0.0/8', 'cidr: 10.0.0.0/8 is a /8; EC2 VPCs are /16 to /28'),
    ('10.0.0.0/29', 'cidr: 10.0.0.0/29 is a /29; EC2 VPCs are /16 to /28'),
    ('10.0.0.1/16', "cidr: '10.0.0.1/16' is not a valid IPv4 network (10.0.0.1/16 has host bits set)"),
])
def test_bad_cidr_changes_nothing(run, aws, cidr, message):
    for check in (True, False):
        failed = run('network', name='bad', cidr=cidr, check=check)
        assert failed['failed'] and failed['msg'] == message
    assert vpcs_named(aws, 'bad') == []


def test_mtu_other_than_9001_is_refused(run, aws):
    for check in (True, False):
        failed = run('network', name='jumbo', mtu=1400, check=check)
        assert failed['failed'] and failed['msg'].startswith('mtu: EC2 fixes the MTU inside a VPC at 9001')
        assert '\n' not in failed['msg']
    assert vpcs_named(aws, 'jumbo') == []

    run('network', name='jumbo')
    changed = run('network', name='jumbo', mtu=1500)
    assert changed['failed'] and changed['msg'].startswith('mtu: ')
    assert run('network', name='jumbo')['network']['mtu'] == 9001


def test_network_in_use_is_refused_and_kept(run, aws):
    run('network', name='busy')
    subnet = run('subnet', name='busy', network='busy', cidr='10.0.7.0/24')['subnet']
    instance = start_instance(aws, subnet['id'], 'tenant')
    refused = run('network', name='busy', state='absent')
    assert refused['failed'] and '\n' not in refused['msg']
    assert refused['msg'] == ("network 'busy' is in use by server 'tenant' (%s); delete or detach those first"
                              % instance['PrivateIpAddress'])
    assert len(vpcs_named(aws, 'busy')) == 1
    assert run('subnet', name='busy', network='busy', cidr='10.0.7.0/24')['changed'] is False
    assert run('network', name='busy')['changed'] is False

    aws.terminate_instances(InstanceIds=[instance['InstanceId']])
    run('router', name='edge', interfaces=['busy'])
    run('security_group', name='web', network='busy')
    refused = run('network', name='busy', state='absent', check=True)
    assert refused['failed']
    assert refused['msg'] == "network 'busy' is in use by router 'edge', security group 'web'; delete or detach those first"
    run('router', name='edge', state='absent')
    run('security_group', name='web', state='absent')
    assert run('network', name='busy', state='absent')['changed']
    assert vpcs_named(aws, 'busy') == []


def test_deleting_a_network_deletes_its_unused_subnets(run, aws):
    network = run('network', name='two')['network']
    run('subnet', name='two-a', network='two', cidr='10.0.1.0/24')
    run('subnet', name='two-b', network='two', cidr='10.0.2.0/24')
    assert run('network', name='two')['network']['subnets'] == ['two-a', 'two-b']
    assert run('network', name='two', state='absent')['changed']
    assert aws.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [network['id']]}])['Subnets'] == []
    assert vpcs_named(aws, 'two') == []


@pytest.mark.parametrize('name', ['internet', 'external'])
def test_the_internet_is_a_network_that_cannot_change(run, aws, name):
    found = run('network', name=name)
    assert found['changed'] is False and found['network']['external'] is True
    refused = run('network', name=name, state='absent')
    assert refused['failed'] and refused['msg'] == "name: %r is the internet on EC2; it cannot be deleted" % name
    assert vpcs_named(aws, name) == []


def test_default_vpc_is_listed_by_its_id(run, aws):
    default = [v for v in aws.describe_vpcs()['Vpcs'] if v['IsDefault']][0]
    found = run('network', name=default['VpcId'])
    assert found['changed'] is False and found['network']['cidr'] == default['CidrBlock']
