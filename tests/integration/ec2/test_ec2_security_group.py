"""security_group on EC2 against moto: rules added, removed and purged as DescribeSecurityGroups shows
them, EC2's default egress rule, the group's VPC, refusals; boto3 confirms."""

from __future__ import annotations

import pytest

from test_ec2_network import tags

pytestmark = pytest.mark.usefixtures('ec2_clean')

ALL_EGRESS = [{'IpProtocol': '-1', 'IpRanges': [{'CidrIp': '0.0.0.0/0'}]}]


def group_named(aws, name):
    found = aws.describe_security_groups(Filters=[{'Name': 'group-name', 'Values': [name]}])['SecurityGroups']
    assert len(found) <= 1
    return found[0] if found else None


def permissions(perms):
    """EC2's permissions as comparable tuples: (protocol, from, to, cidr or group id, description)."""
    found = set()
    for perm in perms:
        for cidr in perm.get('IpRanges', []):
            found.add((perm['IpProtocol'], perm.get('FromPort'), perm.get('ToPort'), cidr['CidrIp'], cidr.get('Description')))
        for pair in perm.get('UserIdGroupPairs', []):
            found.add((perm['IpProtocol'], perm.get('FromPort'), perm.get('ToPort'), pair['GroupId'], None))
    return found


def ingress(aws, name):
    return permissions(group_named(aws, name)['IpPermissions'])


def egress(aws, name):
    return permissions(group_named(aws, name)['IpPermissionsEgress'])


DEFAULT_EGRESS = {('-1', None, None, '0.0.0.0/0', None)}


@pytest.fixture
def vpc(run):
    return run('network', name='front', labels={'run-id': 't-sg'})['network']


