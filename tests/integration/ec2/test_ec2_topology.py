"""The topology module on aws-local: drift made with boto3 is audited, two runs with the same
names live side by side, and a provision killed part way is torn down to nothing boto3 can find."""

from __future__ import annotations

import copy
import pathlib

import yaml

from lifecycle_helpers import killed_while, playbook
from leftover_helpers import ec2_left_behind as left_behind

ROOT = pathlib.Path(__file__).resolve().parents[3]
AWS = yaml.safe_load((ROOT / 'playbooks' / 'topologies' / 'aws-local.yml').read_text())


def topology(run_id):
    return dict(copy.deepcopy(AWS), run_id=run_id)


def named(items, run_id, name):
    """The one item tagged with the run id and the Name (filtered here: one tag filter per request
    is what moto and EC2 agree on)."""
    (item,) = [i for i in items if {'Key': 'run-id', 'Value': run_id} in i.get('Tags', [])
               and {'Key': 'Name', 'Value': name} in i.get('Tags', [])]
    return item


def instance(aws, run_id, name):
    live = [{'Name': 'instance-state-name', 'Values': ['pending', 'running', 'stopping', 'stopped']}]
    return named([i for r in aws.describe_instances(Filters=live)['Reservations'] for i in r['Instances']],
                 run_id, name)


def test_audit_reports_drift_made_with_boto3_and_none_when_untouched(run, aws, ec2_clean):
    assert run('topology', topology=topology('ec2-a'))['changed']
    untouched = run('topology', state='audit', topology=topology('ec2-a'))
    assert untouched['drift'] == [] and not untouched['changed']

    group = named(aws.describe_security_groups()['SecurityGroups'], 'ec2-a', 'db')
    aws.authorize_security_group_ingress(GroupId=group['GroupId'], IpPermissions=[
        {'IpProtocol': 'tcp', 'FromPort': 22, 'ToPort': 22, 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}])
    aws.stop_instances(InstanceIds=[instance(aws, 'ec2-a', 'cache')['InstanceId']])
    back = named(aws.describe_subnets()['Subnets'], 'ec2-a', 'back')
    # Router edge is a route table in each VPC it joins; back's is the one associated with it.
    (association,) = [a for t in aws.describe_route_tables()['RouteTables'] for a in t['Associations']
                      if a.get('SubnetId') == back['SubnetId']]
    aws.disassociate_route_table(AssociationId=association['RouteTableAssociationId'])
    (address,) = aws.describe_addresses(Filters=[{'Name': 'tag:run-id', 'Values': ['ec2-a']}])['Addresses']
    aws.associate_address(AllocationId=address['AllocationId'], AllowReassociation=True,
                          InstanceId=instance(aws, 'ec2-a', 'db')['InstanceId'])
    aws.create_vpc(CidrBlock='10.77.0.0/16', TagSpecifications=[{'ResourceType': 'vpc', 'Tags': [
        {'Key': 'Name', 'Value': 'stray'}, {'Key': 'run-id', 'Value': 'ec2-a'},
        {'Key': 'managed-by', 'Value': 'cloudops.multicloud'}]}])

    audit = run('topology', state='audit', topology=topology('ec2-a'))
    drift = {(d['kind'], d['name']): (d['drift'], d['detail']) for d in audit['drift']}
    assert set(drift) == {('security_group', 'db'), ('server', 'cache'), ('router', 'edge'), ('floating_ip', 'web'),
                          ('network', 'stray')}, drift
    assert drift[('security_group', 'db')] == ('differs', 'rule ingress tcp/22 from 0.0.0.0/0 added')
    assert drift[('server', 'cache')][1] == "server 'cache' is SHUTOFF"
    assert drift[('router', 'edge')] == ('differs', 'interfaces: back missing')
    assert drift[('floating_ip', 'web')] == ('differs', 'floating IP %s is on db, declared on web' % address['PublicIp'])
    assert drift[('network', 'stray')][0] == 'not declared'

    healed = run('topology', topology=topology('ec2-a'))
    assert healed['changed'], healed.get('msg')
    assert run('topology', state='audit', topology=topology('ec2-a'))['drift'] == []
    assert run('topology', run_id='ec2-a', state='absent')['changed']
    assert left_behind(aws, 'ec2-a') == {}


def test_two_runs_with_the_same_names_live_side_by_side_and_one_teardown_leaves_the_other(run, aws, ec2_clean):
    first = run('topology', topology=topology('ec2-a'))
    second = run('topology', topology=topology('ec2-b'))
    assert first['changed'] and second['changed'], first.get('msg') or second.get('msg')
    assert instance(aws, 'ec2-a', 'db')['SubnetId'] != instance(aws, 'ec2-b', 'db')['SubnetId']
    assert run('topology', run_id='ec2-b', state='absent')['changed']
    assert left_behind(aws, 'ec2-b') == {}
    assert run('topology', state='audit', topology=topology('ec2-a'))['drift'] == []
    assert run('topology', run_id='ec2-a', state='absent')['changed']
    assert left_behind(aws, 'ec2-a') == {}


def test_a_provision_killed_while_servers_start_is_torn_down_to_nothing(ec2_clouds_file, aws, ec2_clean, tmp_path):
    path = tmp_path / 'crash.yml'
    spec = topology('crash')
    spec['servers'] = [dict(server, count=4) for server in spec['servers']]
    path.write_text(yaml.safe_dump(spec))
    live = [{'Name': 'tag:run-id', 'Values': ['crash']},
            {'Name': 'instance-state-name', 'Values': ['pending', 'running']}]

    def servers_started():
        return 0 < sum(len(r['Instances']) for r in aws.describe_instances(Filters=live)['Reservations']) < 12
    killed_while(ec2_clouds_file, 'aws-local', path, tmp_path, servers_started, 'servers starting')
    assert left_behind(aws, 'crash'), 'the kill left nothing to clean up'
    proc = playbook('teardown.yml', ec2_clouds_file, 'aws-local', 'crash')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert left_behind(aws, 'crash') == {}
