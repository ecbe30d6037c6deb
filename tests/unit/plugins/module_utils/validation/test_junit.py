from __future__ import annotations

import xml.etree.ElementTree as ET

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.junit import render_junit
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import (
    bare_report, check, sample_report, summary_of,
)


def parse(report):
    text = render_junit(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    return ET.fromstring(text.encode('utf-8'))


def test_one_suite_per_kind_in_contract_order_with_counts():
    report = sample_report()
    root = parse(report)
    assert root.tag == 'testsuites'
    assert root.get('tests') == '22' and root.get('failures') == '2' and root.get('errors') == '0'
    assert root.get('time') == '41.000'
    suites = root.findall('testsuite')
    assert [s.get('name') for s in suites] == ['reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla']
    for suite in suites:
        cases = suite.findall('testcase')
        kind = suite.get('name')
        assert int(suite.get('tests')) == len(cases) == report['summary']['by_kind'][kind]['passed'] + report['summary']['by_kind'][kind]['failed']
        assert int(suite.get('failures')) == report['summary']['by_kind'][kind]['failed'] == len(suite.findall('testcase/failure'))
        assert {c.get('classname') for c in cases} == {'cloudops.%s' % kind}
        assert suite.get('timestamp') == '2026-11-25T10:00:00'
        properties = {p.get('name'): p.get('value') for p in suite.findall('properties/property')}
        assert properties['run_id'] == 'lab-demo' and properties['cloud'] == 'local'
        assert properties['started'] == '2026-11-25T10:00:00Z' and properties['finished'] == '2026-11-25T10:00:41Z'
        assert properties['version.ansible_core'] == '2.19.4'
    # Strict consumers want properties first and system-out/system-err last in a suite.
    assert [child.tag for child in suites[0]][0] == 'properties'
    assert [child.tag for child in suites[0]][-2:] == ['system-out', 'system-err']


def test_failed_check_carries_its_reason_and_every_case_its_outcome():
    root = parse(sample_report())
    case = root.find(".//testcase[@name='reach cache->db icmp']")
    failure = case.find('failure')
    assert failure.get('message') == 'expected allow, observed timeout after 5 echoes'
    assert 'observed: timeout' in failure.text
    passed = root.find(".//testcase[@name='pmtu web->db']")
    assert passed.find('failure') is None
    out = passed.find('system-out').text.splitlines()
    assert 'expected: 1400' in out and 'observed: 1400' in out and 'src: web' in out


def test_failure_without_reason_still_says_what_differed():
    checks = [check('sla rtt_ms p99 l2', 'sla', '<= 1', 3.5, 'fail', '', metric='rtt_ms', stat='p99', path='l2')]
    report = dict(bare_report(), checks=checks, summary=summary_of(checks))
    failure = parse(report).find('.//failure')
    assert failure.get('message') == 'expected <= 1, observed 3.5'


def test_user_names_are_escaped_and_control_characters_dropped():
    nasty = 'reach <web>&"db"\x07 \'x\' icmp'
    checks = [check(nasty, 'reachability', 'allow', 'timeout', 'fail', 'no <answer> & \x1b[31mred', src='web', dst='db', proto='icmp')]
    report = dict(bare_report(), checks=checks, summary=summary_of(checks))
    report['run']['id'] = 'run <&> "1"'
    text = render_junit(report)
    assert '<web>' not in text and '\x07' not in text and '\x1b' not in text
    root = ET.fromstring(text)
    assert root.find('.//testcase').get('name') == 'reach <web>&"db"\ufffd \'x\' icmp'
    assert root.find('.//failure').get('message') == 'no <answer> & \ufffd[31mred'
    assert root.get('name').endswith('run <&> "1"')


def test_unknown_kind_gets_its_own_suite_after_the_known_ones():
    checks = [check('x', 'tomorrow', 1, 1), check('reach a->b icmp', 'reachability', 'allow', 'connected')]
    root = parse(dict(bare_report(), checks=checks))
    assert [s.get('name') for s in root.findall('testsuite')] == ['reachability', 'tomorrow']


def test_empty_report_is_still_a_document():
    root = parse({})
    assert root.tag == 'testsuites' and root.get('tests') == '0' and root.findall('testsuite') == []