def test_security_group_lifecycle(run, aws, vpc):
    args = {'name': 'web', 'description': 'front end', 'labels': {'run-id': 't-sg'},
            'rules': [{'protocol': 'tcp', 'port': '22'}, {'protocol': 'icmp', 'remote_cidr': '10.0.0.0/8'}]}
    checked = run('security_group', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['security_group']['network'] == 'front' and len(checked['security_group']['rules']) == 2
    assert group_named(aws, 'web') is None, 'check mode created a group'

    created = run('security_group', **args)
    assert created['changed']
    group = created['security_group']
    assert group['id'].startswith('sg-') and group['network'] == 'front' and group['description'] == 'front end'
    assert sorted(group['rules'], key=lambda r: r['protocol']) == [
        {'direction': 'ingress', 'protocol': 'icmp', 'port_min': None, 'port_max': None, 'remote_cidr': '10.0.0.0/8',
         'remote_group': None},
        {'direction': 'ingress', 'protocol': 'tcp', 'port_min': 22, 'port_max': 22, 'remote_cidr': '0.0.0.0/0',
         'remote_group': None}]
    seen = group_named(aws, 'web')
    assert seen['VpcId'] == vpc['id'] and seen['Description'] == 'front end'
    assert tags(seen) == {'Name': 'web', 'run-id': 't-sg'}
    assert ingress(aws, 'web') == {('tcp', 22, 22, '0.0.0.0/0', None), ('icmp', -1, -1, '10.0.0.0/8', None)}
    assert egress(aws, 'web') == DEFAULT_EGRESS, 'a group without egress rules keeps EC2\'s allow-all egress'

    assert run('security_group', **args)['changed'] is False
    assert run('security_group', name='web', labels={'run-id': 't-sg'})['changed'] is False

    added = run('security_group', name='web', purge_rules=False, rules=[{'protocol': 'tcp', 'port': '8000-8100'}])
    assert added['changed'] and len(added['security_group']['rules']) == 3
    assert ('tcp', 8000, 8100, '0.0.0.0/0', None) in ingress(aws, 'web') and len(ingress(aws, 'web')) == 3
    assert run('security_group', name='web', purge_rules=False, rules=[{'protocol': 'tcp', 'port': '22'}])['changed'] is False

    purged = run('security_group', name='web', rules=[{'protocol': 'udp'}])
    assert purged['changed'] and purged['security_group']['rules'] == [
        {'direction': 'ingress', 'protocol': 'udp', 'port_min': None, 'port_max': None, 'remote_cidr': '0.0.0.0/0',
         'remote_group': None}]
    assert ingress(aws, 'web') == {('udp', 0, 65535, '0.0.0.0/0', None)}

    assert run('security_group', name='web', state='absent', check=True)['changed']
    assert group_named(aws, 'web') is not None
    deleted = run('security_group', name='web', state='absent')
    assert deleted['changed'] and deleted['security_group'] is None
    assert group_named(aws, 'web') is None
    assert run('security_group', name='web', state='absent')['changed'] is False


def test_egress_rules_replace_the_default_one(run, aws, vpc):
    run('security_group', name='web', rules=[{'protocol': 'tcp', 'port': '22'}])
    assert egress(aws, 'web') == DEFAULT_EGRESS and run('security_group', name='web')['security_group']['rules'][0][
        'direction'] == 'ingress'

    https_only = [{'protocol': 'tcp', 'port': '22'}, {'protocol': 'tcp', 'port': '443', 'direction': 'egress'}]
    limited = run('security_group', name='web', rules=https_only)
    assert limited['changed'] and egress(aws, 'web') == {('tcp', 443, 443, '0.0.0.0/0', None)}
    assert run('security_group', name='web', rules=https_only)['changed'] is False

    explicit = [{'protocol': 'tcp', 'port': '22'}, {'direction': 'egress'}]
    opened = run('security_group', name='web', rules=explicit)
    assert opened['changed'] and {'direction': 'egress', 'protocol': 'any', 'port_min': None, 'port_max': None,
                                  'remote_cidr': '0.0.0.0/0', 'remote_group': None} in opened['security_group']['rules']
    assert [e[:4] for e in egress(aws, 'web')] == [('-1', None, None, '0.0.0.0/0')]
    assert run('security_group', name='web', rules=explicit)['changed'] is False, 'an explicit allow-all egress rule reads back'

    back = run('security_group', name='web', rules=[{'protocol': 'tcp', 'port': '22'}])
    assert back['changed'] and [r['direction'] for r in back['security_group']['rules']] == ['ingress']
    assert egress(aws, 'web') == DEFAULT_EGRESS, 'without egress rules EC2\'s allow-all egress comes back'
    assert run('security_group', name='web', rules=[{'protocol': 'tcp', 'port': '22'}])['changed'] is False


def test_remote_groups(run, aws, vpc):
    web = run('security_group', name='web', rules=[{'protocol': 'tcp', 'port': '80'},
                                                   {'protocol': 'any', 'remote_group': 'web'}])['security_group']
    assert ('-1', None, None, web['id'], None) in ingress(aws, 'web')
    db = run('security_group', name='db', rules=[{'protocol': 'tcp', 'port': '5432', 'remote_group': 'web'}])
    assert db['changed'] and db['security_group']['rules'][0]['remote_group'] == 'web'
    assert ingress(aws, 'db') == {('tcp', 5432, 5432, web['id'], None)}
    assert run('security_group', name='db', rules=[{'protocol': 'tcp', 'port': '5432', 'remote_group': 'web'}]
               )['changed'] is False

    refused = run('security_group', name='web', state='absent')
    assert refused['failed'] and refused['msg'] == ("security group 'web' is the remote group of rules in db; remove "
                                                    "those rules first")
    assert group_named(aws, 'web') is not None

    missing = run('security_group', name='cache', rules=[{'protocol': 'tcp', 'port': '6379', 'remote_group': 'nope'}])
    assert missing['failed'] and missing['msg'] == "rules[0].remote_group: security group 'nope' does not exist in network 'front'"
    assert group_named(aws, 'cache') is None


def test_the_groups_vpc(run, aws, vpc):
    back = run('network', name='back', cidr='10.1.0.0/16', labels={'run-id': 't-sg'})['network']
    for check in (True, False):
        refused = run('security_group', name='web', labels={'run-id': 't-sg'}, check=check)
        assert refused['failed'] and '\n' not in refused['msg']
        assert refused['msg'].startswith("network: security group 'web' could be in any of networks 'back', 'front'")
    assert group_named(aws, 'web') is None

    placed = run('security_group', name='web', network='back', labels={'run-id': 't-sg'})
    assert placed['changed'] and placed['security_group']['network'] == 'back'
    assert group_named(aws, 'web')['VpcId'] == back['id']
    assert run('security_group', name='web', network='back', labels={'run-id': 't-sg'})['changed'] is False
    assert run('security_group', name='web', labels={'run-id': 't-sg'})['changed'] is False

    moved = run('security_group', name='web', network='front')
    assert moved['failed'] and moved['msg'].startswith("network: security_group 'web' has network 'back'")
    assert group_named(aws, 'web')['VpcId'] == back['id']

    pinned = run('security_group', name='db', rules=[{'protocol': 'tcp', 'port': '5432', 'remote_group': 'web'}])
    assert pinned['changed'] and pinned['security_group']['network'] == 'back', 'its remote group pins the VPC'

    other_run = run('security_group', name='other', labels={'run-id': 'another-run'})
    assert other_run['failed'], 'two networks and none of this run: which one is not guessed'
    run('network', name='solo', cidr='10.2.0.0/16', labels={'run-id': 'solo-run'})
    solo = run('security_group', name='solo-web', labels={'run-id': 'solo-run'})
    assert solo['changed'] and solo['security_group']['network'] == 'solo', 'the one network of the group\'s run'


def test_bad_input_changes_nothing(run, aws, vpc):
    for args, message in (
            ({'name': 'default', 'labels': {'run-id': 't-sg'}}, "name: 'default' is the group EC2 gives every VPC; give the group another name"),
            ({'name': 'web', 'network': 'nowhere'}, "network: network 'nowhere' does not exist on aws-local"),
            ({'name': 'web', 'rules': [{'protocol': 'icmp', 'port': '22'}]},
             'rules[0].port: only tcp and udp rules take a port, this rule is icmp'),
    ):
        failed = run('security_group', **args)
        assert failed['failed'] and failed['msg'] == message
    assert group_named(aws, 'web') is None

    run('security_group', name='web', description='one')
    redescribed = run('security_group', name='web', description='two')
    assert redescribed['failed'] and redescribed['msg'].startswith('description: EC2 cannot change the description')
    assert group_named(aws, 'web')['Description'] == 'one'


def test_group_in_use_is_refused_and_kept(run, aws, vpc):
    group = run('security_group', name='web')['security_group']
    assert group['description'] == '' and run('security_group', name='web', description='')['changed'] is False
    subnet = run('subnet', name='front-a', network='front', cidr='10.0.1.0/24')['subnet']
    instance = aws.run_instances(ImageId='ami-12345678', MinCount=1, MaxCount=1, SubnetId=subnet['id'],
                                 SecurityGroupIds=[group['id']],
                                 TagSpecifications=[{'ResourceType': 'instance', 'Tags': [{'Key': 'Name', 'Value': 'tenant'}]}])
    refused = run('security_group', name='web', state='absent')
    assert refused['failed'] and refused['msg'] == "security group 'web' is in use by servers tenant; remove it from them first"
    assert group_named(aws, 'web') is not None
    network = run('network', name='front', state='absent')
    assert network['failed'] and 'security group \'web\'' in network['msg'] and "server 'tenant'" in network['msg']
    aws.terminate_instances(InstanceIds=[instance['Instances'][0]['InstanceId']])
    assert run('security_group', name='web', state='absent')['changed']
    assert run('network', name='front', state='absent')['changed']
