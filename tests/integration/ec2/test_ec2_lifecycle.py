"""The lifecycle playbook on aws-local: provision, validate (no data plane: moto's instances are
records, so every expectation is judged from the configuration EC2 holds), report, tear down;
boto3 then finds nothing of the run left."""

from __future__ import annotations

import json


from leftover_helpers import ec2_left_behind as left_behind
from lifecycle_helpers import lifecycle, playbook


def test_lifecycle_judges_every_expectation_from_configuration_and_leaves_nothing(
        ec2_clouds_file, aws, ec2_clean, tmp_path):
    run_id = 'pytest-ec2-default'
    proc = lifecycle(ec2_clouds_file, 'aws-local', None, run_id, tmp_path)  # playbooks/topologies/aws-local.yml
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert 'No data-plane check runs on aws-local: the clouds file does not set data_plane: true' in proc.stdout
    report = json.loads((tmp_path / 'report.json').read_text())
    assert report['run']['id'] == run_id and report['run']['cloud'] == 'aws-local'
    assert report['run']['data_plane'] is False and report['run']['evidence'] == 'configuration'
    assert 'does not set data_plane: true for aws-local' in report['run']['data_plane_reason']
    assert report['summary']['verdict'] == 'pass', report['summary']
    # Every expectation, the ICMP mesh and the floating IP, each marked as judged from configuration.
    names = {c['name'] for c in report['checks']}
    assert {'reach web->db tcp/5432', 'reach web->db tcp/22', 'reach db->web tcp/80', 'reach outside->db tcp/5432',
            'reach web->cache icmp', 'reach db->web icmp', 'pmtu web->db'} <= names, names
    assert all(c['labels']['evidence'] == 'configuration' for c in report['checks']), report['checks']
    allowed = next(c for c in report['checks'] if c['name'] == 'reach web->db tcp/5432')
    assert any(e.startswith('security group db of db admits ingress tcp/5432 from web')
               for e in allowed['explanation']['evidence']), allowed
    for name in ('junit.xml', 'report.html'):
        assert (tmp_path / name).is_file()
    made = {r['kind'] for r in json.loads((tmp_path / 'manifest.json').read_text())['resources']}
    assert made == {'network', 'subnet', 'router', 'security_group', 'server', 'floating_ip'}, made
    assert left_behind(aws, run_id) == {}


def test_servers_in_moto_default_group_are_judged_unreachable_and_torn_down(ec2_clouds_file, aws, ec2_clean, tmp_path):
    # moto's default VPC group has no ingress rule (AWS's admits its own members): the mesh is denied.
    run_id = 'pytest-ec2-l2-only'
    proc = lifecycle(ec2_clouds_file, 'aws-local', 'l2-only.yml', run_id, tmp_path)
    assert proc.returncode != 0
    report = json.loads((tmp_path / 'report.json').read_text())
    failed = [c for c in report['checks'] if c['verdict'] == 'fail']
    assert failed and all(c['name'].startswith('reach node-') for c in failed), failed
    assert all('(default: no ingress rule)' in c['reason'] for c in failed), failed[0]['reason']
    made = {r['kind'] for r in json.loads((tmp_path / 'manifest.json').read_text())['resources']}
    assert made == {'network', 'subnet', 'server'}, made
    assert left_behind(aws, run_id) == {}


def test_a_rule_revoked_with_boto3_fails_exactly_the_expectation_it_breaks(ec2_clouds_file, aws, ec2_clean, tmp_path):
    run_id = 'pytest-ec2-revoked'
    proc = playbook('provision.yml', ec2_clouds_file, 'aws-local', run_id, '-e', 'report_dir=%s' % tmp_path)
    try:
        assert proc.returncode == 0, proc.stdout[-4000:]
        [group] = aws.describe_security_groups(Filters=[{'Name': 'tag:run-id', 'Values': [run_id]},
                                                        {'Name': 'group-name', 'Values': ['db']}])['SecurityGroups']
        [postgres] = [p for p in group['IpPermissions'] if p.get('FromPort') == 5432]
        aws.revoke_security_group_ingress(GroupId=group['GroupId'], IpPermissions=[postgres])
        proc = playbook('validate.yml', ec2_clouds_file, 'aws-local', run_id, '-e', 'report_dir=%s' % tmp_path)
        report = json.loads((tmp_path / 'report.json').read_text())
    finally:
        playbook('teardown.yml', ec2_clouds_file, 'aws-local', run_id)
    assert proc.returncode != 0
    assert report['summary']['failed_checks'] == ['reach web->db tcp/5432'], report['summary']
    [lost] = [c for c in report['checks'] if c['verdict'] == 'fail']
    assert lost['labels']['evidence'] == 'configuration' and lost['observed'] == 'deny'
    assert lost['reason'].startswith('expected allow, the configuration denies it: ')
    assert 'no security group of db admits ingress tcp/5432 from web' in lost['reason']
    assert left_behind(aws, run_id) == {}
