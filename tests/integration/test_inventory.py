"""The clouds inventory over the lab and the moto server at once, checked against each cloud's own
client (the lab's namespaces, boto3) and against amazon.aws.aws_ec2 on the same backend."""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from types import SimpleNamespace

import pytest
import yaml

from inventory_helpers import plain
from lab_helpers import PREFIX, lab_namespaces, purge_lab
from net_helpers import free_port

BIN = pathlib.Path(sys.executable).parent
ROOT = pathlib.Path(__file__).resolve().parents[2]
# The ansible package whose ansible-core is 2.19; amazon.aws comes from it.
PEERS = 'ansible==12.3.0'
SCHEMA = {'id', 'name', 'cloud', 'provider', 'region', 'state', 'addresses', 'image', 'size', 'labels',
          'security_groups', 'created'}
# A lab of this test's own: it runs beside the tests of the shared test lab.
LAB = 'inv'
APPS = 103  # one reservation each: more than moto's page of 100 reservations
EVIL = "{{ lookup('pipe', 'touch %s') }}"


def reset(settings):
    url = 'http://%s:%s/moto-api/reset' % (settings['host'], settings['port'])
    urllib.request.urlopen(urllib.request.Request(url, method='POST'), timeout=10)


def boto(settings):
    import boto3
    return boto3.client('ec2', region_name=settings['region'],
                        endpoint_url='http://%s:%s' % (settings['host'], settings['port']),
                        aws_access_key_id=settings['key'], aws_secret_access_key=settings['secret'])


def launch(client, image, name, count=1, tags=None):
    tags = dict(tags or {}, Name=name)
    return [i['InstanceId'] for i in client.run_instances(
        ImageId=image, InstanceType='t3.micro', MinCount=count, MaxCount=count,
        TagSpecifications=[{'ResourceType': 'instance', 'Tags': [{'Key': k, 'Value': v} for k, v in tags.items()]}],
    )['Instances']]


def live_ids(client):
    return {i['InstanceId'] for page in client.get_paginator('describe_instances').paginate()
            for r in page['Reservations'] for i in r['Instances'] if i['State']['Name'] != 'terminated'}


