"""image_info, size_info and cloud_info on EC2 (moto), confirmed with boto3."""

from __future__ import annotations

import pathlib

import yaml

AMI_NAME = 'amzn2-ami-hvm-2.0.20180810-x86_64-gp2'


def test_image_info_by_name(run, aws, ec2_clean):
    found = run('image_info', name=AMI_NAME)
    expected = aws.describe_images(Filters=[{'Name': 'name', 'Values': [AMI_NAME]}])['Images']
    assert found['changed'] is False and len(found['images']) == 1 == len(expected)
    image = found['images'][0]
    assert image['id'] == expected[0]['ImageId'] and image['name'] == AMI_NAME and image['os'] == 'linux'
    assert image['description'] == expected[0]['Description']
    assert run('image_info', name='amzn2-ami-hvm-*')['images'] == [], 'a name is exact, not a pattern'


def test_image_info_lists_the_catalog(run, aws, ec2_clean):
    listed = run('image_info')['images']
    expected = {i['ImageId'] for i in aws.describe_images(Owners=['self', 'amazon'])['Images']}
    assert len(listed) > 1000 and {i['id'] for i in listed} == expected


def test_size_info(run, aws, ec2_clean):
    sizes = {s['name']: s for s in run('size_info')['sizes']}
    expected = {t['InstanceType']: t for t in aws.describe_instance_types(
        InstanceTypes=['t3.micro', 'm5d.large'])['InstanceTypes']}
    micro, storage = sizes['t3.micro'], sizes['m5d.large']
    assert micro['vcpus'] == expected['t3.micro']['VCpuInfo']['DefaultVCpus'] == 2
    assert micro['ram_mb'] == expected['t3.micro']['MemoryInfo']['SizeInMiB'] == 1024 and micro['disk_gb'] == 0
    assert storage['disk_gb'] == expected['m5d.large']['InstanceStorageInfo']['TotalSizeInGB'] > 0
    assert len(sizes) > 500
    assert run('size_info', name='t3.micro')['sizes'] == [micro]


def test_cloud_info_and_labels(run, aws, ec2_clean):
    info = run('cloud_info')
    cloud = info['cloud']
    assert info['changed'] is False and cloud['name'] == 'aws-local' and cloud['provider'] == 'libcloud'
    assert cloud['region'] == 'us-east-1' and cloud['external_networks'] == [{'name': 'internet'}]
    assert cloud['capabilities']['data_plane'] is False and cloud['capabilities']['bulk_create'] is True
    assert cloud['counts']['servers'] == 0 and cloud['counts']['keypairs'] == 0
    assert cloud['access']['default_mode'] == 'ssh' and cloud['access']['endpoint_host'] == '127.0.0.1'

    run_id = {'run-id': 't-info'}
    servers = run('server', name='web', count=2, image=AMI_NAME, labels=run_id)['servers']
    run('server', name='other', image=AMI_NAME, labels={'run-id': 'someone-else'})
    keypair = run('keypair', name='k', labels=run_id)['keypair']
    fip = run('floating_ip', server='web-1', network='internet', labels=run_id)['floating_ip']
    assert run('cloud_info')['cloud']['counts']['servers'] == 3

    resources = run('cloud_info', labels=run_id)['resources']
    assert sorted((r['kind'], r['id'], r['name']) for r in resources) == sorted(
        [('server', s['id'], s['name']) for s in servers]
        + [('keypair', keypair['id'], 'k'), ('floating_ip', fip['id'], fip['address'])])
    tagged = {t['ResourceId'] for t in aws.describe_tags(
        Filters=[{'Name': 'key', 'Values': ['run-id']}, {'Name': 'value', 'Values': ['t-info']}])['Tags']}
    assert {r['id'] for r in resources} == tagged
    assert run('cloud_info', labels={'run-id': 't-info', 'tier': 'none'})['resources'] == []

    # Tags outlive what they tagged: a teardown must still see an empty run.
    assert run('floating_ip', address=fip['address'], network='internet', state='absent')['changed']
    assert run('server', name='web', count=2, labels=run_id, state='absent')['changed']
    assert run('keypair', name='k', state='absent')['changed']
    assert run('cloud_info', labels=run_id)['resources'] == []
    assert [r['name'] for r in run('cloud_info', labels={'run-id': 'someone-else'})['resources']] == ['other']


def test_data_plane_is_what_the_clouds_file_says(run, ec2_clouds_file, tmp_path):
    data = yaml.safe_load(pathlib.Path(ec2_clouds_file).read_text())
    data['clouds']['aws-local']['data_plane'] = True
    path = tmp_path / 'clouds.yml'
    path.write_text(yaml.safe_dump(data))
    cloud = run('cloud_info', clouds_file=str(path))['cloud']
    assert cloud['capabilities']['data_plane'] is True and cloud['access']['data_plane_reason'] is None
    reason = run('cloud_info')['cloud']['access']['data_plane_reason']
    assert reason.startswith('the clouds file does not set data_plane: true for aws-local')
