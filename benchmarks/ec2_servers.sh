#!/usr/bin/env bash
# N EC2 instances on the moto server: this collection's bulk server task (count) against
# amazon.aws.ec2_instance (count) from the ansible package, creates and deletes, in one run.
#   benchmarks/ec2_servers.sh [-n 200] [--port PORT]
# Uses the harness (tests/clouds/ec2/up; started and stopped here only if it was not running), or
# with --port a private moto server on that port, for when tests share the harness meanwhile.
# The server is reset (POST /moto-api/reset) before each side. Both sides run with one ansible-core,
# from the venv of benchmarks/peers-venv; this checkout is cloudops.multicloud there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
harness=$root/tests/clouds/ec2
n=200
port=

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=${2:?}; shift 2 ;;
        --port) port=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
case $n in '' | *[!0-9]* | 0) usage ;; esac

peers=$("$here/peers-venv")

work=$(mktemp -d /tmp/cloudops-ec2-bench.XXXXXX)
moto_pid=
stop_harness=
finish() {
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    if [ -n "$stop_harness" ]; then "$harness/down" >/dev/null || true; fi
    rm -rf "$work"
}
trap finish EXIT

answers() { "$peers/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' \
    "http://127.0.0.1:$1/moto-api/" 2>/dev/null; }

if [ -n "$port" ]; then
    if answers "$port"; then echo "ec2_servers: port $port already answers; pick a free one" >&2; exit 1; fi
    setsid "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 </dev/null &
    moto_pid=$!
    for _ in $(seq 100); do answers "$port" && break; sleep 0.2; done
    answers "$port" || { echo "ec2_servers: moto_server did not answer on $port" >&2; tail -n 20 "$work/moto.log" >&2; exit 1; }
    clouds=$work/clouds.multicloud.yml
    # moto takes any key; these are the documented example keys, as in the harness.
    cat >"$clouds" <<YAML
clouds:
  aws-local:
    provider: libcloud
    driver: ec2
    region: us-east-1
    host: 127.0.0.1
    port: $port
    secure: false
    key: AKIAIOSFODNN7EXAMPLE
    secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
YAML
else
    if ! { [ -f "$harness/.state/pid" ] && kill -0 "$(cat "$harness/.state/pid")" 2>/dev/null \
           && answers "$(cat "$harness/.state/port")"; }; then
        stop_harness=1
    fi
    clouds=$("$harness/up")
fi

# This checkout as cloudops.multicloud, ahead of the ansible package's collections.
mkdir -p "$work/collections/ansible_collections/cloudops"
ln -s "$root" "$work/collections/ansible_collections/cloudops/multicloud"
export ANSIBLE_COLLECTIONS_PATH=$work/collections
export ANSIBLE_PYTHON_INTERPRETER=$peers/bin/python
export ANSIBLE_HOME=$work/ansible
export ANSIBLE_NOCOLOR=1

# reset: empty the server; setup: the VPC and subnet both sides use, and an AMI of moto's catalog.
moto() { "$peers/bin/python" - "$clouds" "$1" <<'PY'
import json, sys, urllib.request
import boto3, yaml

cloud = yaml.safe_load(open(sys.argv[1]))['clouds']['aws-local']
url = 'http://%s:%s' % (cloud['host'], cloud['port'])
if sys.argv[2] == 'reset':
    urllib.request.urlopen(urllib.request.Request(url + '/moto-api/reset', method='POST'), timeout=30)
    sys.exit()
ec2 = boto3.client('ec2', endpoint_url=url, region_name=cloud['region'],
                   aws_access_key_id=cloud['key'], aws_secret_access_key=cloud['secret'])
if sys.argv[2] == 'setup':
    tags = [{'Key': 'Name', 'Value': 'bench'}]
    vpc = ec2.create_vpc(CidrBlock='10.20.0.0/16', TagSpecifications=[{'ResourceType': 'vpc', 'Tags': tags}])['Vpc']
    subnet = ec2.create_subnet(VpcId=vpc['VpcId'], CidrBlock='10.20.0.0/20', AvailabilityZone=cloud['region'] + 'a',
                               TagSpecifications=[{'ResourceType': 'subnet', 'Tags': tags}])['Subnet']
    images = ec2.describe_images(Owners=['amazon'], Filters=[{'Name': 'architecture', 'Values': ['x86_64']},
                                                             {'Name': 'root-device-type', 'Values': ['ebs']}])['Images']
    print(json.dumps({'subnet_id': subnet['SubnetId'], 'image': min(images, key=lambda i: i['Name'])['ImageId']}))
elif sys.argv[2] == 'live':
    pages = ec2.get_paginator('describe_instances').paginate(
        Filters=[{'Name': 'instance-state-name', 'Values': ['pending', 'running', 'stopping', 'stopped']}])
    print(sum(len(r['Instances']) for page in pages for r in page['Reservations']))
PY
}

side() {  # side NAME PLAYBOOK: reset, set up, run the playbook, check nothing is left
    moto reset
    local setup
    setup=$(moto setup)
    "$peers/bin/ansible-playbook" "$here/ec2/$2" -e "n=$n" -e "clouds_file=$clouds" -e "results_file=$work/$1.json" \
        -e "$setup" >"$work/$1.log" 2>&1 || { echo "ec2_servers: $2 failed; the end of its output:" >&2; tail -n 30 "$work/$1.log" >&2; exit 1; }
    moto live >"$work/$1.left"
}

echo "ec2_servers: $n instances on $(sed -n 's/^ *port: //p' "$clouds" | head -1), ansible-core $("$peers/bin/python" -c \
    'import ansible.release as r; print(r.__version__)'), amazon.aws $("$peers/bin/python" -c \
    'import json, ansible_collections.amazon.aws as a, os; print(json.load(open(os.path.join(a.__path__[0], "MANIFEST.json")))["collection_info"]["version"])')"
side cloudops cloudops.yml
side amazon_aws amazon_aws.yml
moto reset

"$peers/bin/python" - "$work" "$n" <<'PY'
import json, os, sys

work, n = sys.argv[1], int(sys.argv[2])
ours, theirs = ({**json.load(open(os.path.join(work, s + '.json'))), 'left': int(open(os.path.join(work, s + '.left')).read())}
                for s in ('cloudops', 'amazon_aws'))
for side, name in ((ours, 'cloudops.multicloud.server'), (theirs, 'amazon.aws.ec2_instance')):
    if side['created'] != n or side['left']:
        print('warning: %s had %d of %d running after the create and left %d live' % (name, side['created'], n, side['left']))
for what in ('create', 'delete'):
    a, b = ours[what + '_s'], theirs[what + '_s']
    print('%s %d: cloudops.multicloud.server %.2f s, amazon.aws.ec2_instance %.2f s, ratio ours/theirs %.2f' % (what, n, a, b, a / b))
print('result: create %d instances: ours %.2f s, amazon.aws %.2f s, ratio %.2f' % (n, ours['create_s'], theirs['create_s'],
                                                                                ours['create_s'] / theirs['create_s']))
PY
