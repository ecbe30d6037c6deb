"""Validation runs kept and compared on the lab: runs of one topology in a row go to one results
store (SQLite, or the harness's PostgreSQL), the later one is judged against its baseline, and a
fault injected behind the collection's back between them shows as a regression of its own,
explained from the cloud's configuration, and in report.html's trend.
"""

from __future__ import annotations

import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import urllib.request

import jsonschema
import pytest
from prometheus_client.parser import text_string_to_metric_families

from lifecycle_helpers import playbook as run_playbook, provisioned_lab
from lab_helpers import LAB, lab_provider

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
SCHEMA = json.loads((ROOT / 'roles/validate/files/report.schema.json').read_text())
RUN_ID = 'pytest-history'
# Short measurements, as test_validate_faults.py takes them; two seconds of throughput so that the
# clean runs compare without noise.
QUICK = ['-e', 'validate_throughput_duration=2', '-e', 'validate_probe_count=3', '-e', 'validate_change_timeout=5']
# Only the kinds of checks a test is about: the flows and the mesh, or throughput.
FLOWS = ['-e', '{"validate_checks": ["reachability", "path_mtu"]}']
THROUGHPUT = ['-e', '{"validate_checks": ["throughput"]}']


def playbook(name, clouds_file, *extra, store=None):
    return run_playbook(name, clouds_file, LAB, RUN_ID, *extra,
                        env={'CLOUDOPS_RESULTS_STORE': store} if store else None)


@pytest.fixture(scope='module')
def lab(clouds_file, tmp_path_factory):
    with provisioned_lab(clouds_file, RUN_ID, tmp_path_factory.mktemp('manifest')):
        yield clouds_file


def validate(clouds_file, report_dir, store, *extra):
    proc = playbook('validate.yml', clouds_file, '-e', 'report_dir=%s' % report_dir, *QUICK, *extra, store=store)
    path = report_dir / 'report.json'
    assert path.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    failed = sorted(c['name'] for c in report['checks'] if c['verdict'] == 'fail')
    return proc, report, failed


def check(report, name):
    return next(c for c in report['checks'] if c['name'] == name)


