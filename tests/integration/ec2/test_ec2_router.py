"""router on EC2 (route table + internet gateway) against moto: lifecycle, interfaces of one VPC,
the internet under both its names, refusals; boto3 confirms."""

from __future__ import annotations

import pytest

from test_ec2_network import start_instance, tags

pytestmark = pytest.mark.usefixtures('ec2_clean')


def tables_named(aws, name):
    return aws.describe_route_tables(Filters=[{'Name': 'tag:Name', 'Values': [name]}])['RouteTables']


def gateways(aws, vpc_id):
    return aws.describe_internet_gateways(Filters=[{'Name': 'attachment.vpc-id', 'Values': [vpc_id]}])['InternetGateways']


def associated(table):
    return sorted(a['SubnetId'] for a in table['Associations'] if a.get('SubnetId'))


def default_route(table):
    return [r.get('GatewayId') for r in table['Routes'] if r.get('DestinationCidrBlock') == '0.0.0.0/0']


@pytest.fixture
def vpc(run):
    network = run('network', name='front', cidr='10.10.0.0/16')['network']
    subnets = {name: run('subnet', name=name, network='front', cidr=cidr)['subnet']['id']
               for name, cidr in (('front-a', '10.10.1.0/24'), ('front-b', '10.10.2.0/24'))}
    return dict(network, subnet_ids=subnets)


