"""router on EC2 (route tables + internet gateways, VPC peering across VPCs) against moto: lifecycle,
interfaces of one VPC and of several, the internet under both its names, refusals; boto3 confirms."""

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


def peerings(aws, *vpc_ids):
    """Live peering connections between any of these VPCs."""
    found = aws.describe_vpc_peering_connections()['VpcPeeringConnections']
    return [p for p in found if p['Status']['Code'] not in ('deleted', 'rejected', 'failed', 'expired')
            and {p['RequesterVpcInfo']['VpcId'], p['AccepterVpcInfo']['VpcId']} <= set(vpc_ids)]


def routes(table):
    """{destination: peering connection or gateway} of a table's routes other than the local one."""
    return {r['DestinationCidrBlock']: r.get('VpcPeeringConnectionId') or r.get('GatewayId')
            for r in table['Routes'] if r.get('GatewayId') != 'local'}


@pytest.fixture
def two_vpcs(run):
    """Networks front-net (10.10.1.0/24) and back-net (10.10.2.0/24) with subnets front and back (their lower halves)."""
    found = {}
    for name, cidr in (('front', '10.10.1.0/24'), ('back', '10.10.2.0/24')):
        network = run('network', name=name + '-net', cidr=cidr)['network']
        subnet = run('subnet', name=name, network=name + '-net', cidr=cidr.replace('.0/24', '.0/25'))['subnet']
        found[name] = {'vpc': network['id'], 'subnet': subnet['id'], 'cidr': cidr}
    return found


def test_router_across_two_vpcs_peers_them(run, aws, ec2_provider, two_vpcs):
    front, back = two_vpcs['front'], two_vpcs['back']
    args = {'name': 'edge', 'interfaces': ['front', 'back'], 'external_network': 'external', 'labels': {'run-id': 't-rt'}}
    checked = run('router', check=True, **args)
    assert checked['changed'] and checked['router']['interfaces'] == ['back', 'front']
    assert checked['router']['external_network'] == 'external'
    assert tables_named(aws, 'edge') == [] and peerings(aws, front['vpc'], back['vpc']) == []
    assert gateways(aws, front['vpc']) == [] and gateways(aws, back['vpc']) == [], 'check mode created something'

    created = run('router', **args)
    assert created['changed']
    router = created['router']
    assert router['id'].startswith('rtb-') and router['interfaces'] == ['back', 'front']
    assert router['external_network'] == 'external' and router['labels'] == {'run-id': 't-rt'}
    [peering] = peerings(aws, front['vpc'], back['vpc'])
    assert peering['Status']['Code'] == 'active'
    assert tags(peering)['Name'] == 'edge' and tags(peering)['run-id'] == 't-rt'
    pcx = peering['VpcPeeringConnectionId']
    tables = {t['VpcId']: t for t in tables_named(aws, 'edge')}
    assert set(tables) == {front['vpc'], back['vpc']}
    assert router['id'] == tables[front['vpc']]['RouteTableId'], 'the first interface\'s table names the router'
    for side, other in ((front, back), (back, front)):
        table = tables[side['vpc']]
        igw = gateways(aws, side['vpc'])[0]['InternetGatewayId']
        assert associated(table) == [side['subnet']] and tags(table)['run-id'] == 't-rt'
        assert routes(table) == {other['cidr']: pcx, '0.0.0.0/0': igw}
    [listed] = [r for r in ec2_provider.list('router') if r.name == 'edge']
    assert listed.id == router['id'] and listed.interfaces == ['back', 'front']
    assert len(ec2_provider.list('router', name='edge')) == 1

    assert run('router', **args)['changed'] is False
    busy = run('network', name='front-net', state='absent')
    assert busy['failed'] and "router 'edge'" in busy['msg'] and "peering connection %s to network 'back-net'" % pcx in busy['msg']

    assert run('router', name='edge', state='absent', check=True)['changed']
    assert len(tables_named(aws, 'edge')) == 2 and len(peerings(aws, front['vpc'], back['vpc'])) == 1
    deleted = run('router', name='edge', state='absent')
    assert deleted['changed'] and deleted['router'] is None
    assert tables_named(aws, 'edge') == [] and peerings(aws, front['vpc'], back['vpc']) == []
    assert gateways(aws, front['vpc']) == [] and gateways(aws, back['vpc']) == []
    assert run('router', name='edge', state='absent')['changed'] is False
    assert run('network', name='front-net', state='absent')['changed']
    assert run('network', name='back-net', state='absent')['changed']


