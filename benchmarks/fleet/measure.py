"""The measuring side of benchmarks/inventory.sh: fills the moto server, times each inventory run
(median of --runs), reads each run's peak memory from the kernel, and prints the ratios."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import boto3
import yaml

BATCH = 100


def ec2_client(cloud):
    return boto3.client('ec2', endpoint_url='http://%s:%s' % (cloud['host'], cloud['port']),
                        region_name=cloud['region'], aws_access_key_id=cloud['key'],
                        aws_secret_access_key=cloud['secret'])


def fill(ec2, count):
    image = ec2.describe_images(Owners=['amazon'], Filters=[{'Name': 'architecture', 'Values': ['x86_64']}])['Images'][0]
    for start in range(0, count, BATCH):
        size = min(BATCH, count - start)
        ec2.run_instances(ImageId=image['ImageId'], InstanceType='t3.micro', MinCount=size, MaxCount=size,
                          TagSpecifications=[{'ResourceType': 'instance', 'Tags': [
                              {'Key': 'Name', 'Value': 'bench-%d' % (start // BATCH)}]}])


def describe_all(ec2):
    return sum(len(r['Instances']) for page in ec2.get_paginator('describe_instances').paginate()
               for r in page['Reservations'])


def timed(command, runs):
    """Median wall time and the largest peak memory over ``runs`` runs, and the last output."""
    walls, peaks, out = [], [], b''
    for attempt in range(runs):
        before = time.monotonic()
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        chunks = []
        while True:
            chunk = proc.stdout.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
        status, usage = os.wait4(proc.pid, 0)[1:]
        walls.append(time.monotonic() - before)
        if os.waitstatus_to_exitcode(status):
            sys.exit('inventory: %s failed' % ' '.join(command))
        peaks.append(usage.ru_maxrss / 1024)
        out = b''.join(chunks)
    return statistics.median(walls), max(peaks), out


def write(path, data):
    with open(path, 'w') as handle:
        yaml.safe_dump(data, handle)
    return path


def main():
    parser = argparse.ArgumentParser()
    for option in ('--work', '--clouds', '--bin'):
        parser.add_argument(option, required=True)
    for option in ('--instances', '--lab', '--runs'):
        parser.add_argument(option, type=int, required=True)
    args = parser.parse_args()
    cloud = yaml.safe_load(open(args.clouds))['clouds']['aws-bench']
    ec2 = ec2_client(cloud)
    started = time.monotonic()
    fill(ec2, args.instances)
    print('inventory: %d instances on moto (127.0.0.1:%s) in %.1f s, %d lab servers'
          % (args.instances, cloud['port'], time.monotonic() - started, args.lab))

    inventory = os.path.join(args.bin, 'ansible-inventory')
    ours = write(os.path.join(args.work, 'fleet.clouds.yml'),
                 {'plugin': 'cloudops.multicloud.clouds', 'clouds_file': args.clouds})
    cached = write(os.path.join(args.work, 'cached.clouds.yml'), {
        'plugin': 'cloudops.multicloud.clouds', 'clouds_file': args.clouds, 'cache': True,
        'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': os.path.join(args.work, 'cache'),
        'cache_timeout': 3600})
    # aws_ec2 as its documentation shows it, with the moto endpoint and keys.
    peer = write(os.path.join(args.work, 'peer.aws_ec2.yml'), {
        'plugin': 'amazon.aws.aws_ec2', 'regions': [cloud['region']],
        'endpoint_url': 'http://%s:%s' % (cloud['host'], cloud['port']),
        'access_key': cloud['key'], 'secret_key': cloud['secret']})
    empty = write(os.path.join(args.work, 'empty.yml'), {'all': {'hosts': {}}})

    floor = []
    for attempt in range(args.runs):
        before = time.monotonic()
        listed = describe_all(ec2)
        floor.append(time.monotonic() - before)
    floor = statistics.median(floor)
    startup, startup_mem = timed([inventory, '-i', empty, '--list'], args.runs)[:2]
    our_wall, our_mem, our_out = timed([inventory, '-i', ours, '--list'], args.runs)
    graph_wall, graph_mem = timed([inventory, '-i', ours, '--graph'], args.runs)[:2]
    peer_wall, peer_mem, peer_out = timed([inventory, '-i', peer, '--list'], args.runs)
    timed([inventory, '-i', cached, '--list'], 1)
    cache_wall, cache_mem, cache_out = timed([inventory, '-i', cached, '--list'], args.runs)
    cache_graph = timed([inventory, '-i', cached, '--graph'], args.runs)[0]

    our_hosts = len(json.loads(our_out)['_meta']['hostvars'])
    peer_hosts = len(json.loads(peer_out)['_meta']['hostvars'])
    cache_hosts = len(json.loads(cache_out)['_meta']['hostvars'])
    print('bare DescribeInstances (boto3, every page): %.2f s for %d instances' % (floor, listed))
    print('ansible-inventory start-up (empty source): %.2f s, %.0f MiB' % (startup, startup_mem))
    print('cloudops.multicloud.clouds over lab + EC2: %.2f s, %.0f MiB, %d hosts' % (our_wall, our_mem, our_hosts))
    print('cloudops.multicloud.clouds over lab + EC2, --graph: %.2f s, %.0f MiB' % (graph_wall, graph_mem))
    print('amazon.aws.aws_ec2 over EC2: %.2f s, %.0f MiB, %d hosts' % (peer_wall, peer_mem, peer_hosts))
    print('cloudops.multicloud.clouds cached: %.2f s, %.0f MiB, %d hosts; --graph %.2f s'
          % (cache_wall, cache_mem, cache_hosts, cache_graph))
    if peer_hosts < listed:
        print('note: aws_ec2 merged %d of %d instances whose host names collided' % (listed - peer_hosts, listed))
    print('result: ours/aws_ec2 %.2f; ours/(bare listing + start-up) %.2f (--graph %.2f); cached %.2f s (--graph %.2f s)'
          % (our_wall / peer_wall, our_wall / (floor + startup), graph_wall / (floor + startup), cache_wall, cache_graph))


if __name__ == '__main__':
    main()
