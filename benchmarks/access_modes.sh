#!/usr/bin/env bash
# The validate role on one provisioned default topology on the lab, reached both ways: the netns
# connection (the lab's default) and SSH (each VM's sshd, by floating IP or through the run's bastion),
# each run N times in turn; prints the wall time of every run and the medians, and the ratio ssh/netns.
#   benchmarks/access_modes.sh [-n 3]
# Uses a lab of its own (benchmarks/lab.clouds.yml) and leaves nothing behind.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
n=3

usage() { sed -n '2,6p' "$0" | sed 's/^# \{0,3\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=${2:?}; shift 2 ;;
        *) usage ;;
    esac
done
case $n in '' | *[!0-9]* | 0) usage ;; esac

"$root/scripts/bootstrap" >/dev/null
# shellcheck source=scripts/env
source "$root/scripts/env"
export CLOUDOPS_CLOUDS_FILE=$here/lab.clouds.yml
cloud=bench
work=$(mktemp -d /tmp/cloudops-access-bench.XXXXXX)
play() { ansible-playbook "$root/playbooks/$1" -e cloud="$cloud" -e run_id=bench-access -e access_mode=ssh \
             -e report_dir="$work" "${@:2}" >"$work/last.log" 2>&1 || { tail -30 "$work/last.log" >&2; return 1; }; }
finish() {
    play teardown.yml -e teardown_access_dir="$work/access" || true
    rm -rf "$work"
}
trap finish EXIT

play provision.yml
declare -A times
for round in $(seq "$n"); do
    for mode in netns ssh; do
        start=$(date +%s.%N)
        play validate.yml -e access_mode="$mode"
        took=$(python -c "import sys; print(round($(date +%s.%N) - $start, 1))")
        times[$mode]+="$took "
        printf 'round %d %-5s %6.1f s  (%s)\n' "$round" "$mode" "$took" "$(grep -o 'All [0-9]* checks passed' "$work/last.log")"
    done
done
python - "$n" "${times[netns]}" "${times[ssh]}" <<'PY'
import statistics, sys
n, netns, ssh = sys.argv[1], statistics.median(map(float, sys.argv[2].split())), statistics.median(map(float, sys.argv[3].split()))
print('validate of the default topology, median of %s: netns %.1f s, ssh %.1f s, ssh/netns %.2f' % (n, netns, ssh, ssh / netns))
PY
