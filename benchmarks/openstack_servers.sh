#!/usr/bin/env bash
# N servers on the harness's OpenStack (a namespace guest on OVN behind each): this collection's bulk server task
# (count), openstack.cloud.server in a loop as its documentation shows, and the same boots done
# directly with openstacksdk from a thread pool (the backend's own limit), creates and deletes, in one run.
#   benchmarks/openstack_servers.sh [-n 50]
# Uses the harness (tests/clouds/openstack/up; started and stopped here only if it was not running).
# The project is emptied before each side. The playbooks run with one ansible-core, from the venv of
# benchmarks/peers-venv (openstack.cloud needs openstacksdk<4.15 there); this checkout is
# cloudops.multicloud there.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
harness=$root/tests/clouds/openstack
n=50

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
case $n in '' | *[!0-9]* | 0) usage ;; esac

peers=$("$here/peers-venv")
work=$(mktemp -d /tmp/cloudops-openstack-bench.XXXXXX)
stop_harness=
[ -d "$harness/.state" ] || stop_harness=1
finish() {
    if [ -n "${clouds_yaml:-}" ]; then
        "$peers/bin/python" "$here/openstack/backend.py" "$clouds_yaml" purge >/dev/null 2>&1 || true
    fi
    if [ -n "$stop_harness" ]; then "$harness/down" >/dev/null || true; fi
    rm -rf "$work"
}
trap finish EXIT
clouds=$("$harness/up")
clouds_yaml=$(sed -n 's/^ *clouds_yaml: //p' "$clouds")

mkdir -p "$work/collections/ansible_collections/cloudops"
ln -s "$root" "$work/collections/ansible_collections/cloudops/multicloud"
export ANSIBLE_COLLECTIONS_PATH=$work/collections
export ANSIBLE_PYTHON_INTERPRETER=$peers/bin/python
export ANSIBLE_HOME=$work/ansible
export ANSIBLE_NOCOLOR=1
export OS_CLIENT_CONFIG_FILE=$clouds_yaml

backend() { "$peers/bin/python" "$here/openstack/backend.py" "$clouds_yaml" "$@"; }

side() {  # side NAME: empty the project, make the network, measure, count what is left
    backend setup
    if [ "$1" = direct_sdk ]; then
        backend direct "$n" "$work/$1.json"
    else
        "$peers/bin/ansible-playbook" "$here/openstack/$1.yml" -e "n=$n" -e "clouds_file=$clouds" \
            -e "results_file=$work/$1.json" >"$work/$1.log" 2>&1 || {
            echo "openstack_servers: $1.yml failed; the end of its output:" >&2; tail -n 30 "$work/$1.log" >&2; exit 1; }
    fi
    backend live >"$work/$1.left"
}

echo "openstack_servers: $n servers, ansible-core $("$peers/bin/python" -c 'import ansible.release as r; print(r.__version__)'), \
openstack.cloud $("$peers/bin/python" -c 'import json, os, ansible_collections.openstack.cloud as c; print(json.load(open(os.path.join(c.__path__[0], "MANIFEST.json")))["collection_info"]["version"])'), \
openstacksdk $("$peers/bin/python" -c 'import importlib.metadata as m; print(m.version("openstacksdk"))')"
side cloudops
side openstack_cloud
side direct_sdk

"$peers/bin/python" - "$work" "$n" <<'PY'
import json, os, sys

work, n = sys.argv[1], int(sys.argv[2])
names = {'cloudops': 'cloudops.multicloud.server', 'openstack_cloud': 'openstack.cloud.server loop',
         'direct_sdk': 'openstacksdk thread pool'}
sides = {s: dict(json.load(open(os.path.join(work, s + '.json'))), left=int(open(os.path.join(work, s + '.left')).read()))
         for s in names}
for side, result in sides.items():
    if result['created'] != n or result['left']:
        print('warning: %s had %d of %d ACTIVE after the create and left %d' % (names[side], result['created'], n, result['left']))
for what in ('create', 'delete'):
    ours, loop, direct = (sides[s][what + '_s'] for s in names)
    print('%s %d: cloudops.multicloud.server %.1f s, openstack.cloud.server loop %.1f s, openstacksdk thread pool %.1f s; '
          'loop/ours %.2fx, ours/direct %.2fx' % (what, n, ours, loop, direct, loop / ours, ours / direct))
ours, loop, direct = (sides[s]['create_s'] for s in names)
print('result: create %d servers: ours %.1f s, %.2fx faster than the openstack.cloud loop (%.1f s), %.2fx the direct-SDK '
      'limit (%.1f s); the limit allows at most %.2fx over the loop' % (n, ours, loop / ours, loop, ours / direct, direct,
                                                                      loop / direct))
PY
