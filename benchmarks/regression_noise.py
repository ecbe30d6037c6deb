#!/usr/bin/env python
"""How far the lab's numbers move between clean validation runs, and whether the regression
defaults (plugins/module_utils/validation/regressions.py) hold on them.

Provisions the default topology on the lab `noise`, validates it N+1 times in a row into one
results store (the first run is the first baseline; every failed regression check after it is a
false alarm), then once more with a rate cap (tc tbf) on db's egress, which carries the l3 throughput
pair (db to cache) and no l2 or north-south traffic, and tears down.

    scripts/bootstrap && source scripts/env && python3 benchmarks/regression_noise.py [--runs 20]

Prints, per compared metric and path class, the range of run/baseline ratios the clean runs
showed next to the threshold the defaults apply, the false-alarm count, and what the capped run
reported. Needs root, as the lab does.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time


ROOT = pathlib.Path(__file__).resolve().parents[1]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
LAB = 'noise'
# The collection as scripts/env installs it: ANSIBLE_COLLECTIONS_PATH holds ansible_collections/.
sys.path[:0] = [p for p in os.environ.get('ANSIBLE_COLLECTIONS_PATH', '').split(':') if p]
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.regressions import DEFAULTS  # noqa: E402


def playbook(name, env, *extra):
    proc = subprocess.run([PLAYBOOK, str(ROOT / 'playbooks' / name), '-e', 'cloud=%s' % LAB, '-e', 'run_id=%s' % LAB]
                          + list(extra), capture_output=True, text=True, env=env, check=False)
    return proc


def validate(env, report_dir):
    proc = playbook('validate.yml', env, '-e', 'report_dir=%s' % report_dir, '-e', 'validate_fail_on_failed_checks=false')
    path = report_dir / 'report.json'
    if not path.exists():
        sys.exit('validate wrote no report:\n' + proc.stdout[-3000:])
    return json.loads(path.read_text())


def interface_holding(address):
    """(lab namespace, interface) that holds ``address``: a VM's own leg."""
    namespaces = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=True).stdout
    for ns in [n.split()[0] for n in namespaces.splitlines() if n.startswith('cloudops-%s-vm-' % LAB)]:
        for line in subprocess.run(['ip', '-n', ns, '-o', '-4', 'addr'], capture_output=True, text=True,
                                   check=True).stdout.splitlines():
            fields = line.split()
            if fields[3].split('/')[0] == address:
                return ns, fields[1]
    sys.exit('no VM of the lab holds %s' % address)


def ratios(reports):
    """{(metric, path): [run/baseline ratio, ...]} from the regression checks of ``reports``."""
    found = {}
    for report in reports:
        for check in report['checks']:
            labels = check.get('labels') or {}
            if check['kind'] == 'regression' and labels.get('baseline_value'):
                found.setdefault((labels['metric'], labels['path']), []).append(
                    float(check['observed']) / float(labels['baseline_value']))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=20, help='clean runs after the first (default 20)')
    parser.add_argument('--cap', default='200mbit', help='the tbf rate of the capped run (default 200mbit)')
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix='cloudops-noise-'))
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=str(ROOT / 'benchmarks' / 'lab.clouds.yml'),
               CLOUDOPS_RESULTS_STORE=str(work / 'results.sqlite'), ANSIBLE_NOCOLOR='1')
    started = time.monotonic()
    proc = playbook('provision.yml', env, '-e', 'report_dir=%s' % (work / 'manifest'))
    if proc.returncode:
        sys.exit('provision failed:\n' + proc.stdout[-3000:])
    try:
        clean = []
        for number in range(args.runs + 1):
            clean.append(validate(env, work / ('run-%02d' % number)))
            alarms = [c['name'] for c in clean[-1]['checks'] if c['kind'] == 'regression' and c['verdict'] == 'fail']
            verdict = clean[-1]['summary']['verdict']
            print('run %2d: %s; regressions failed: %s' % (number, verdict, ', '.join(alarms) or 'none'), flush=True)
        # The l3 throughput pair sends from db; nothing of l2 or north-south leaves db.
        db = next(s for s in clean[-1]['run']['servers'] if s['name'] == 'db')
        vm, leg = interface_holding(db['private_ip'])
        subprocess.run(['tc', '-n', vm, 'qdisc', 'add', 'dev', leg, 'root', 'tbf', 'rate', args.cap,
                        'burst', '256kb', 'latency', '50ms'], check=True)
        try:
            capped = validate(env, work / 'capped')
        finally:
            subprocess.run(['tc', '-n', vm, 'qdisc', 'del', 'dev', leg, 'root'], check=True)
    finally:
        playbook('teardown.yml', env)

    print('\nclean runs compared with their baseline (the last passing run), run/baseline ratio min..max:')
    thresholds = {'rtt_ms': 'flags above %g x and +%g ms' % (DEFAULTS['rtt_p99_ratio'], DEFAULTS['rtt_p99_margin_ms']),
                  'tcp_gbps': 'flags below %g x' % DEFAULTS['throughput_ratio'],
                  'udp_gbps': 'flags below %g x' % DEFAULTS['throughput_ratio']}
    for (metric, path), values in sorted(ratios(clean[1:]).items()):
        print('  %-9s %-12s %.2f..%.2f  (%d runs; default %s)' % (metric, path, min(values), max(values), len(values),
                                                                  thresholds[metric]))
    false_alarms = [r['run']['id'] for r in clean[1:]
                    if any(c['kind'] == 'regression' and c['verdict'] == 'fail' for c in r['checks'])]
    print('false alarms: %d of %d clean runs' % (len(false_alarms), args.runs))
    regressed = [c for c in capped['checks'] if c['kind'] == 'regression' and c['verdict'] == 'fail']
    print('rate cap %s on db\'s egress: %s' % (
        args.cap, '; '.join('%s (%s)' % (c['name'], c['reason']) for c in regressed) or 'no regression reported'))
    print('took %.0f s; reports in %s' % (time.monotonic() - started, work))
    return 0 if not false_alarms and regressed else 1


if __name__ == '__main__':
    sys.exit(main())
