from __future__ import annotations

import json
import os

import pytest
from jsonschema import Draft202012Validator

from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import bare_report, sample_report

SCHEMA = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'roles', 'validate', 'files', 'report.schema.json')


@pytest.fixture(scope='module')
def validator():
    with open(SCHEMA, encoding='utf-8') as handle:
        schema = json.load(handle)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def errors(validator, report):
    # Through JSON, as report.json is read back.
    return sorted(e.message for e in validator.iter_errors(json.loads(json.dumps(report))))


def test_samples_validate(validator):
    assert errors(validator, sample_report()) == []
    assert errors(validator, bare_report()) == []


def test_missing_summary_is_rejected(validator):
    report = sample_report()
    del report['summary']
    assert errors(validator, report) == ["'summary' is a required property"]


@pytest.mark.parametrize('mutate, message', [
    (lambda r: r['checks'][0].update(verdict='ok'), "'ok' is not one of ['pass', 'fail']"),
    (lambda r: r['summary'].update(verdict='green'), "'green' is not one of ['pass', 'fail']"),
    (lambda r: r['checks'][0].update(kind='latency'), "'latency' is not one of"),
    (lambda r: r['checks'][0].update(extra=1), "Additional properties are not allowed ('extra' was unexpected)"),
    (lambda r: r.update(extra=1), "Additional properties are not allowed ('extra' was unexpected)"),
    (lambda r: r.update(schema_version=2), '1 was expected'),
    (lambda r: r['checks'][0].update(expected=['allow']), "['allow'] is not of type 'string', 'number', 'null'"),
    (lambda r: r['checks'][0].update(reason='passed, yet a reason'), "'passed, yet a reason' is expected to be empty"),
    (lambda r: r['run'].pop('servers'), "'servers' is a required property"),
    (lambda r: r['stats'][0].update(p99='fast'), "'fast' is not of type 'number', 'null'"),
    (lambda r: r['summary']['by_kind'].update(latency={'passed': 1, 'failed': 0}), "'latency' is not one of"),
    (lambda r: r['checks'][0]['labels'].update(answered_by=''), "'' should be non-empty"),
    (lambda r: r['checks'][0]['labels'].update(answered_by=7), "7 is not of type 'string'"),
], ids=['check verdict', 'summary verdict', 'kind', 'check key', 'top key', 'version', 'expected list', 'reason on pass',
        'servers', 'stat type', 'by_kind', 'answered_by empty', 'answered_by type'])
def test_broken_reports_are_rejected(validator, mutate, message):
    report = sample_report()
    mutate(report)
    found = errors(validator, report)
    assert found and any(e.startswith(message) for e in found), found


def test_null_stats_and_expected_are_allowed(validator):
    report = sample_report()
    assert any(s['p50'] is None for s in report['stats'])
    report['checks'][0].update(expected=None, observed=None)
    assert errors(validator, report) == []


def test_a_check_answered_by_the_wrong_server_validates(validator):
    report = sample_report()
    report['checks'][0].update(verdict='fail', reason='answered by cache (expected db)')
    report['checks'][0]['labels']['answered_by'] = 'cache'
    assert errors(validator, report) == []