def test_router_follows_its_interfaces_between_vpcs(run, aws, two_vpcs):
    front, back = two_vpcs['front'], two_vpcs['back']
    rid = run('router', name='edge', interfaces=['front'])['router']['id']
    assert peerings(aws, front['vpc'], back['vpc']) == []

    joined = run('router', name='edge', interfaces=['front', 'back'], external_network='internet')
    assert joined['changed'] and joined['router']['id'] == rid and joined['router']['interfaces'] == ['back', 'front']
    [peering] = peerings(aws, front['vpc'], back['vpc'])
    assert peering['Status']['Code'] == 'active'
    tables = {t['VpcId']: t for t in tables_named(aws, 'edge')}
    assert routes(tables[back['vpc']])[front['cidr']] == peering['VpcPeeringConnectionId']
    assert routes(tables[front['vpc']])[back['cidr']] == peering['VpcPeeringConnectionId']
    assert run('router', name='edge', interfaces=['back', 'front'], external_network='internet')['changed'] is False

    cut = run('router', name='edge', interfaces=['front'])
    assert cut['changed'] and cut['router']['id'] == rid and cut['router']['interfaces'] == ['front']
    assert peerings(aws, front['vpc'], back['vpc']) == [], 'the peering outlived the interface that needed it'
    [table] = tables_named(aws, 'edge')
    assert table['RouteTableId'] == rid and routes(table) == {'0.0.0.0/0': gateways(aws, front['vpc'])[0]['InternetGatewayId']}
    assert gateways(aws, back['vpc']) == []

    moved = run('router', name='edge', interfaces=['back'], external_network='')
    assert moved['changed'] and moved['router']['id'] == rid, 'the id outlives the table it came from'
    [table] = tables_named(aws, 'edge')
    assert table['VpcId'] == back['vpc'] and associated(table) == [back['subnet']] and routes(table) == {}
    assert gateways(aws, front['vpc']) == []
    assert run('router', name='edge', interfaces=['back'], external_network='')['changed'] is False
    assert run('router', name='edge', state='absent')['changed']
    assert tables_named(aws, 'edge') == []
    assert run('network', name='front-net', state='absent')['changed']


def test_routers_across_the_same_vpcs_share_the_peering(run, aws, two_vpcs):
    front, back = two_vpcs['front'], two_vpcs['back']
    run('subnet', name='front-2', network='front-net', cidr='10.10.1.128/25')
    run('subnet', name='back-2', network='back-net', cidr='10.10.2.128/25')
    run('router', name='edge-a', interfaces=['front', 'back'])
    assert run('router', name='edge-b', interfaces=['front-2', 'back-2'])['changed']
    [peering] = peerings(aws, front['vpc'], back['vpc'])
    pcx = peering['VpcPeeringConnectionId']
    assert all(routes(t) == {other['cidr']: pcx} for t in tables_named(aws, 'edge-b')
               for other in (front, back) if t['VpcId'] != other['vpc'])
    assert run('router', name='edge-a', state='absent')['changed']
    assert [p['VpcPeeringConnectionId'] for p in peerings(aws, front['vpc'], back['vpc'])] == [pcx], \
        'the peering went while edge-b routes through it'
    assert run('router', name='edge-b', interfaces=['front-2', 'back-2'])['changed'] is False
    assert run('router', name='edge-b', state='absent')['changed']
    assert peerings(aws, front['vpc'], back['vpc']) == []


def test_overlapping_vpcs_are_refused(run, aws, vpc):
    back = run('network', name='back', cidr='10.10.2.0/24')['network']
    run('subnet', name='back-a', network='back', cidr='10.10.2.0/24')
    message = ("interfaces: front-a, back-a are in networks 'front' (10.10.0.0/16) and 'back' (10.10.2.0/24), whose "
               "ranges overlap; a VPC peering connection cannot route between them")
    for check in (True, False):
        refused = run('router', name='edge', interfaces=['front-a', 'back-a'], external_network='external', check=check)
        assert refused['failed'] and '\n' not in refused['msg'] and refused['msg'] == message
    assert tables_named(aws, 'edge') == [] and peerings(aws, vpc['id'], back['id']) == []
    assert gateways(aws, vpc['id']) == [] and gateways(aws, back['id']) == []

    run('router', name='edge', interfaces=['front-a'])
    for check in (True, False):
        grown = run('router', name='edge', interfaces=['front-a', 'back-a'], check=check)
        assert grown['failed'] and grown['msg'] == message
    [table] = tables_named(aws, 'edge')
    assert associated(table) == [vpc['subnet_ids']['front-a']] and peerings(aws, vpc['id'], back['id']) == []


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
