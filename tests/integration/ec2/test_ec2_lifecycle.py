"""The lifecycle playbook on aws-local: provision, validate (no data plane: moto's instances are
records), report, tear down; boto3 then finds nothing of the run left."""

from __future__ import annotations

import json

import pytest

from lifecycle_helpers import lifecycle


def left_behind(aws, run_id):
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
        'peerings': [p['VpcPeeringConnectionId'] for p in aws.describe_vpc_peering_connections(Filters=tagged)['VpcPeeringConnections']
                     if p['Status']['Code'] not in ('deleted', 'rejected', 'failed', 'expired')],
    }
    return {kind: ids for kind, ids in found.items() if ids}


@pytest.mark.parametrize('topology, kinds', [
    ('default.yml', {'network', 'subnet', 'router', 'security_group', 'server', 'floating_ip'}),
    ('l2-only.yml', {'network', 'subnet', 'server'}),
])
def test_lifecycle_provisions_reports_and_leaves_nothing(ec2_clouds_file, aws, ec2_clean, tmp_path, topology, kinds):
    run_id = 'pytest-ec2-' + topology.split('.')[0]
    proc = lifecycle(ec2_clouds_file, 'aws-local', topology, run_id, tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert 'No data-plane check runs on aws-local: the clouds file does not set data_plane: true' in proc.stdout
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['run']['id'] == run_id and report['run']['cloud'] == 'aws-local'
    assert report['run']['data_plane'] is False
    assert 'does not set data_plane: true for aws-local' in report['run']['data_plane_reason']
    assert report['summary']['verdict'] == 'pass'
    for name in ('junit.xml', 'report.html'):
        assert (tmp_path / name).is_file()
    made = {r['kind'] for r in json.loads((tmp_path / 'manifest.json').read_text())['resources']}
    assert made == kinds, made
    assert left_behind(aws, run_id) == {}