def sh(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def servers():
    return {s.name: s for s in lab_provider().list('server')}


@pytest.fixture(params=['sqlite', 'postgresql'])
def store(request, tmp_path):
    """A results store of the test's own: a SQLite file, or a database on the harness's PostgreSQL."""
    if request.param == 'sqlite':
        return str(tmp_path / 'results.sqlite')
    dsn = request.getfixturevalue('postgresql_dsn')
    import psycopg  # the test environment has it whenever the PostgreSQL harness runs
    schema = 'history_%d' % os.getpid()  # the test's own schema in the harness's database
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute('DROP SCHEMA IF EXISTS %s CASCADE' % schema)
        conn.execute('CREATE SCHEMA %s' % schema)
    return psycopg.conninfo.make_conninfo(dsn, options='-c search_path=%s' % schema)


def test_a_rule_removed_since_the_last_green_run_is_a_regression_explained_by_the_group(lab, run, store, tmp_path):
    proc, first, failed = validate(lab, tmp_path / 'first', store, *FLOWS)
    assert failed == [] and proc.returncode == 0, proc.stdout[-3000:]
    assert first['baseline'] is None and len(first['history']['runs']) == 1

    # Behind the collection's back: db's group loses the rule that lets web reach the database.
    assert run('security_group', name='db', rules=[{'protocol': 'icmp'}])['changed']
    try:
        proc, second, failed = validate(lab, tmp_path / 'second', store, *FLOWS)
    finally:  # provisioning again puts the declared rules back
        assert playbook('provision.yml', lab, '-e', 'report_dir=%s' % (tmp_path / 'manifest')).returncode == 0
    assert proc.returncode != 0
    assert failed == ['reach web->db tcp/5432', 'regression reach l3']
    assert second['baseline']['run_id'] == RUN_ID and second['baseline']['verdict'] == 'pass'
    assert second['summary']['regressions'] == ['regression reach l3']

    regression = check(second, 'regression reach l3')
    web = servers()['web'].private_ip
    assert regression['explanation']['checks'] == ['reach web->db tcp/5432']
    assert 'no security group of db admits ingress tcp/5432 from web (%s) (db: icmp from 0.0.0.0/0)' % web \
        in regression['explanation']['evidence']
    assert regression['reason'].startswith('reach web->db tcp/5432 passed in run %s of ' % RUN_ID)
    # Nothing else got worse.
    others = [c for c in second['checks'] if c['kind'] == 'regression' and c['name'] != 'regression reach l3']
    assert others and all(c['verdict'] == 'pass' for c in others), [c for c in others if c['verdict'] == 'fail']

    # The trend has both runs, and "since the last green run" names the flow that changed.
    assert [p['verdict'] for p in second['history']['runs']] == ['pass', 'fail']
    assert [c['check'] for c in second['history']['changes']] == ['reach web->db tcp/5432']
    html = (tmp_path / 'second' / 'report.html').read_text()
    assert 'Since the last green run' in html and 'reach web-&gt;db tcp/5432' in html
    assert html.count('<svg') >= 3 and '2 runs of this topology' in html


def test_a_rate_cap_on_one_path_is_a_throughput_regression_on_that_path_class_only(lab, tmp_path):
    store = str(tmp_path / 'results.sqlite')
    # The cap takes l3 to under 0.02x; 0.1x keeps the paths it leaves alone clear of the noise of a
    # machine that runs other tests beside this one (UDP down to 0.24x was seen).
    topology = tmp_path / 'thresholds.yml'
    topology.write_text((ROOT / 'playbooks' / 'topologies' / 'default.yml').read_text()
                        + 'regressions: {throughput_ratio: 0.1}\n')
    runs = THROUGHPUT + ['-e', 'topology_file=%s' % topology]
    proc, _report, failed = validate(lab, tmp_path / 'clean', store, *runs)
    assert failed == [], proc.stdout[-3000:]

    # The l3 throughput pair sends from db to cache; nothing of l2 or north-south leaves db.
    vm = servers()['db'].connection['netns']
    leg = interface_holding(vm, servers()['db'].private_ip)
    sh('tc', '-n', vm, 'qdisc', 'add', 'dev', leg, 'root', 'tbf', 'rate', '200mbit', 'burst', '256kb', 'latency', '50ms')
    try:
        proc, capped, failed = validate(lab, tmp_path / 'capped', store, *runs)
    finally:
        sh('tc', '-n', vm, 'qdisc', 'del', 'dev', leg, 'root')
    regressed = [c['name'] for c in capped['checks'] if c['kind'] == 'regression' and c['verdict'] == 'fail']
    assert regressed == ['regression tcp_gbps l3'] or regressed == ['regression tcp_gbps l3', 'regression udp_gbps l3'], \
        [check(capped, n)['reason'] for n in regressed]
    assert check(capped, 'regression tcp_gbps l3')['observed'] < 0.25  # Gbit/s: the 200 Mbit/s cap
    assert capped['summary']['regressions'] == regressed


def interface_holding(ns, address):
    for line in sh('ip', '-n', ns, '-o', '-4', 'addr').splitlines():
        if ' %s/' % address in line:
            return line.split()[1]
    raise AssertionError('no interface with %s in %s' % (address, ns))


def test_a_store_that_cannot_be_used_fails_the_run_in_one_line_and_the_report_is_still_written(lab, tmp_path):
    not_a_store = tmp_path / 'notes.sqlite'
    not_a_store.write_text('shopping list\n')
    cases = {
        'file': (str(not_a_store), 'is not a results store'),
        'dsn': ('postgresql://cloudops@127.0.0.1:1/none?connect_timeout=2', 'cannot connect'),
        'baseline': (str(tmp_path / 'results.sqlite'), 'baseline: no run'),
    }
    for case, (location, says) in cases.items():
        extra = FLOWS + (['-e', 'validate_baseline=no-such-run'] if case == 'baseline' else [])
        report_dir = tmp_path / case
        proc, report, _failed = validate(lab, report_dir, location, *extra)
        assert proc.returncode != 0
        assert report['summary']['checks'] > 10 and (report_dir / 'report.html').exists()
        messages = [line for line in proc.stdout.splitlines() if '"msg"' in line]
        assert any(says in line for line in messages), (case, messages or proc.stdout[-3000:])
        assert 'Traceback' not in proc.stdout + proc.stderr
        assert 'password' not in proc.stdout
    # The file that was not a store is untouched.
    assert not_a_store.read_text() == 'shopping list\n'
    with pytest.raises(sqlite3.DatabaseError):
        sqlite3.connect(str(not_a_store)).execute('SELECT 1 FROM cloudops_runs').fetchall()


def test_the_runs_metrics_reach_a_textfile_and_the_pushgateway(lab, pushgateway_url, tmp_path):
    metrics = tmp_path / 'textfile' / 'cloudops.prom'
    proc, report, failed = validate(lab, tmp_path / 'report', str(tmp_path / 'results.sqlite'),
                                    '-e', 'validate_metrics_file=%s' % metrics,
                                    '-e', 'validate_pushgateway_url=%s' % pushgateway_url,
                                    *FLOWS)
    assert failed == [] and proc.returncode == 0, proc.stdout[-3000:]
    written = {s.name: s for f in text_string_to_metric_families(metrics.read_text()) for s in f.samples
               if not s.labels.get('check')}
    assert written['cloudops_validation_passed'].value == 1
    assert written['cloudops_validation_checks'].value == report['summary']['checks']
    assert written['cloudops_validation_passed'].labels == {'run_id': RUN_ID, 'cloud': LAB,
                                                            'topology': report['run']['topology_key']}
    with urllib.request.urlopen(pushgateway_url + '/metrics', timeout=10) as response:
        served = [s for f in text_string_to_metric_families(response.read().decode('utf-8')) for s in f.samples
                  if s.name == 'cloudops_validation_checks' and s.labels.get('run_id') == RUN_ID
                  and s.labels.get('cloud') == LAB]
    assert [(s.labels['job'], s.labels['cloud'], s.value) for s in served] == [
        ('cloudops_validation', LAB, report['summary']['checks'])]
