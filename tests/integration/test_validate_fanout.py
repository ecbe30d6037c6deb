"""The validate role fanned out over the lab's VMs: the same verdicts as one VM at a time, the mesh
pairs a sampled or partitioned mesh says it probes, and a spent time budget named in the checks.

One provisioned default topology serves every test.
"""

from __future__ import annotations

import json
import pathlib
import sys

import jsonschema
import pytest

from lifecycle_helpers import playbook as run_playbook, provisioned_lab
from lab_helpers import LAB

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
SCHEMA = json.loads((ROOT / 'roles/validate/files/report.schema.json').read_text())
RUN_ID = 'pytest-fanout'
QUICK = ['-e', 'validate_throughput_duration=1', '-e', 'validate_probe_count=3', '-e', 'validate_change_timeout=5']


def playbook(name, clouds_file, *extra):
    return run_playbook(name, clouds_file, LAB, RUN_ID, *extra)


@pytest.fixture(scope='module')
def lab(clouds_file, tmp_path_factory):
    with provisioned_lab(clouds_file, RUN_ID, tmp_path_factory.mktemp('manifest')):
        yield clouds_file


def validate(clouds_file, tmp_path, *extra):
    proc = playbook('validate.yml', clouds_file, '-e', 'report_dir=%s' % tmp_path, *QUICK, *extra)
    path = tmp_path / 'report.json'
    assert path.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    return report, proc


def verdicts(report):
    """Every check's verdict but those judged on timings (SLA, and regressions of them), which a busy host moves."""
    return {c['name']: c['verdict'] for c in report['checks'] if c['kind'] not in ('sla', 'regression')}


def mesh_pairs(report):
    return sorted((c['labels']['src'], c['labels']['dst']) for c in report['checks']
                  if c['kind'] == 'reachability' and c['labels'].get('source') == 'mesh')


def test_the_fanned_out_run_gives_the_verdicts_of_the_sequential_one(lab, tmp_path):
    sequential, _proc = validate(lab, tmp_path / 'one', '-e', 'validate_parallel=1')
    fanned, proc = validate(lab, tmp_path / 'many', '-e', 'validate_parallel=4')
    assert 'many VMs at once' in proc.stdout
    assert verdicts(fanned) == verdicts(sequential)
    assert set(verdicts(fanned).values()) == {'pass'}, [c for c in fanned['checks'] if c['verdict'] == 'fail']
    # Every probed flow says how much of what it sent went unanswered.
    reach = [c for c in fanned['checks'] if c['kind'] == 'reachability' and c['labels'].get('source') == 'mesh']
    assert reach and all(0 <= c['loss_pct'] < 100 for c in reach), reach


def test_a_sampled_mesh_probes_its_peers_and_the_same_every_run(lab, tmp_path):
    extra = ('-e', 'validate_parallel=4', '-e', 'validate_mesh=sampled', '-e', 'validate_mesh_peers=1',
             '-e', '{"validate_checks": ["reachability"]}')
    first, _proc = validate(lab, tmp_path / 'first', *extra)
    again, _proc = validate(lab, tmp_path / 'again', *extra)
    pairs = mesh_pairs(first)
    sources = [src for src, _dst in pairs]
    assert pairs == mesh_pairs(again)
    assert len(pairs) == len(set(sources)) == 3 and sorted(sources) == ['cache', 'db', 'web']


def test_a_partitioned_mesh_probes_one_pair_per_path_class_each_way(lab, tmp_path):
    report, _proc = validate(lab, tmp_path, '-e', 'validate_parallel=4', '-e', 'validate_mesh=partitioned',
                             '-e', '{"validate_checks": ["reachability"]}')
    paths = sorted((c['labels']['path'], c['labels']['src'], c['labels']['dst']) for c in report['checks']
                   if c['kind'] == 'reachability' and c['labels'].get('source') == 'mesh')
    # web and cache share front, db is on back: one l2 pair and one l3 pair, each way.
    assert [p[0] for p in paths] == ['l2', 'l2', 'l3', 'l3'], paths
    assert {(s, d) for _p, s, d in paths} == {(d, s) for _p, s, d in paths}


@pytest.mark.parametrize('parallel', [1, 4])
def test_a_tiny_time_budget_fails_the_flows_it_left_unprobed_saying_so(lab, tmp_path, parallel):
    report, proc = validate(lab, tmp_path, '-e', 'validate_parallel=%d' % parallel, '-e', 'validate_time_budget=0.01',
                            '-e', '{"validate_checks": ["reachability", "path_mtu"]}')
    assert proc.returncode != 0
    # outside->db is judged without a packet: db has no address the outside can use.
    reach = [c for c in report['checks'] if c['kind'] in ('reachability', 'path_mtu') and c['labels']['src'] != 'outside']
    assert reach and all(c['verdict'] == 'fail' for c in reach), reach
    assert all('time budget of 0.01s was spent' in c['reason'] for c in reach), [c['reason'] for c in reach]
