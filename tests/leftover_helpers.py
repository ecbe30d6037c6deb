"""What a run left behind on a cloud, as a client this collection did not write lists it: the
openstack CLI (python-openstackclient) and boto3."""

from __future__ import annotations


def openstack_left_behind(osc, run_id):
    """Every object labelled with the run id that still exists, by kind, as the openstack CLI lists them."""
    tag = 'run-id=%s' % run_id
    found = {kind: [item['ID'] for item in osc(*argv, '--tags', tag)]
             for kind, argv in (('networks', ('network', 'list')), ('subnets', ('subnet', 'list')),
                                ('routers', ('router', 'list')), ('floating_ips', ('floating', 'ip', 'list')),
                                ('security_groups', ('security', 'group', 'list')))}
    found['servers'] = [s['ID'] for s in osc('server', 'list', '--long')
                        if 'run-id' in str(s.get('Properties')) and run_id in str(s.get('Properties'))]
    return {kind: ids for kind, ids in found.items() if ids}


def ec2_left_behind(aws, run_id):
    """Every object of the run that still exists, by kind (tags outlive deleted objects in moto)."""
    tagged = [{'Name': 'tag:run-id', 'Values': [run_id]}]
    live = [{'Name': 'instance-state-name', 'Values': ['pending', 'running', 'stopping', 'stopped']}]
    found = {
        'instances': [i['InstanceId'] for r in aws.describe_instances(Filters=tagged + live)['Reservations']
                      for i in r['Instances']],
        'vpcs': [v['VpcId'] for v in aws.describe_vpcs(Filters=tagged)['Vpcs']],
        'subnets': [s['SubnetId'] for s in aws.describe_subnets(Filters=tagged)['Subnets']],
        'security_groups': [g['GroupId'] for g in aws.describe_security_groups(Filters=tagged)['SecurityGroups']],
        'route_tables': [t['RouteTableId'] for t in aws.describe_route_tables(Filters=tagged)['RouteTables']],
        'addresses': [a['AllocationId'] for a in aws.describe_addresses(Filters=tagged)['Addresses']],
        'internet_gateways': [g['InternetGatewayId'] for g in aws.describe_internet_gateways(Filters=tagged)['InternetGateways']],
        # moto does not filter peering connections by tag: the tag is checked here.
        'peerings': [p['VpcPeeringConnectionId'] for p in aws.describe_vpc_peering_connections(Filters=tagged)['VpcPeeringConnections']
                     if p['Status']['Code'] not in ('deleted', 'rejected', 'failed', 'expired')
                     and {'Key': 'run-id', 'Value': run_id} in p.get('Tags', [])],
    }
    return {kind: ids for kind, ids in found.items() if ids}
