# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""junit.xml: one testsuite per check kind, one testcase per check, a failure per failed check."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

KINDS = ('reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla')
# XML 1.0 cannot carry these at all, not even escaped; a user's name must not make the file unreadable.
INVALID_XML = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]')


def clean(value):
    if value is None:
        return ''
    if isinstance(value, bool):
        value = 'true' if value else 'false'
    return INVALID_XML.sub('\ufffd', str(value))


def junit_timestamp(value):
    """ISO 8601 in UTC without offset, the form the Ant JUnit schema accepts; None if unparsable."""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment.strftime('%Y-%m-%dT%H:%M:%S')


def run_seconds(run):
    try:
        started = datetime.fromisoformat(str(run.get('started')))
        finished = datetime.fromisoformat(str(run.get('finished')))
        return max(0.0, (finished - started).total_seconds())
    except (TypeError, ValueError):
        return 0.0


def outcome_text(check):
    lines = ['expected: %s' % clean(check.get('expected')), 'observed: %s' % clean(check.get('observed'))]
    labels = check.get('labels') if isinstance(check.get('labels'), dict) else {}
    lines += ['%s: %s' % (clean(k), clean(v)) for k, v in sorted(labels.items(), key=lambda item: str(item[0]))]
    return '\n'.join(lines)


def render_junit(report):
    """The report dict (docs/validation.md) -> junit.xml text, UTF-8 with an XML declaration."""
    report = report or {}
    run = report.get('run') or {}
    checks = [c for c in report.get('checks') or [] if isinstance(c, dict)]
    by_kind = {}
    for check in checks:
        by_kind.setdefault(str(check.get('kind') or 'unknown'), []).append(check)
    kinds = [k for k in KINDS if k in by_kind] + sorted(k for k in by_kind if k not in KINDS)
    run_id = clean(run.get('id') or 'run')
    timestamp = junit_timestamp(run.get('started'))
    failed_total = sum(1 for c in checks if c.get('verdict') != 'pass')

    # Only the attributes the Jenkins (surefire) schema allows on the root; the rest is per suite.
    root = ET.Element('testsuites', {
        'name': 'cloudops.multicloud validation %s' % run_id,
        'tests': str(len(checks)), 'failures': str(failed_total), 'errors': '0', 'time': '%.3f' % run_seconds(run)})
    properties = [('run_id', run.get('id')), ('cloud', run.get('cloud')), ('started', run.get('started')),
                  ('finished', run.get('finished')), ('verdict', (report.get('summary') or {}).get('verdict'))]
    properties += [('version.%s' % name, value) for name, value in sorted((run.get('versions') or {}).items())]

    for index, kind in enumerate(kinds):
        cases = by_kind[kind]
        failures = [c for c in cases if c.get('verdict') != 'pass']
        attributes = {
            'name': clean(kind), 'id': str(index), 'package': 'cloudops',
            # The system under test is the cloud, not the controller that evaluated the checks.
            'hostname': clean(run.get('cloud') or 'unknown'),
            'tests': str(len(cases)), 'failures': str(len(failures)), 'errors': '0', 'skipped': '0',
            # Checks are evaluated after the probes, not timed one by one; the run's duration is on <testsuites>.
            'time': '0.000'}
        if timestamp:
            attributes['timestamp'] = timestamp
        suite = ET.SubElement(root, 'testsuite', attributes)
        suite_properties = ET.SubElement(suite, 'properties')
        for name, value in properties:
            if value is not None:
                ET.SubElement(suite_properties, 'property', {'name': clean(name), 'value': clean(value)})
        for check in cases:
            case = ET.SubElement(suite, 'testcase', {
                'classname': 'cloudops.%s' % clean(kind), 'name': clean(check.get('name') or 'unnamed check'), 'time': '0.000'})
            details = outcome_text(check)
            if check.get('verdict') != 'pass':
                reason = clean(check.get('reason')) or 'expected %s, observed %s' % (clean(check.get('expected')), clean(check.get('observed')))
                failure = ET.SubElement(case, 'failure', {'message': reason, 'type': 'CheckFailed'})
                failure.text = '%s\nreason: %s' % (details, reason)
            ET.SubElement(case, 'system-out').text = details
        # Strict consumers (the Ant schema) want both, even empty.
        ET.SubElement(suite, 'system-out')
        ET.SubElement(suite, 'system-err')
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding='unicode') + '\n'
