"""subnet on EC2 against moto: lifecycle, a CIDR outside the VPC, overlaps, refusals; boto3 confirms."""

from __future__ import annotations

import pytest

from test_ec2_network import start_instance, tags

pytestmark = pytest.mark.usefixtures('ec2_clean')


def subnets_named(aws, name):
    return aws.describe_subnets(Filters=[{'Name': 'tag:Name', 'Values': [name]}])['Subnets']


@pytest.fixture
def vpc(run):
    return run('network', name='front', cidr='10.10.0.0/16')['network']


def test_subnet_lifecycle(run, aws, vpc):
    args = {'name': 'front-a', 'network': 'front', 'cidr': '10.10.1.0/24', 'labels': {'run-id': 't-sub'}}
    checked = run('subnet', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['subnet']['gateway_ip'] == '10.10.1.1' and checked['subnet']['network'] == 'front'
    assert subnets_named(aws, 'front-a') == [], 'check mode created a subnet'

    created = run('subnet', **args)
    assert created['changed']
    subnet = created['subnet']
    assert subnet['id'].startswith('subnet-') and subnet['cidr'] == '10.10.1.0/24'
    assert subnet['gateway_ip'] == '10.10.1.1' and subnet['labels'] == {'run-id': 't-sub'}
    seen = aws.describe_subnets(SubnetIds=[subnet['id']])['Subnets'][0]
    assert seen['VpcId'] == vpc['id'] and seen['CidrBlock'] == '10.10.1.0/24'
    assert tags(seen) == {'Name': 'front-a', 'run-id': 't-sub'}

    assert run('subnet', **args)['changed'] is False
    assert run('subnet', gateway_ip='10.10.1.1', **args)['changed'] is False
    assert run('network', name='front')['network']['subnets'] == ['front-a']

    relabelled = run('subnet', name='front-a', labels={'run-id': 't-sub', 'zone': 'a'})
    assert relabelled['changed'] and tags(aws.describe_subnets(SubnetIds=[subnet['id']])['Subnets'][0])['zone'] == 'a'

    recidr = run('subnet', name='front-a', network='front', cidr='10.10.2.0/24')
    assert recidr['failed'] and recidr['msg'].startswith('cidr: subnet ') and '\n' not in recidr['msg']

    assert run('subnet', name='front-a', state='absent', check=True)['changed']
    assert len(subnets_named(aws, 'front-a')) == 1
    assert run('subnet', name='front-a', state='absent')['changed']
    assert subnets_named(aws, 'front-a') == []
    assert run('subnet', name='front-a', state='absent')['changed'] is False


@pytest.mark.parametrize('cidr, message', [
    ('10.20.1.0/24', "cidr: 10.20.1.0/24 is outside network 'front', whose VPC range is 10.10.0.0/16"),
    ('10.10.1.0/25', "cidr: 10.10.1.0/25 overlaps subnet 'front-a' (10.10.1.0/24)"),
    ('10.10.0.0/29', 'cidr: 10.10.0.0/29 is a /29; EC2 subnets are /16 to /28'),
    ('10.10.3.7/24', "cidr: '10.10.3.7/24' is not a valid IPv4 network (10.10.3.7/24 has host bits set)"),
])
def test_bad_cidr_changes_nothing(run, aws, vpc, cidr, message):
    run('subnet', name='front-a', network='front', cidr='10.10.1.0/24')
    for check in (True, False):
        failed = run('subnet', name='bad', network='front', cidr=cidr, check=check)
        assert failed['failed'] and failed['msg'] == message
    assert subnets_named(aws, 'bad') == []


@pytest.mark.parametrize('args, message', [
    ({'network': 'nowhere', 'cidr': '10.10.5.0/24'}, "network: network 'nowhere' does not exist on aws-local"),
    ({'cidr': '10.10.5.0/24'}, 'network: a subnet needs the name of its network'),
    ({'network': 'front'}, 'cidr: a subnet needs a CIDR inside its network\'s range 10.10.0.0/16'),
    ({'network': 'internet', 'cidr': '10.10.5.0/24'}, "network: 'internet' is the internet on EC2; subnets belong to a VPC"),
    ({'network': 'front', 'cidr': '10.10.5.0/24', 'gateway_ip': '10.10.5.9'},
     'gateway_ip: EC2 answers on the first host of a subnet, 10.10.5.1; it cannot be 10.10.5.9'),
    ({'network': 'front', 'cidr': '10.10.5.0/24', 'labels': {'Name': 'x'}},
     "labels.Name: EC2 keeps the object's name in the tag Name; it is not a label"),
])
def test_bad_input_changes_nothing(run, aws, vpc, args, message):
    failed = run('subnet', name='bad', **args)
    assert failed['failed'] and failed['msg'] == message
    assert subnets_named(aws, 'bad') == []


def test_subnet_in_use_is_refused_and_kept(run, aws, vpc):
    subnet = run('subnet', name='front-a', network='front', cidr='10.10.1.0/24')['subnet']
    instance = start_instance(aws, subnet['id'], 'tenant')
    refused = run('subnet', name='front-a', state='absent')
    assert refused['failed']
    assert refused['msg'] == ("subnet 'front-a' is in use by server 'tenant' (%s); delete or detach those first"
                              % instance['PrivateIpAddress'])
    assert len(subnets_named(aws, 'front-a')) == 1

    aws.terminate_instances(InstanceIds=[instance['InstanceId']])
    run('router', name='edge', interfaces=['front-a'])
    refused = run('subnet', name='front-a', state='absent', check=True)
    assert refused['failed'] and refused['msg'].startswith("subnet 'front-a' is in use by router 'edge'")
    run('router', name='edge', state='absent')
    assert run('subnet', name='front-a', state='absent')['changed']
    assert subnets_named(aws, 'front-a') == []


def test_subnets_of_two_vpcs_may_share_a_cidr(run, aws, vpc):
    back = run('network', name='back', cidr='10.10.0.0/16')['network']
    assert run('subnet', name='front-a', network='front', cidr='10.10.1.0/24')['changed']
    other = run('subnet', name='back-a', network='back', cidr='10.10.1.0/24')
    assert other['changed'] and other['subnet']['network'] == 'back'
    same = aws.describe_subnets(Filters=[{'Name': 'cidr-block', 'Values': ['10.10.1.0/24']}])['Subnets']
    assert {s['VpcId'] for s in same} == {vpc['id'], back['id']}
