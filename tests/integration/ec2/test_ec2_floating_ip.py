"""floating_ip on EC2 (moto): elastic IPs allocated, associated, detached, moved and released; boto3 confirms."""

from __future__ import annotations

import pytest

AMI_NAME = 'amzn2-ami-hvm-2.0.20180810-x86_64-gp2'


def tagged(kind, name):
    return [{'ResourceType': kind, 'Tags': [{'Key': 'Name', 'Value': name}]}]


def network(aws, name, cidr, router=None):
    """A VPC and a subnet named ``name`` (the subnet's id is returned); with ``router``, a route table of
    that name takes the subnet to an internet gateway."""
    vpc = aws.create_vpc(CidrBlock=cidr, TagSpecifications=tagged('vpc', name))['Vpc']['VpcId']
    subnet = aws.create_subnet(VpcId=vpc, CidrBlock=cidr.replace('.0.0/16', '.1.0/24'),
                               TagSpecifications=tagged('subnet', name))['Subnet']['SubnetId']
    if router:
        igw = aws.create_internet_gateway()['InternetGateway']['InternetGatewayId']
        aws.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        table = aws.create_route_table(VpcId=vpc, TagSpecifications=tagged('route-table', router))['RouteTable']
        aws.create_route(RouteTableId=table['RouteTableId'], DestinationCidrBlock='0.0.0.0/0', GatewayId=igw)
        aws.associate_route_table(RouteTableId=table['RouteTableId'], SubnetId=subnet)
    return subnet


@pytest.fixture
def servers(aws, ec2_clean):
    """Servers a and b in VPC 'net' (routed to the internet by router 'edge'); c in VPC 'island' (no gateway)."""
    subnets = {'net': network(aws, 'net', '10.91.0.0/16', router='edge'), 'island': network(aws, 'island', '10.92.0.0/16')}
    image = aws.describe_images(Filters=[{'Name': 'name', 'Values': [AMI_NAME]}])['Images'][0]['ImageId']
    found = {}
    for name, net in (('a', 'net'), ('b', 'net'), ('c', 'island')):
        instance = aws.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[net],
                                     TagSpecifications=tagged('instance', name))['Instances'][0]
        found[name] = {'id': instance['InstanceId'], 'private_ip': instance['PrivateIpAddress']}
    return found


def addresses(aws):
    return {a['PublicIp']: a for a in aws.describe_addresses()['Addresses']}


