"""The results store on both backends: a SQLite file, and the real PostgreSQL of tests/clouds/postgresql/up.

Every behaviour test of the unit tests (their BEHAVIOUR) runs on each, PostgreSQL's in an empty
database schema; then what only PostgreSQL can get wrong, and a run of 50,000 samples.
"""

from __future__ import annotations

import socket
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.results_store import StoreError, open_store
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation import (
    test_results_store as unit,
)


def empty_schema(dsn):
    """The harness's database as new: its owner's public schema dropped and made again."""
    with psycopg.connect(dsn, autocommit=True) as connection:
        connection.execute('DROP SCHEMA public CASCADE')
        connection.execute('CREATE SCHEMA public')


@pytest.fixture(params=['sqlite', 'postgresql'])
def location(request, tmp_path):
    if request.param == 'sqlite':
        return str(tmp_path / 'store' / 'results.sqlite')
    dsn = request.getfixturevalue('postgresql_dsn')
    empty_schema(dsn)
    return dsn


@pytest.mark.parametrize('behaviour', unit.BEHAVIOUR, ids=lambda test: test.__name__[len('test_'):])
def test_the_same_behaviour_on_both(location, behaviour):
    behaviour(location)


def test_fifty_thousand_samples_in_one_run(location):
    document = unit.report(samples=50000)
    with open_store(location) as store:
        started = time.monotonic()
        key = store.record_run(document)
        recorded = time.monotonic() - started
        started = time.monotonic()
        run = store.find_run(key=key)
        read = time.monotonic() - started
    print('%s: 50,000 samples recorded in %.2f s, read back in %.2f s'
          % (location.split(':', 1)[0] if '://' in location else 'sqlite', recorded, read))
    assert len(run['samples']) == 50000
    assert run['samples'][-1] == document['samples'][-1]


def with_settings(dsn, **settings):
    return make_conninfo(**dict(conninfo_to_dict(dsn), **settings))


def one_line(failure, *secrets):
    message = str(failure.value)
    assert '\n' not in message
    for secret in secrets:
        assert secret not in message
    return message


def test_a_wrong_password_is_one_line_without_it(postgresql_dsn):
    password = conninfo_to_dict(postgresql_dsn)['password']
    wrong = 'not-' + password[::-1]
    for dsn in (postgresql_dsn.replace(password, wrong), with_settings(postgresql_dsn, password=wrong)):
        with pytest.raises(StoreError) as failure:
            open_store(dsn)
        assert one_line(failure, password, wrong) == (
            'store: cannot connect to PostgreSQL at 127.0.0.1:%s/cloudops as cloudops: '
            'password authentication failed for user "cloudops"' % conninfo_to_dict(postgresql_dsn)['port'])


def free_port():
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        return listener.getsockname()[1]


def test_a_closed_port_is_one_line(postgresql_dsn):
    password = conninfo_to_dict(postgresql_dsn)['password']
    port = free_port()
    with pytest.raises(StoreError) as failure:
        open_store(with_settings(postgresql_dsn, port=port))
    assert one_line(failure, password) == (
        'store: cannot connect to PostgreSQL at 127.0.0.1:%d/cloudops as cloudops: connection refused' % port)


def test_a_server_that_never_answers_takes_the_timeout(postgresql_dsn):
    password = conninfo_to_dict(postgresql_dsn)['password']
    with socket.socket() as silent:
        silent.bind(('127.0.0.1', 0))
        silent.listen(1)
        started = time.monotonic()
        with pytest.raises(StoreError) as failure:
            open_store(with_settings(postgresql_dsn, port=silent.getsockname()[1]), timeout=2)
        waited = time.monotonic() - started
    print('a silent server: gave up after %.1f s' % waited)
    assert one_line(failure, password).endswith(': connection timeout expired')
    assert waited < 30


def test_a_shared_database_keeps_its_other_tables(postgresql_dsn):
    empty_schema(postgresql_dsn)
    with psycopg.connect(postgresql_dsn, autocommit=True) as connection:
        connection.execute('CREATE TABLE inventory (host TEXT)')
    with open_store(postgresql_dsn) as store:
        key = store.record_run(unit.report())
        assert store.find_run(key=key)['run_id'] == 'r1'
    with psycopg.connect(postgresql_dsn, autocommit=True) as connection:
        tables = {row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert tables == {'inventory'} | unit.TABLES


def test_a_store_reached_by_a_libpq_key_value_string(postgresql_dsn):
    empty_schema(postgresql_dsn)
    settings = conninfo_to_dict(postgresql_dsn)
    dsn = 'host=%(host)s port=%(port)s dbname=%(dbname)s user=%(user)s password=%(password)s' % settings
    with open_store(dsn) as store:
        assert store.where == 'PostgreSQL at 127.0.0.1:%s/cloudops as cloudops' % settings['port']
        assert store.find_run(key=store.record_run(unit.report()))['run_id'] == 'r1'
