# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build a report from a validation_report task's options and write its files."""

from __future__ import annotations

import datetime
import json
import os
import platform
import tempfile

from ansible.module_utils.ansible_release import __version__ as ansible_version

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.html_report import render_html
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.junit import render_junit
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report import build_report

FILE_NAMES = {'json': 'report.json', 'junit': 'junit.xml', 'html': 'report.html'}
RENDERERS = {
    'json': lambda report: json.dumps(report, indent=2, sort_keys=False) + '\n',
    'junit': render_junit,
    'html': render_html,
}
PLAN_KEYS = ('flows', 'floating_ips', 'security_group_changes')
SERVER_KEYS = ('name', 'status', 'networks', 'private_ip', 'public_ip', 'security_groups')


def _run_section(run):
    for key in ('id', 'cloud'):
        if not run.get(key):
            raise CloudError('run.%s: required' % key)
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')
    section = {'id': str(run['id']), 'cloud': str(run['cloud']), 'started': run.get('started') or now,
               'finished': run.get('finished') or now, 'data_plane': bool(run.get('data_plane', True)),
               'data_plane_reason': run.get('data_plane_reason') or None, 'access': run.get('access') or None,
               'topology': run.get('topology') or {},
               'servers': [{key: server.get(key) for key in SERVER_KEYS} for server in run.get('servers') or []]}
    for server in section['servers']:
        server['networks'] = [nic['network'] if isinstance(nic, dict) else nic for nic in server['networks'] or []]
        server['security_groups'] = list(server['security_groups'] or [])
    section['versions'] = dict({'ansible_core': ansible_version, 'python': platform.python_version()},
                               **(run.get('versions') or {}))
    return section


def _atomic_write(path, text):
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix='.%s.' % os.path.basename(path))
    with os.fdopen(handle, 'w', encoding='utf-8') as stream:
        stream.write(text)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def write_report(params, write=True):
    """(report, {format: path}); files are written only when ``write``."""
    plan = params['plan']
    missing = [k for k in PLAN_KEYS if k not in plan]
    if missing:
        raise CloudError('plan.%s: required; pass the validation_plan filter\'s result' % missing[0])
    if len(params['loss_band']) != 2 or not 0 <= params['loss_band'][0] <= params['loss_band'][1] <= 100:
        raise CloudError('loss_band: expected [low, high] percent with low <= high, got %r' % (params['loss_band'],))
    report = build_report(_run_section(params['run']), plan, probes=params['probes'],
                          throughput=params['throughput'], floating_ips=params['floating_ips'],
                          security_group_changes=params['security_group_changes'], sla=params['sla'],
                          loss_band=params['loss_band'], kinds=tuple(params['checks']),
                          unreachable=params.get('unreachable'))
    dest = params['dest']
    files = {fmt: os.path.join(dest, FILE_NAMES[fmt]) for fmt in params['formats']}
    if write:
        try:
            os.makedirs(dest, exist_ok=True)
            for fmt, path in files.items():
                _atomic_write(path, RENDERERS[fmt](report))
        except OSError as exc:
            raise CloudError('dest: cannot write the report into %s: %s' % (dest, exc.strerror or exc))
    return report, files
