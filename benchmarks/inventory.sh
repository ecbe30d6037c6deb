#!/usr/bin/env bash
# ansible-inventory --list over a multi-cloud fleet: this collection's clouds plugin over the lab and
# a moto server at once, amazon.aws.aws_ec2 over the moto server, the bare DescribeInstances listing
# and ansible-inventory's own start-up as the floor, and a cached run; wall times, peak memory, ratios.
#   benchmarks/inventory.sh [-n 1000] [--lab 20] [--runs 3]
# Runs a moto server of its own on a free port and a lab of its own (benchinv), both removed at the
# end. Both plugins run with one ansible-core, from the venv of benchmarks/peers-venv. Needs root.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
n=1000
lab=20
runs=3

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=${2:?}; shift 2 ;;
        --lab) lab=${2:?}; shift 2 ;;
        --runs) runs=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
for value in "$n" "$lab" "$runs"; do case $value in '' | *[!0-9]*) usage ;; esac; done

"$root/scripts/bootstrap" --test >&2
peers=$("$here/peers-venv")
work=$(mktemp -d /tmp/cloudops-inventory-bench.XXXXXX)
moto_pid=
export ANSIBLE_HOME=$work/ansible ANSIBLE_NOCOLOR=1 ANSIBLE_PYTHON_INTERPRETER=$peers/bin/python
# This checkout as cloudops.multicloud, ahead of the ansible package's collections.
mkdir -p "$work/collections/ansible_collections/cloudops"
ln -s "$root" "$work/collections/ansible_collections/cloudops/multicloud"
export ANSIBLE_COLLECTIONS_PATH=$work/collections
clouds=$work/clouds.multicloud.yml

finish() {
    if [ -f "$clouds" ]; then
        "$peers/bin/ansible-playbook" "$here/fleet/lab.yml" -e "clouds_file=$clouds" -e state=absent -e "n=$lab" \
            >"$work/lab-down.log" 2>&1 || { echo "inventory: removing the lab failed:" >&2; tail -n 20 "$work/lab-down.log" >&2; }
    fi
    if [ -n "$moto_pid" ]; then kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap finish EXIT

port=$("$peers/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
setsid "$root/.venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 </dev/null &
moto_pid=$!
# moto takes any key; these are the documented example keys, as in the harness.
cat >"$clouds" <<YAML
clouds:
  benchinv:
    provider: local
  aws-bench:
    provider: libcloud
    driver: ec2
    region: us-east-1
    host: 127.0.0.1
    port: $port
    secure: false
    key: AKIAIOSFODNN7EXAMPLE
    secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
YAML
if [ "$lab" -gt 0 ]; then
    "$peers/bin/ansible-playbook" "$here/fleet/lab.yml" -e "clouds_file=$clouds" -e state=present -e "n=$lab" \
        >"$work/lab-up.log" 2>&1 || { echo "inventory: the lab servers failed:" >&2; tail -n 20 "$work/lab-up.log" >&2; exit 1; }
fi
"$peers/bin/python" "$here/fleet/measure.py" --work "$work" --clouds "$clouds" --instances "$n" --lab "$lab" \
    --runs "$runs" --bin "$peers/bin"