def test_floating_ip_lifecycle(run, aws, servers):
    args = {'server': 'a', 'network': 'internet', 'labels': {'run-id': 't-fip'}}
    checked = run('floating_ip', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {} and checked['floating_ip']['server'] == 'a'
    assert addresses(aws) == {}, 'check mode allocated'

    created = run('floating_ip', **args)
    fip = created['floating_ip']
    address = fip['address']
    assert created['changed'] and fip['status'] == 'ACTIVE' and fip['server'] == 'a' and fip['network'] == 'internet'
    assert fip['fixed_address'] == servers['a']['private_ip'] and fip['id'].startswith('eipalloc-')
    assert fip['router'] == 'edge'
    seen = addresses(aws)[address]
    assert seen['AllocationId'] == fip['id'] and seen['InstanceId'] == servers['a']['id'] and seen['Domain'] == 'vpc'
    assert {t['Key']: t['Value'] for t in seen['Tags']} == {'run-id': 't-fip'}
    assert run('floating_ip', **args)['changed'] is False
    assert run('floating_ip', address=address, server='a', network='internet')['changed'] is False
    assert run('floating_ip', address=address, network='internet')['changed'] is False
    assert run('server_info', name='a')['servers'][0]['public_ip'] == address

    assert run('floating_ip', address=address, network='internet', state='detached', check=True)['changed']
    assert addresses(aws)[address].get('InstanceId'), 'check mode detached'
    detached = run('floating_ip', address=address, network='internet', state='detached')
    assert detached['changed'] and detached['floating_ip']['server'] is None
    assert detached['floating_ip']['status'] == 'DOWN' and detached['diff']['before']['server'] == 'a'
    assert not addresses(aws)[address].get('InstanceId')
    assert run('floating_ip', address=address, network='internet', state='detached')['changed'] is False
    assert run('floating_ip', server='a', network='internet', state='detached')['changed'] is False

    moved = run('floating_ip', address=address, network='internet', server='b')
    assert moved['changed'] and moved['floating_ip']['server'] == 'b'
    assert addresses(aws)[address]['InstanceId'] == servers['b']['id']
    again = run('floating_ip', address=address, network='internet', server='a')
    assert again['changed'] and addresses(aws)[address]['InstanceId'] == servers['a']['id']

    relabelled = run('floating_ip', address=address, network='internet', labels={'owner': 'ops'})
    assert relabelled['changed'] and relabelled['floating_ip']['labels'] == {'run-id': 't-fip', 'owner': 'ops'}

    assert run('floating_ip', address=address, network='internet', state='absent', check=True)['changed']
    assert address in addresses(aws), 'check mode released'
    released = run('floating_ip', address=address, network='internet', state='absent')
    assert released['changed'] and released['floating_ip'] is None and addresses(aws) == {}
    assert run('floating_ip', address=address, network='internet', state='absent')['changed'] is False
    assert run('floating_ip', server='a', network='internet', state='absent')['changed'] is False


def test_detached_allocation_and_the_labs_network_name(run, aws, servers):
    spare = run('floating_ip', network='external', state='detached', address=None)
    assert spare['failed'] and spare['msg'].startswith('address: '), 'an unnamed detached floating IP was allocated'
    kept = run('floating_ip', server='b', network='external')
    assert kept['changed'] and kept['floating_ip']['network'] == 'external'
    assert run('floating_ip', server='b', network='external')['changed'] is False
    assert run('floating_ip', server='b', network='external', state='absent')['changed']
    assert addresses(aws) == {}


def test_deleting_a_server_keeps_its_floating_ip(run, aws, servers):
    fip = run('floating_ip', server='a', network='internet')['floating_ip']
    assert run('server', name='a', state='absent')['changed']
    kept = addresses(aws)[fip['address']]
    assert not kept.get('InstanceId') and not kept.get('AssociationId')
    listed = run('floating_ip', address=fip['address'], network='internet')['floating_ip']
    assert listed['server'] is None and listed['status'] == 'DOWN'
    assert run('floating_ip', address=fip['address'], network='internet', state='absent')['changed']


@pytest.mark.parametrize('args, message', [
    ({'server': 'c'}, "server: 'c' is in network 'island', which no router with an external gateway"),
    ({'server': 'nobody'}, "server: server 'nobody' does not exist"),
    ({'server': 'a', 'network': 'front'}, "network: 'front' is not an external network of cloud aws-local"),
    ({'server': 'a', 'labels': {'n': 1}}, 'labels.n: label values are strings'),
])
def test_bad_input_changes_nothing(run, aws, servers, args, message):
    request = dict({'network': 'internet'}, **args)
    for check in (True, False):
        failed = run('floating_ip', check=check, **request)
        assert failed['failed'] and failed['msg'].startswith(message) and '\n' not in failed['msg'], failed['msg']
        assert addresses(aws) == {}


def test_a_server_has_one_floating_ip(run, aws, servers):
    first = run('floating_ip', server='a', network='internet')['floating_ip']
    spare = run('floating_ip', server='b', network='internet')['floating_ip']
    for check in (True, False):
        failed = run('floating_ip', check=check, address=spare['address'], server='a', network='internet')
        assert failed['failed'] and failed['msg'] == "server: 'a' already has floating IP %s" % first['address']
    assert addresses(aws)[spare['address']]['InstanceId'] == servers['b']['id']
