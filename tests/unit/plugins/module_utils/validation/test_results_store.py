"""The results store on SQLite: its schema, runs recorded and read back, baselines, files that are not
a store, a run that fails or is killed midway, and two writers at once.

The tests in BEHAVIOUR take only a store's ``location`` and hold for any backend:
tests/integration/test_results_store.py runs them again on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation import results_store
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.results_store import (
    PSYCOPG_MISSING, SCHEMA_VERSION, StoreError, is_dsn, open_store,
)

RUN_TABLES = ('cloudops_runs', 'cloudops_samples', 'cloudops_checks')
TABLES = {'cloudops_schema'} | set(RUN_TABLES)
# Imported by name in the processes the concurrency tests start, however pytest imported it here.
THIS_MODULE = 'ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.test_results_store'


def report(run_id='r1', topology='default', cloud='lab', verdict='pass', finished='2026-03-01T10:00:00Z',
           samples=3, baseline=None):
    """A report.json document: one reachability check, one path MTU check with an explanation, and
    ``samples`` RTT samples; with ``verdict`` fail, the reachability check failed."""
    checks = [
        {'name': 'reach web->db tcp/5432', 'kind': 'reachability', 'expected': 'allow',
         'observed': 'connected' if verdict == 'pass' else 'timeout', 'verdict': verdict,
         'reason': '' if verdict == 'pass' else 'expected allow, observed timeout',
         'labels': {'src': 'web', 'dst': 'db', 'path': 'l3', 'proto': 'tcp', 'port': 5432}},
        {'name': 'pmtu web->db', 'kind': 'path_mtu', 'expected': 1400, 'observed': 1400, 'verdict': 'pass',
         'reason': '', 'labels': {'src': 'web', 'dst': 'db', 'path': 'l3'},
         'explanation': {'hops': ['web', 'edge', 'db'], 'limited_by': 'back'}},
    ]
    failed = sum(1 for check in checks if check['verdict'] == 'fail')
    document = {
        'schema_version': 1,
        'run': {'id': run_id, 'cloud': cloud, 'topology_key': topology, 'started': '2026-03-01T09:59:00Z',
                'finished': finished, 'data_plane': True, 'topology': {'servers': [{'name': 'web'}]}},
        'samples': [{'metric': 'rtt_ms', 'value': 0.05 + number / 1000.0, 'unit': 'ms',
                     'labels': {'src': 'web', 'dst': 'db', 'path': 'l3', 'proto': 'icmp', 'seq': number}}
                    for number in range(samples)],
        'checks': checks,
        'summary': {'verdict': verdict, 'checks': len(checks), 'passed': len(checks) - failed, 'failed': failed,
                    'failed_checks': [c['name'] for c in checks if c['verdict'] == 'fail']},
    }
    if baseline:
        document['baseline'] = {'run_id': baseline}
    if topology is None:
        del document['run']['topology_key']
    return document


def count_rows(store, table):
    return store._db.query('SELECT count(*) FROM %s' % table)[0][0]


@pytest.fixture
def location(tmp_path):
    return str(tmp_path / 'store' / 'results.sqlite')


# --- the behaviour of any backend ---------------------------------------------------------------

def test_a_run_reads_back_as_recorded(location):
    document = report(samples=5, baseline='r0')
    with open_store(location) as store:
        key = store.record_run(document)
        run = store.find_run(key=key)
    assert isinstance(key, int)
    assert run == {'key': key, 'run_id': 'r1', 'topology': 'default', 'cloud': 'lab',
                   'started': '2026-03-01T09:59:00Z', 'finished': '2026-03-01T10:00:00Z', 'verdict': 'pass',
                   'baseline': 'r0', 'checks': document['checks'], 'samples': document['samples'],
                   'summary': document['summary']}
    assert 'explanation' not in run['checks'][0]


def test_runs_are_found_by_run_id_topology_and_cloud(location):
    with open_store(location) as store:
        first = store.record_run(report('r1', finished='2026-03-01T10:00:00Z'))
        other = store.record_run(report('r2', topology='l3', cloud='aws-local', finished='2026-03-01T11:00:00Z'))
        assert store.find_run(run_id='r1')['key'] == first
        assert store.find_run(topology='l3')['key'] == other
        assert store.find_run(topology='default', cloud='lab')['key'] == first
        assert store.find_run(cloud='aws-local', run_id='r1') is None
        assert store.find_run(key=other + 100) is None
        with pytest.raises(StoreError, match='^store: find a run by its key, run id, topology or cloud$'):
            store.find_run()


def test_a_repeated_run_id_is_another_run(location):
    with open_store(location) as store:
        first = store.record_run(report('default', verdict='pass', finished='2026-03-01T10:00:00Z'))
        second = store.record_run(report('default', verdict='fail', finished='2026-03-02T10:00:00Z'))
        assert first != second
        assert store.find_run(run_id='default')['key'] == second
        assert store.find_run(key=first)['verdict'] == 'pass'
        assert count_rows(store, 'cloudops_runs') == 2


def test_a_report_without_topology_key_is_unnamed(location):
    with open_store(location) as store:
        key = store.record_run(report(topology=None))
        assert store.find_run(key=key)['topology'] == 'unnamed'
        assert store.baseline('unnamed', 'lab', 'last-pass')['key'] == key


def test_last_pass_is_the_latest_passing_run_by_finished_then_key(location):
    with open_store(location) as store:
        assert store.baseline('default', 'lab', 'last-pass') is None
        older = store.record_run(report('a', finished='2026-03-01T10:00:00Z'))
        # Recorded later but finished earlier: finished decides, not the order of recording.
        store.record_run(report('b', finished='2026-02-01T10:00:00Z'))
        store.record_run(report('c', verdict='fail', finished='2026-03-05T10:00:00Z'))
        store.record_run(report('d', topology='other', finished='2026-03-06T10:00:00Z'))
        store.record_run(report('e', cloud='aws-local', finished='2026-03-06T10:00:00Z'))
        assert store.baseline('default', 'lab', 'last-pass')['run_id'] == 'a'
        same_time = store.record_run(report('f', finished='2026-03-01T10:00:00Z'))
        assert store.baseline('default', 'lab', 'last-pass')['key'] == same_time
        assert store.baseline('default', 'lab', 'last-pass', exclude_key=same_time)['key'] == older


def test_a_baseline_by_run_id_is_its_latest_run(location):
    with open_store(location) as store:
        store.record_run(report('golden', finished='2026-03-01T10:00:00Z'))
        latest = store.record_run(report('golden', verdict='fail', finished='2026-03-02T10:00:00Z'))
        store.record_run(report('golden', topology='other', finished='2026-03-03T10:00:00Z'))
        assert store.baseline('default', 'lab', 'golden')['key'] == latest
        assert store.baseline('default', 'lab', 'none') is None
        with pytest.raises(StoreError) as failure:
            store.baseline('default', 'aws-local', 'golden')
    assert str(failure.value) == "baseline: no run 'golden' of topology default on cloud aws-local in the store"


def test_recent_runs_are_the_last_ones_oldest_first(location):
    with open_store(location) as store:
        for day in (5, 1, 3, 2, 4):
            store.record_run(report('day-%d' % day, finished='2026-03-0%dT10:00:00Z' % day, samples=day))
        store.record_run(report('elsewhere', cloud='aws-local', finished='2026-03-09T10:00:00Z'))
        runs = store.recent_runs('default', 'lab', limit=3)
        assert [run['run_id'] for run in runs] == ['day-3', 'day-4', 'day-5']
        assert [len(run['samples']) for run in runs] == [3, 4, 5]
        assert len(store.recent_runs('default', 'lab')) == 5
        assert store.recent_runs('default', 'lab', limit=0) == []
        assert store.recent_runs('nothing', 'lab') == []


def test_a_run_that_fails_midway_leaves_nothing(location):
    broken = report('broken', samples=200)
    broken['checks'][1]['observed'] = {1400, 1500}
    with open_store(location) as store:
        with pytest.raises(StoreError) as failure:
            store.record_run(broken)
        assert str(failure.value) == ('store: checks[1].observed cannot be stored as JSON: '
                                      'Object of type set is not JSON serializable')
        assert [count_rows(store, table) for table in RUN_TABLES] == [0, 0, 0]
        key = store.record_run(report('after'))
        assert store.find_run(key=key)['run_id'] == 'after'


def start_process(function, *args):
    """``function`` of this module in a new Python process; a fork of a threaded pytest-xdist worker could
    deadlock."""
    collections = results_store.__file__.rsplit('%sansible_collections%s' % (os.sep, os.sep), 1)[0]
    code = 'import sys; sys.path.insert(0, sys.argv[1]); from %s import %s; %s(*sys.argv[2:])' % (
        THIS_MODULE, function.__name__, function.__name__)
    return subprocess.Popen([sys.executable, '-c', code, collections] + list(args))


def die_while_writing_checks(location):
    with open_store(location) as store:
        backend = type(store._db)
        write_rows = backend.insert_rows

        def insert_rows(database, table, columns, rows):
            if table == 'cloudops_checks':
                os.kill(os.getpid(), signal.SIGKILL)
            write_rows(database, table, columns, rows)
        backend.insert_rows = insert_rows
        store.record_run(report('killed', samples=1000))


def test_a_run_killed_midway_leaves_nothing(location):
    open_store(location).close()
    writer = start_process(die_while_writing_checks, location)
    assert writer.wait(60) == -signal.SIGKILL
    with open_store(location) as store:
        assert store.find_run(run_id='killed') is None
        assert [count_rows(store, table) for table in RUN_TABLES] == [0, 0, 0]
        assert store.find_run(key=store.record_run(report('next')))['run_id'] == 'next'


def record_runs(location, gate, prefix):
    with open(gate + '.' + prefix, 'w'):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
    with open_store(location) as store:
        for number in range(5):
            store.record_run(report('%s-%d' % (prefix, number), samples=500))


def test_two_writers_at_once_both_succeed(location):
    # Both open a store that does not exist yet, so they also race to make its schema.
    with tempfile.TemporaryDirectory() as scratch:
        gate = os.path.join(scratch, 'go')
        writers = [start_process(record_runs, location, gate, prefix) for prefix in ('a', 'b')]
        deadline = time.monotonic() + 60
        while not all(os.path.exists(gate + '.' + p) for p in 'ab') and time.monotonic() < deadline:
            time.sleep(0.01)
        with open(gate, 'w'):
            pass
        assert [writer.wait(120) for writer in writers] == [0, 0]
    with open_store(location) as store:
        runs = store.recent_runs('default', 'lab', limit=100)
        assert sorted(run['run_id'] for run in runs) == ['%s-%d' % (p, n) for p in 'ab' for n in range(5)]
        assert len({run['key'] for run in runs}) == 10
        assert count_rows(store, 'cloudops_samples') == 10 * 500


def test_a_store_opens_again_with_its_runs(location):
    with open_store(location) as store:
        key = store.record_run(report())
    with open_store(location) as store:
        assert store.find_run(key=key)['run_id'] == 'r1'
        assert store._db.query('SELECT version FROM cloudops_schema') == [(SCHEMA_VERSION,)]


def test_a_newer_schema_is_refused(location):
    with open_store(location) as store:
        store._db.execute('UPDATE cloudops_schema SET version = 9')
    with pytest.raises(StoreError) as failure:
        open_store(location)
    assert str(failure.value) == "store: schema version 9 is newer than this collection's 1; upgrade the collection"


def test_a_report_that_is_not_one_is_refused_in_one_line(location):
    cases = [
        ({'summary': {'verdict': 'pass'}}, 'store: the report has no run.id; pass a report.json document'),
        (dict(report(), summary={'verdict': 'maybe'}), "store: summary.verdict: 'pass' or 'fail', got 'maybe'"),
        (dict(report(), run=dict(report()['run'], finished='yesterday')),
         "store: run.finished: 'yesterday' is not an ISO-8601 time"),
        (dict(report(), samples=[{'metric': 'rtt_ms', 'value': 'fast'}]),
         "store: samples[0].value: a number, got 'fast'"),
        (dict(report(), checks=[{'name': 'x', 'verdict': 'unknown'}]),
         "store: checks[0]: a check has a name and a verdict pass or fail, got {'name': 'x', 'verdict': 'unknown'}"),
    ]
    with open_store(location) as store:
        for document, message in cases:
            with pytest.raises(StoreError) as failure:
                store.record_run(document)
            assert str(failure.value) == message
        assert count_rows(store, 'cloudops_runs') == 0


BEHAVIOUR = (
    test_a_run_reads_back_as_recorded,
    test_runs_are_found_by_run_id_topology_and_cloud,
    test_a_repeated_run_id_is_another_run,
    test_a_report_without_topology_key_is_unnamed,
    test_last_pass_is_the_latest_passing_run_by_finished_then_key,
    test_a_baseline_by_run_id_is_its_latest_run,
    test_recent_runs_are_the_last_ones_oldest_first,
    test_a_run_that_fails_midway_leaves_nothing,
    test_a_run_killed_midway_leaves_nothing,
    test_two_writers_at_once_both_succeed,
    test_a_store_opens_again_with_its_runs,
    test_a_newer_schema_is_refused,
    test_a_report_that_is_not_one_is_refused_in_one_line,
)


# --- SQLite ---------------------------------------------------------------------------------

def sqlite_tables(path):
    connection = sqlite3.connect(path)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                if not row[0].startswith('sqlite_')}
    finally:
        connection.close()


def test_a_missing_file_is_made_with_its_directories_and_schema(tmp_path):
    path = tmp_path / 'a' / 'b' / 'results.sqlite'
    open_store(str(path)).close()
    assert sqlite_tables(str(path)) == TABLES


def test_an_empty_file_becomes_a_store(tmp_path):
    # SQLite reads a zero-byte file as an empty database, as a touched or mktemp'd file is.
    path = tmp_path / 'results.sqlite'
    path.touch()
    with open_store(str(path)) as store:
        store.record_run(report())
    assert sqlite_tables(str(path)) == TABLES


def test_a_text_file_is_not_a_store_and_stays_as_it_was(tmp_path):
    path = tmp_path / 'results.sqlite'
    path.write_text('run_id,verdict\n' * 100)
    with pytest.raises(StoreError) as failure:
        open_store(str(path))
    assert str(failure.value) == 'store: %s is not a results store (file is not a database)' % path
    assert path.read_text() == 'run_id,verdict\n' * 100


def test_a_database_of_something_else_is_refused_untouched(tmp_path):
    path = str(tmp_path / 'other.sqlite')
    connection = sqlite3.connect(path)
    connection.execute('CREATE TABLE inventory (host TEXT)')
    connection.commit()
    connection.close()
    with pytest.raises(StoreError) as failure:
        open_store(path)
    assert str(failure.value) == "store: %s is a SQLite database without this collection's results schema" % path
    assert sqlite_tables(path) == {'inventory'}


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(StoreError, match='^store: %s is a directory; name a file$' % tmp_path):
        open_store(str(tmp_path))


def test_an_older_schema_is_migrated_in_order_keeping_its_runs(location, monkeypatch):
    with open_store(location) as store:
        key = store.record_run(report())
    step = ('ALTER TABLE cloudops_runs ADD COLUMN note TEXT', "UPDATE cloudops_runs SET note = 'migrated'")
    monkeypatch.setattr(results_store, 'MIGRATIONS', results_store.MIGRATIONS + ((2, step),))
    monkeypatch.setattr(results_store, 'SCHEMA_VERSION', 2)
    with open_store(location) as store:
        assert store._db.query('SELECT version FROM cloudops_schema') == [(2,)]
        assert store._db.query('SELECT note FROM cloudops_runs') == [('migrated',)]
        assert store.find_run(key=key)['run_id'] == 'r1'


def test_a_failed_migration_leaves_the_store_as_it_was(location, monkeypatch):
    open_store(location).close()
    step = ('ALTER TABLE cloudops_runs ADD COLUMN note TEXT', 'UPDATE no_such_table SET x = 1')
    monkeypatch.setattr(results_store, 'MIGRATIONS', results_store.MIGRATIONS + ((2, step),))
    monkeypatch.setattr(results_store, 'SCHEMA_VERSION', 2)
    with pytest.raises(StoreError) as failure:
        open_store(location)
    assert str(failure.value) == ('store: cannot upgrade the schema from version 1 in %s: no such table: no_such_table'
                                  % location)
    connection = sqlite3.connect(location)
    assert connection.execute('SELECT version FROM cloudops_schema').fetchall() == [(1,)]
    assert 'note' not in [row[1] for row in connection.execute('PRAGMA table_info(cloudops_runs)')]
    connection.close()


def test_a_writer_that_holds_the_lock_too_long_is_one_line(location):
    open_store(location).close()
    holder = sqlite3.connect(location, isolation_level=None)
    holder.execute('BEGIN IMMEDIATE')
    try:
        with open_store(location, timeout=0.2) as store:
            with pytest.raises(StoreError) as failure:
                store.record_run(report())
    finally:
        holder.execute('ROLLBACK')
        holder.close()
    assert str(failure.value) == ('store: cannot record run r1 in %s: database is locked after waiting 0.2 s '
                                  'for another writer' % location)


def test_times_are_stored_as_utc_to_the_second(location):
    document = report(finished='2026-03-01T11:00:00.750+01:00')
    document['run']['started'] = '2026-03-01T09:59:00'
    with open_store(location) as store:
        run = store.find_run(key=store.record_run(document))
    assert (run['started'], run['finished']) == ('2026-03-01T09:59:00Z', '2026-03-01T10:00:00Z')


def test_locations_that_are_postgresql_dsns():
    for dsn in ('postgresql://cloudops:pw@127.0.0.1:5733/cloudops', 'postgres://db.example/results',
                'host=127.0.0.1 port=5733 dbname=cloudops', 'dbname=cloudops'):
        assert is_dsn(dsn), dsn
    for path in ('results.sqlite', '/var/lib/cloudops/results.sqlite', './host=1.sqlite', '~/postgresql/x.db'):
        assert not is_dsn(path), path


def test_postgresql_without_psycopg_is_one_line(monkeypatch):
    monkeypatch.setitem(sys.modules, 'psycopg', None)
    with pytest.raises(StoreError) as failure:
        open_store('postgresql://cloudops:pw@127.0.0.1:5733/cloudops')
    assert str(failure.value) == PSYCOPG_MISSING
    assert str(failure.value) == ("store: a PostgreSQL store needs the Python package psycopg "
                                  "(pip install 'psycopg[binary]')")


def test_every_password_a_dsn_spells_is_found():
    found = results_store._dsn_passwords
    assert found('postgresql://cloudops:s3cret@127.0.0.1:5733/cloudops') == ['s3cret']
    assert found("host=127.0.0.1 password='two words' user=x") == ['two words']
    assert found('host=127.0.0.1 password=plain user=x') == ['plain']
    assert found('postgresql://127.0.0.1/cloudops?user=x&password=inquery') == ['inquery']
    assert found('postgresql://127.0.0.1/cloudops') == []
