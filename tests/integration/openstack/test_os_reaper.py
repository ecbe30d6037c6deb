"""The reaper over a clouds file of three clouds (a lab, openstack-local and aws-local) in one run:
only what carries the collection's labels and a lease that has ended goes, on every cloud; each
cloud's own client (ip, the openstack CLI, boto3) confirms it."""

from __future__ import annotations

import re

import pytest
import yaml

from lab_helpers import PREFIX, lab_namespaces, purge_lab
from lifecycle_helpers import playbook
from leftover_helpers import ec2_left_behind, openstack_left_behind as os_left_behind

LAB = 'reaplab'
SMALL = {'networks': [{'name': 'net', 'cidr': '10.62.1.0/24'}], 'servers': [{'name': 'vm', 'network': 'net'}]}


def reap(clouds_file, *extra):
    """The summary lines playbooks/reap.yml prints for every cloud of ``clouds_file``."""
    proc = playbook('reap.yml', clouds_file, LAB, 'reaper', *extra)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return re.findall(r'^\s+"([a-z0-9_-]+: [^"]+)",?$', proc.stdout, re.M)


@pytest.fixture
def three_clouds(tmp_path, openstack_settings, ec2_settings):
    path = tmp_path / 'clouds.yml'
    path.write_text(yaml.safe_dump({'clouds': {LAB: {'provider': 'local'}, 'openstack-local': openstack_settings,
                                               'aws-local': ec2_settings}}))
    purge_lab(LAB)
    yield str(path)
    purge_lab(LAB)


@pytest.mark.usefixtures('os_clean', 'ec2_clean')
def test_the_reaper_deletes_only_expired_resources_of_the_collection_on_every_cloud(run, three_clouds, osc, aws):
    clouds = (LAB, 'openstack-local', 'aws-local')
    for cloud in clouds:
        on = {'cloud': cloud, 'clouds_file': three_clouds}
        assert run('topology', topology=dict(SMALL, run_id='old'), lease='1h', **on)['changed']
        assert run('topology', topology=dict(SMALL, run_id='kept'), lease='never', **on)['changed']
        assert run('network', name='mine', cidr='10.63.0.0/16', **on)['changed']  # no labels at all
    vms = lab_namespaces('%s%s-vm-' % (PREFIX, LAB))
    assert len(vms) == 2

    clouds_in_order = sorted(clouds)
    listed = reap(three_clouds, '--check', '-e', 'as_of=2099-01-01T00:00:00Z')
    assert listed == ['%s: 3 expired resources of runs old would be deleted' % cloud for cloud in clouds_in_order]
    assert len(lab_namespaces('%s%s-vm-' % (PREFIX, LAB))) == 2
    assert reap(three_clouds) == ['%s: nothing has expired' % cloud for cloud in clouds_in_order]
    assert reap(three_clouds, '-e', 'as_of=2099-01-01T00:00:00Z') == [
        '%s: 3 expired resources of runs old deleted' % cloud for cloud in clouds_in_order]
    # Each cloud's own client: the old run is gone, the kept run and the unlabelled network are not.
    assert len(lab_namespaces('%s%s-vm-' % (PREFIX, LAB))) == 1
    assert os_left_behind(osc, 'old') == {} and set(os_left_behind(osc, 'kept')) == {'networks', 'subnets', 'servers'}
    assert [n['Name'] for n in osc('network', 'list', '--name', 'mine')] == ['mine']
    assert ec2_left_behind(aws, 'old') == {} and set(ec2_left_behind(aws, 'kept')) == {'vpcs', 'subnets', 'instances'}
    assert [v for v in aws.describe_vpcs()['Vpcs'] if {'Key': 'Name', 'Value': 'mine'} in v.get('Tags', [])]
    for cloud in clouds:
        on = {'cloud': cloud, 'clouds_file': three_clouds}
        assert run('topology', state='audit', topology=dict(SMALL, run_id='kept'), **on)['drift'] == []
        assert run('topology', run_id='kept', state='absent', **on)['changed']
        assert run('network', name='mine', state='absent', **on)['changed']