@pytest.fixture(scope='module')
def hung_port():
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.fixture(scope='module')
def fleet(tmp_path_factory, ec2_settings, hung_port):
    """Three lab VMs (one stopped), 108 EC2 instances, and two clouds that cannot be listed."""
    work = tmp_path_factory.mktemp('fleet')
    purge_lab(LAB)
    reset(ec2_settings)
    dead = dict(ec2_settings, port=free_port(), region='eu-west-1')
    hung = dict(ec2_settings, port=hung_port, region='eu-west-2')
    clouds = work / 'clouds.multicloud.yml'
    clouds.write_text(yaml.safe_dump({'clouds': {
        LAB: {'provider': 'local'}, 'aws-local': ec2_settings, 'dead': dead, 'hung': hung}}))
    setup = work / 'setup.yml'
    setup.write_text('''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/cloudops.multicloud.clouds: {cloud: %s, clouds_file: %s}
  tasks:
    - cloudops.multicloud.network: {name: inv-front}
    - cloudops.multicloud.subnet: {name: inv-front, network: inv-front, cidr: 10.93.0.0/24}
    - cloudops.multicloud.server: {name: web, count: 2, networks: [inv-front], labels: {tier: web}}
    - cloudops.multicloud.server: {name: db, networks: [inv-front], labels: {tier: db}, state: stopped}
''' % (LAB, clouds))
    proc = subprocess.run([str(BIN / 'ansible-playbook'), str(setup)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    client = boto(ec2_settings)
    marker = work / 'rendered'
    ids = {'dup': launch(client, ec2_settings['image'], 'dup', count=2),
           'web-1': launch(client, ec2_settings['image'], 'web-1', tags={'tier': 'web'}),
           'evil': launch(client, ec2_settings['image'], 'evil', tags={'note': EVIL % marker}),
           'named': launch(client, ec2_settings['image'], EVIL % (work / 'named'))}
    for index in range(APPS):
        launch(client, ec2_settings['image'], 'app-%d' % index)
    yield {'clouds': clouds, 'work': work, 'client': client, 'ids': ids, 'marker': marker, 'named': work / 'named',
           'dead': dead, 'hung': hung, 'secret': ec2_settings['secret']}
    purge_lab(LAB)
    reset(ec2_settings)


def inventory(source_dir, source, *args, name='fleet', env=None):
    """ansible-inventory over a source file: .listed (parsed --list output or None), .output, .rc."""
    path = pathlib.Path(source_dir) / ('%s.clouds.yml' % name)
    path.write_text(yaml.safe_dump(dict({'plugin': 'cloudops.multicloud.clouds'}, **source)))
    command = [str(BIN / 'ansible-inventory'), '-i', str(path)] + list(args or ['--list'])
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env=dict(os.environ, **(env or {})))
    listed = json.loads(proc.stdout) if proc.returncode == 0 and '--list' in command else None
    return SimpleNamespace(listed=listed, output=proc.stdout + proc.stderr, rc=proc.returncode)


def hosts_of(listed):
    return {name: plain(hostvars) for name, hostvars in listed['_meta']['hostvars'].items()}


def members(listed, group):
    return set(listed.get(group, {}).get('hosts', []))


def test_one_inventory_over_every_cloud(fleet):
    result = inventory(fleet['work'], {'clouds_file': str(fleet['clouds']), 'timeout': 5})
    assert result.rc == 0, result.output
    listed, output = result.listed, result.output
    hosts = hosts_of(listed)
    assert all(set(h['cloudops']) == SCHEMA for h in hosts.values())
    by_cloud = {}
    for name, hostvars in hosts.items():
        by_cloud.setdefault(hostvars['cloudops']['cloud'], {})[name] = hostvars

    # Every instance boto3 lists, once each, across every page.
    ec2 = by_cloud['aws-local']
    assert {h['cloudops']['id'] for h in ec2.values()} == live_ids(fleet['client'])
    assert len(ec2) == APPS + 5
    assert sorted(n for n in ec2 if n.startswith('dup')) == sorted('dup.%s' % i for i in fleet['ids']['dup'])
    assert all(h['ansible_host'] == h['cloudops']['addresses']['public'] for h in ec2.values())
    assert {h['cloudops']['region'] for h in ec2.values()} == {'us-east-1'}

    # Every lab VM the host has a namespace for, reachable through the netns connection.
    lab = by_cloud[LAB]
    assert sorted(h['cloudops_netns'] for h in lab.values()) == lab_namespaces(PREFIX + LAB + '-vm-')
    assert sorted(lab) == ['db', 'web-1.' + LAB, 'web-2']
    assert 'web-1.aws-local' in ec2, 'a name two clouds share is qualified by the cloud'
    assert all(h['ansible_connection'] == 'cloudops.multicloud.netns' for h in lab.values())
    assert all(h['ansible_host'] == h['cloudops']['addresses']['private'] for h in lab.values())
    assert lab['db']['cloudops']['state'] == 'SHUTOFF'
    assert lab['web-2']['cloudops']['addresses']['networks'] == {'inv-front': [lab['web-2']['ansible_host']]}

    cloud_group = 'cloud_' + LAB.replace('-', '_')
    assert members(listed, cloud_group) == set(lab)
    assert members(listed, 'cloud_aws_local') == set(ec2)
    assert members(listed, 'provider_local') == set(lab)
    assert members(listed, 'region_us_east_1') == set(ec2)
    assert members(listed, 'state_shutoff') == {'db'}
    assert members(listed, 'network_inv_front') == set(lab)
    assert 'cloud_dead' in listed['all']['children'] and 'cloud_hung' in listed['all']['children']

    # The two clouds that cannot be listed are named, the rest still loads.
    errors = hosts['web-2']['_inventory_errors']
    assert [e['cloud'] for e in errors] == ['dead', 'hung']
    assert errors[0]['error'] == ('DescribeInstances failed: ConnectionFailed: cannot reach 127.0.0.1:%d '
                                  '(connection refused)' % fleet['dead']['port'])
    assert errors[1]['error'] == 'no answer within the timeout of 5 s'
    assert 'cloud dead was not listed' in output and 'Traceback' not in output
    assert fleet['secret'] not in output


def test_graph_and_the_netns_connection(fleet):
    graph = inventory(fleet['work'], {'clouds_file': str(fleet['clouds']), 'clouds': [LAB]}, '--graph')
    assert graph.rc == 0, graph.output
    assert '@cloud_%s:' % LAB.replace('-', '_') in graph.output and '|--web-2' in graph.output
    source = fleet['work'] / 'fleet.clouds.yml'
    proc = subprocess.run([str(BIN / 'ansible'), '-i', str(source), 'web-2', '-m', 'ansible.builtin.command',
                           '-a', 'ip -o -4 addr show'], capture_output=True, text=True, timeout=120, check=False)
    listed = inventory(fleet['work'], {'clouds_file': str(fleet['clouds']), 'clouds': [LAB]}, name='check').listed
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert plain(listed['_meta']['hostvars']['web-2']['ansible_host']) + '/24' in proc.stdout


def test_fail_on_errors_makes_any_failure_fatal(fleet):
    source = {'clouds_file': str(fleet['clouds']), 'clouds': [LAB, 'dead'], 'fail_on_errors': True}
    result = inventory(fleet['work'], source, env={'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'true'})
    assert result.rc != 0 and result.listed is None
    assert ('cloud dead: DescribeInstances failed: ConnectionFailed: cannot reach 127.0.0.1:%d (connection refused)'
            % fleet['dead']['port']) in result.output
    assert 'Traceback' not in result.output and fleet['secret'] not in result.output


def test_bad_source_names_the_field(fleet):
    result = inventory(fleet['work'], {'clouds_file': str(fleet['clouds']), 'clouds': ['nowhere']},
                       env={'ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED': 'true'})
    assert result.rc != 0
    assert "clouds[0]: 'nowhere' is not defined in %s" % fleet['clouds'] in result.output
    assert 'Traceback' not in result.output


def test_filters_hostnames_and_constructed(fleet):
    source = {
        'clouds_file': str(fleet['clouds']),
        'clouds': [{'name': LAB, 'states': ['SHUTOFF']}, {'name': 'aws-local', 'names': ['app-1?', 'web-*']}],
        'hostnames': 'id',
        'hostvar': 'server',
        'default_groups': False,
        'compose': {'flavor': 'server.size'},
        'groups': {'on_ec2': "server.cloud == 'aws-local'"},
        'keyed_groups': [{'key': "server.labels.tier | default('none')", 'prefix': 'tier'}],
    }
    result = inventory(fleet['work'], source, name='filtered')
    assert result.rc == 0, result.output
    listed = result.listed
    hosts = hosts_of(listed)
    names = {h['server']['name'] for h in hosts.values()}
    assert names == {'db', 'web-1'} | {'app-%d' % i for i in range(10, 20)}
    assert all(name == h['server']['id'] for name, h in hosts.items())
    assert all(h['flavor'] == h['server']['size'] for h in hosts.values())
    assert members(listed, 'on_ec2') == {n for n, h in hosts.items() if h['server']['cloud'] == 'aws-local'}
    assert {h['server']['name'] for n, h in hosts.items() if n in members(listed, 'tier_web')} == {'web-1'}
    assert {h['server']['name'] for n, h in hosts.items() if n in members(listed, 'tier_db')} == {'db'}
    assert not any(g.startswith('cloud_') for g in listed['all']['children'])


def test_templates_from_a_cloud_are_never_rendered(fleet):
    source = fleet['work'] / 'evil.clouds.yml'
    source.write_text(yaml.safe_dump({
        'plugin': 'cloudops.multicloud.clouds', 'clouds_file': str(fleet['clouds']), 'clouds': ['aws-local'],
        'filters': {'names': ['evil', EVIL[:3] + '*']}, 'compose': {'note_copy': 'cloudops.labels.note'},
        'keyed_groups': [{'key': 'cloudops.labels.note', 'prefix': 'note'}]}))
    playbook = fleet['work'] / 'show.yml'
    playbook.write_text('''
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: "note={{ hostvars['evil'].cloudops.labels.note }} copy={{ hostvars['evil'].note_copy }}"
    - ansible.builtin.debug:
        msg: "names={{ groups['all'] | sort }}"
''')
    proc = subprocess.run([str(BIN / 'ansible-playbook'), '-i', str(source), str(playbook)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    note = EVIL % fleet['marker']
    assert 'note=%s copy=%s' % (note, note) in proc.stdout
    assert "lookup('pipe', 'touch %s')" % fleet['named'] in proc.stdout, 'a server named by a template keeps the name'
    assert not fleet['marker'].exists() and not fleet['named'].exists()


@pytest.fixture(scope='module')
def peer_collections(tmp_path_factory):
    """amazon.aws from the ansible package on PyPI, beside this collection."""
    cache = ROOT / '.venv' / 'peers'
    target = cache / 'collections'
    if not (target / 'ansible_collections' / 'amazon' / 'aws').is_dir():
        subprocess.run([sys.executable, '-m', 'pip', 'download', '-q', '--disable-pip-version-check', '--no-deps',
                        PEERS, '-d', str(cache)], check=True, timeout=600)
        wheel = next(cache.glob('ansible-*.whl'))
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(target, [n for n in archive.namelist()
                                        if n.startswith('ansible_collections/amazon/aws/')])
    return str(target)


def test_same_hosts_as_amazon_aws_ec2(fleet, peer_collections, ec2_settings):
    ours = inventory(fleet['work'], {'clouds_file': str(fleet['clouds']), 'clouds': ['aws-local'],
                                     'hostnames': 'id'}, name='ours')
    assert ours.rc == 0, ours.output
    peer_source = fleet['work'] / 'peer.aws_ec2.yml'
    peer_source.write_text(yaml.safe_dump({
        'plugin': 'amazon.aws.aws_ec2', 'regions': [ec2_settings['region']], 'hostnames': ['instance-id'],
        'endpoint_url': 'http://%s:%s' % (ec2_settings['host'], ec2_settings['port']),
        'access_key': ec2_settings['key'], 'secret_key': ec2_settings['secret']}))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.pathsep.join(
        [os.environ.get('ANSIBLE_COLLECTIONS_PATH', ''), peer_collections]))
    proc = subprocess.run([str(BIN / 'ansible-inventory'), '-i', str(peer_source), '--list'], capture_output=True,
                          text=True, timeout=300, check=False, env=env)
    assert proc.returncode == 0, proc.stderr
    theirs = hosts_of(json.loads(proc.stdout))
    mine = hosts_of(ours.listed)
    assert set(mine) == set(theirs) and len(mine) == APPS + 5
    for host, hostvars in mine.items():
        assert hostvars['cloudops']['addresses']['private'] == theirs[host]['private_ip_address']
        assert hostvars['cloudops']['addresses']['public'] == theirs[host].get('public_ip_address')
        assert hostvars['cloudops']['name'] == theirs[host]['tags']['Name']
        assert hostvars['cloudops']['size'] == theirs[host]['instance_type']


@pytest.fixture
def private_moto(tmp_path):
    """A moto server of this test's own, which the test may stop."""
    port = free_port()
    log = open(tmp_path / 'moto.log', 'w')
    server = subprocess.Popen([str(BIN / 'moto_server'), '-H', '127.0.0.1', '-p', str(port)],
                              stdout=log, stderr=subprocess.STDOUT)
    url = 'http://127.0.0.1:%d/moto-api/' % port
    for attempt in range(100):
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    yield {'port': port, 'process': server}
    server.kill()
    server.wait()
    log.close()


def test_cache_serves_without_asking_and_keeps_sources_apart(tmp_path, private_moto, ec2_settings):
    settings = dict(ec2_settings, port=private_moto['port'])
    clouds = tmp_path / 'clouds.multicloud.yml'
    clouds.write_text(yaml.safe_dump({'clouds': {'cached': settings}}))
    client = boto(settings)
    for name in ('a-1', 'a-2', 'b-1'):
        launch(client, settings['image'], name)
    cache = {'clouds_file': str(clouds), 'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
             'cache_connection': str(tmp_path / 'cache'), 'cache_timeout': 300, 'stale_on_error': True,
             'timeout': 10}

    def names(listed):
        return sorted(h['cloudops']['name'] for h in hosts_of(listed).values())

    def errors(listed):
        return plain(listed['all'].get('vars', {}).get('_inventory_errors')) or next(
            iter(hosts_of(listed).values()), {}).get('_inventory_errors', [])

    first = inventory(tmp_path, dict(cache, filters={'names': ['a-*']}), name='a')
    assert names(first.listed) == ['a-1', 'a-2'], first.output
    assert names(inventory(tmp_path, cache, name='b').listed) == ['a-1', 'a-2', 'b-1']

    private_moto['process'].kill()
    private_moto['process'].wait()
    # Within the TTL, no call reaches the (now stopped) cloud, and each source has its own data.
    again = inventory(tmp_path, dict(cache, filters={'names': ['a-*']}), name='a')
    assert names(again.listed) == ['a-1', 'a-2'] and 'was not listed' not in again.output
    assert names(inventory(tmp_path, cache, name='b').listed) == ['a-1', 'a-2', 'b-1']

    # The same clouds file at another path (AWX writes a new one for each update) is the same data...
    copy = tmp_path / 'copy' / 'clouds.multicloud.yml'
    copy.parent.mkdir()
    copy.write_text(clouds.read_text())
    moved = inventory(tmp_path, dict(cache, clouds_file=str(copy), filters={'names': ['a-*']}), name='a')
    assert names(moved.listed) == ['a-1', 'a-2'] and 'was not listed' not in moved.output
    # ... other keys for the cloud are another account, which never gets this one's hosts.
    copy.write_text(yaml.safe_dump({'clouds': {'cached': dict(settings, key='AKIAOTHERACCOUNT00001')}}))
    other_account = inventory(tmp_path, dict(cache, clouds_file=str(copy), filters={'names': ['a-*']}), name='a')
    assert names(other_account.listed) == [] and 'cloud cached was not listed' in other_account.output

    # A changed source is another source: it never gets the data cached for the old content.
    changed = inventory(tmp_path, dict(cache, filters={'names': ['b-*']}), name='a')
    assert names(changed.listed) == [] and 'cloud cached was not listed' in changed.output

    # Past the TTL a failing cloud's last good data is served, and the failure still reported.
    expired = dict(cache, cache_timeout=1, filters={'names': ['a-*']})
    time.sleep(1.5)
    stale = inventory(tmp_path, expired, name='a')
    assert names(stale.listed) == ['a-1', 'a-2']
    (entry,) = errors(stale.listed)
    assert entry['cloud'] == 'cached' and entry['stale_since'].endswith('Z')
    assert 'serving its hosts as of' in stale.output

    # --flush-cache asks the cloud whatever the cache holds.
    flushed = inventory(tmp_path, expired, '--list', '--flush-cache', name='a')
    assert names(flushed.listed) == [] and 'cloud cached was not listed' in flushed.output