def test_router_lifecycle(run, aws, vpc):
    ids = vpc['subnet_ids']
    args = {'name': 'edge', 'interfaces': ['front-a'], 'external_network': 'external', 'labels': {'run-id': 't-rt'}}
    checked = run('router', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['router']['interfaces'] == ['front-a'] and checked['router']['external_network'] == 'external'
    assert tables_named(aws, 'edge') == [] and gateways(aws, vpc['id']) == [], 'check mode created something'

    created = run('router', **args)
    assert created['changed']
    router = created['router']
    assert router['id'].startswith('rtb-') and router['interfaces'] == ['front-a']
    assert router['external_network'] == 'external' and router['external_address'] is None
    assert router['labels'] == {'run-id': 't-rt'}
    table = tables_named(aws, 'edge')[0]
    gateway = gateways(aws, vpc['id'])[0]['InternetGatewayId']
    assert table['VpcId'] == vpc['id'] and associated(table) == [ids['front-a']]
    assert default_route(table) == [gateway] and tags(table)['run-id'] == 't-rt'

    assert run('router', **args)['changed'] is False

    both = run('router', name='edge', interfaces=['front-a', 'front-b'], labels={'run-id': 't-rt'})
    assert both['changed'] and both['router']['interfaces'] == ['front-a', 'front-b']
    assert associated(tables_named(aws, 'edge')[0]) == sorted(ids.values())
    assert both['router']['external_network'] == 'external'

    renamed = run('router', name='edge', external_network='internet')
    assert renamed['changed'] and renamed['router']['external_network'] == 'internet'
    assert default_route(tables_named(aws, 'edge')[0]) == [gateway]
    assert run('router', name='edge', external_network='internet')['changed'] is False

    cut = run('router', name='edge', external_network='')
    assert cut['changed'] and cut['router']['external_network'] is None
    assert default_route(tables_named(aws, 'edge')[0]) == [] and gateways(aws, vpc['id']) == []
    assert run('router', name='edge', external_network='')['changed'] is False

    one = run('router', name='edge', interfaces=['front-b'], external_network='external')
    assert one['changed'] and one['router']['interfaces'] == ['front-b']
    table = tables_named(aws, 'edge')[0]
    assert associated(table) == [ids['front-b']] and len(default_route(table)) == 1

    assert run('router', name='edge', state='absent', check=True)['changed']
    assert len(tables_named(aws, 'edge')) == 1
    deleted = run('router', name='edge', state='absent')
    assert deleted['changed'] and deleted['router'] is None
    assert tables_named(aws, 'edge') == [] and gateways(aws, vpc['id']) == []
    assert aws.describe_route_tables(Filters=[{'Name': 'association.subnet-id', 'Values': list(ids.values())}]
                                     )['RouteTables'] == []
    assert run('router', name='edge', state='absent')['changed'] is False
    assert run('network', name='front', state='absent')['changed']


def test_router_across_two_vpcs_is_refused(run, aws, vpc):
    run('network', name='back', cidr='10.20.0.0/16')
    run('subnet', name='back-a', network='back', cidr='10.20.1.0/24')
    for check in (True, False):
        refused = run('router', name='edge', interfaces=['front-a', 'back-a'], check=check)
        assert refused['failed'] and '\n' not in refused['msg']
        assert refused['msg'] == ("interfaces: a router on EC2 is a route table of one VPC, and these subnets are "
                                  "in 2: network 'back' (back-a); network 'front' (front-a)")
    assert tables_named(aws, 'edge') == []

    run('router', name='edge', interfaces=['front-a'])
    moved = run('router', name='edge', interfaces=['back-a'])
    assert moved['failed']
    assert moved['msg'] == "interfaces: router 'edge' is a route table of network 'front'; subnets back-a are in network 'back'"
    assert associated(tables_named(aws, 'edge')[0]) == [vpc['subnet_ids']['front-a']]


def test_a_subnet_has_one_router(run, aws, vpc):
    run('router', name='edge', interfaces=['front-a'])
    refused = run('router', name='other', interfaces=['front-b', 'front-a'])
    assert refused['failed'] and refused['msg'] == "interfaces[1]: subnet 'front-a' is already attached to router 'edge'"
    assert tables_named(aws, 'other') == []


@pytest.mark.parametrize('args, message', [
    ({'interfaces': ['nowhere']}, "interfaces[0]: subnet 'nowhere' does not exist on aws-local"),
    ({'interfaces': ['front-a'], 'external_network': 'front'},
     "external_network: 'front' is not an external network of aws-local; EC2 reaches the internet through an "
     "internet gateway, named 'internet' (or 'external')"),
])
def test_bad_input_changes_nothing(run, aws, vpc, args, message):
    failed = run('router', name='bad', **args)
    assert failed['failed'] and failed['msg'] == message
    assert tables_named(aws, 'bad') == [] and gateways(aws, vpc['id']) == []


def test_router_without_interfaces_goes_in_the_one_network(run, aws, vpc):
    created = run('router', name='edge', external_network='external')
    assert created['changed'] and created['router']['interfaces'] == []
    assert tables_named(aws, 'edge')[0]['VpcId'] == vpc['id'] and len(gateways(aws, vpc['id'])) == 1
    assert run('router', name='edge', external_network='external')['changed'] is False
    run('network', name='back', cidr='10.20.0.0/16')
    refused = run('router', name='lost')
    assert refused['failed'] and refused['msg'].startswith("interfaces: router 'lost' could be in any of networks 'back', 'front'")


def test_routers_of_a_vpc_share_its_internet_gateway(run, aws, vpc):
    run('router', name='edge-a', interfaces=['front-a'], external_network='external')
    run('router', name='edge-b', interfaces=['front-b'], external_network='external')
    gateway = gateways(aws, vpc['id'])
    assert len(gateway) == 1
    run('router', name='edge-a', state='absent')
    assert gateways(aws, vpc['id']) == gateway, 'the gateway went while another router routes through it'
    run('router', name='edge-b', state='absent')
    assert gateways(aws, vpc['id']) == []


def test_floating_ips_keep_their_route(run, aws, vpc):
    run('router', name='edge', interfaces=['front-a', 'front-b'], external_network='external')
    instance = start_instance(aws, vpc['subnet_ids']['front-a'], 'web')
    address = aws.allocate_address(Domain='vpc')
    aws.associate_address(AllocationId=address['AllocationId'], InstanceId=instance['InstanceId'])
    for args in ({'state': 'absent'}, {'external_network': ''}, {'interfaces': ['front-b']}):
        refused = run('router', name='edge', **args)
        assert refused['failed'] and refused['msg'].startswith("router 'edge' routes floating IPs %s" % address['PublicIp'])
        assert refused['msg'].endswith('; disassociate them first')
    table = tables_named(aws, 'edge')[0]
    assert len(associated(table)) == 2 and len(default_route(table)) == 1
    assert run('router', name='edge', interfaces=['front-a'])['changed'], 'front-b carries no floating IP'
