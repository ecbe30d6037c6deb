"""Validation reports shaped as docs/validation.md describes, for the renderers' and the schema's tests."""

from __future__ import annotations

import copy

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.history import changes_since, trend_point
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.regressions import regressions

KINDS = ('reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla')

TOPOLOGY = {
    'run_id': 'lab-demo',
    'cloud': 'local',
    'networks': [{'name': 'front', 'cidr': '10.10.1.0/24'}, {'name': 'back', 'cidr': '10.10.2.0/24', 'mtu': 1400}],
    'routers': [{'name': 'edge', 'interfaces': ['front', 'back'], 'external': True}],
    'security_groups': [{'name': 'db', 'rules': [{'proto': 'tcp', 'port': 5432, 'remote': 'front'}, {'proto': 'icmp'}]}],
    'servers': [{'name': 'web', 'network': 'front', 'floating_ip': True}, {'name': 'cache', 'network': 'front'},
                {'name': 'db', 'network': 'back', 'security_groups': ['db']}],
    'expect': [{'from': 'web', 'to': 'db', 'proto': 'tcp', 'port': 5432, 'verdict': 'allow'},
               {'from': 'outside', 'to': 'db', 'proto': 'tcp', 'port': 5432, 'verdict': 'deny'}],
}

SERVERS = [
    {'name': 'web', 'networks': ['front'], 'private_ip': '10.10.1.2', 'public_ip': '198.18.0.2', 'security_groups': []},
    {'name': 'cache', 'networks': ['front'], 'private_ip': '10.10.1.3', 'public_ip': None, 'security_groups': []},
    {'name': 'db', 'networks': ['back'], 'private_ip': '10.10.2.2', 'public_ip': None, 'security_groups': ['db']},
]

PATHS = {('web', 'cache'): 'l2', ('cache', 'web'): 'l2'}


def path_of(src, dst):
    return PATHS.get((src, dst), 'l3')


def check(name, kind, expected, observed, verdict='pass', reason='', **labels):
    return {'name': name, 'kind': kind, 'expected': expected, 'observed': observed, 'verdict': verdict,
            'reason': reason, 'labels': labels}


def summary_of(checks):
    by_kind = {}
    for item in checks:
        counts = by_kind.setdefault(item['kind'], {'passed': 0, 'failed': 0})
        counts['passed' if item['verdict'] == 'pass' else 'failed'] += 1
    failed = [c['name'] for c in checks if c['verdict'] == 'fail']
    return {'verdict': 'fail' if failed else 'pass', 'checks': len(checks), 'passed': len(checks) - len(failed),
            'failed': len(failed), 'failed_checks': failed, 'by_kind': by_kind}


def rtt_stats(src, dst, base):
    labels = {'src': src, 'dst': dst, 'path': path_of(src, dst), 'proto': 'icmp'}
    return {'metric': 'rtt_ms', 'labels': labels, 'count': 5, 'min': base, 'avg': round(base * 1.2, 4),
            'p50': round(base * 1.1, 4), 'p90': round(base * 1.6, 4), 'p99': round(base * 1.9, 4), 'max': round(base * 2, 4)}


def sample_report():
    """A failing run on the default topology: cache->db ICMP times out and one SLA rule is missed."""
    names = ['cache', 'db', 'web']
    checks = []
    samples = []
    stats = []
    checks.append(check('reach web->db tcp/5432', 'reachability', 'allow', 'connected',
                        src='web', dst='db', path='l3', proto='tcp', port=5432, source='declared'))
    checks.append(check('reach outside->db tcp/5432', 'reachability', 'deny', 'timeout',
                        src='outside', dst='db', path='north-south', proto='tcp', port=5432, source='declared'))
    for index, (src, dst) in enumerate((a, b) for a in names for b in names if a != b):
        broken = (src, dst) == ('cache', 'db')
        checks.append(check('reach %s->%s icmp' % (src, dst), 'reachability', 'allow', 'timeout' if broken else 'connected',
                            'fail' if broken else 'pass', 'expected allow, observed timeout after 5 echoes' if broken else '',
                            src=src, dst=dst, path=path_of(src, dst), proto='icmp', source='mesh'))
        if broken:
            stats.append({'metric': 'rtt_ms', 'labels': {'src': src, 'dst': dst, 'path': 'l3', 'proto': 'icmp'},
                          'count': 0, 'min': None, 'avg': None, 'p50': None, 'p90': None, 'p99': None, 'max': None})
            continue
        base = 0.03 + 0.007 * index
        for attempt in range(5):
            samples.append({'metric': 'rtt_ms', 'value': round(base + 0.004 * attempt, 4), 'unit': 'ms',
                            'labels': {'src': src, 'dst': dst, 'path': path_of(src, dst), 'proto': 'icmp', 'tool': 'ping'}})
        stats.append(rtt_stats(src, dst, base))
    stats.append({'metric': 'tcp_connect_ms', 'labels': {'src': 'web', 'dst': 'db', 'path': 'l3', 'proto': 'tcp', 'port': 5432},
                  'count': 5, 'min': 0.08, 'avg': 0.1, 'p50': 0.095, 'p90': 0.12, 'p99': 0.14, 'max': 0.14})
    for src, dst in (('web', 'db'), ('db', 'web'), ('web', 'cache')):
        mtu = 1500 if path_of(src, dst) == 'l2' else 1400
        checks.append(check('pmtu %s->%s' % (src, dst), 'path_mtu', mtu, mtu, src=src, dst=dst, path=path_of(src, dst)))
        samples.append({'metric': 'path_mtu', 'value': mtu, 'unit': 'bytes', 'labels': {'src': src, 'dst': dst, 'path': path_of(src, dst)}})
    for path, tcp, udp, loss in (('l2', 9.41, 3.2, 1.8), ('l3', 6.05, 2.7, 4.1)):
        for metric, value, unit in (('tcp_gbps', tcp, 'Gbit/s'), ('udp_gbps', udp, 'Gbit/s'), ('udp_loss_pct', loss, '%')):
            labels = {'path': path, 'src': 'web', 'dst': 'cache' if path == 'l2' else 'db', 'tool': 'iperf3'}
            samples.append({'metric': metric, 'value': value, 'unit': unit, 'labels': labels})
            stats.append({'metric': metric, 'labels': {k: v for k, v in labels.items() if k != 'tool'}, 'count': 1,
                          'min': value, 'avg': value, 'p50': value, 'p90': value, 'p99': value, 'max': value})
        checks.append(check('throughput %s tcp' % path, 'throughput', '> 0', tcp, path=path, proto='tcp'))
        checks.append(check('throughput %s udp' % path, 'throughput', '> 0', udp, path=path, proto='udp'))
    checks.append(check('fip web reachable', 'floating_ip', 'allow', 'connected', server='web'))
    checks.append(check('fip web detached', 'floating_ip', 'deny', 'timeout', server='web'))
    checks.append(check('fip web reattached', 'floating_ip', 'allow', 'connected', server='web'))
    samples.append({'metric': 'sg_apply_s', 'value': 0.21, 'unit': 's', 'labels': {'group': 'db', 'change': 'add'}})
    checks.append(check('sg db rule added', 'security_group', 'connected', 'connected', group='db'))
    checks.append(check('sg db rule removed', 'security_group', 'refused', 'refused', group='db'))
    checks.append(check('sla rtt_ms p99 l3', 'sla', '<= 1', 0.1045, metric='rtt_ms', stat='p99', path='l3'))
    checks.append(check('sla tcp_gbps avg l3', 'sla', '>= 8', 6.05, 'fail', 'tcp_gbps avg on l3 is 6.05 Gbit/s, below 8',
                        metric='tcp_gbps', stat='avg', path='l3'))
    return {
        'schema_version': 1,
        'run': {'id': 'lab-demo', 'cloud': 'local', 'started': '2026-11-25T10:00:00Z', 'finished': '2026-11-25T10:00:41Z',
                'versions': {'collection': '0.1.0', 'ansible_core': '2.19.4', 'python': '3.11.7'},
                'topology': copy.deepcopy(TOPOLOGY), 'servers': copy.deepcopy(SERVERS)},
        'samples': samples,
        'stats': stats,
        'checks': checks,
        'summary': summary_of(checks),
    }


def bare_report():
    """A run that measured nothing: no samples, no stats, no SLA, no floating IP, no topology to speak of."""
    checks = [check('reach a->b icmp', 'reachability', 'allow', 'connected', src='a', dst='b', path='l2', proto='icmp', source='mesh')]
    return {
        'schema_version': 1,
        'run': {'id': 'bare', 'cloud': 'local', 'started': '2026-11-25T10:00:00Z', 'finished': '2026-11-25T10:00:02Z',
                'versions': {}, 'topology': {}, 'servers': []},
        'samples': [],
        'stats': [],
        'checks': checks,
        'summary': summary_of(checks),
    }


def earlier_run(run_id, finished, tcp, rtt_scale=1.0, broken=(), dropped=()):
    """sample_report() as an earlier run: its id and time, the mean TCP Gbit/s per path (None: not
    measured), RTT samples scaled, only the ``broken`` checks failing, the ``dropped`` ones not run."""
    report = sample_report()
    report['run'].update(id=run_id, started=finished, finished=finished)
    report['checks'] = [c for c in report['checks'] if c['name'] not in dropped]
    for item in report['checks']:
        item['verdict'] = 'fail' if item['name'] in broken else 'pass'
        item['reason'] = 'failed in %s' % run_id if item['name'] in broken else ''
    samples = []
    for sample in report['samples']:
        path = sample['labels'].get('path')
        if sample['metric'] == 'tcp_gbps':
            if tcp.get(path) is None:
                continue
            sample['value'] = tcp[path]
        elif sample['metric'] == 'rtt_ms':
            sample['value'] = round(sample['value'] * rtt_scale, 4)
        samples.append(sample)
    report['samples'] = samples
    report['summary'] = summary_of(report['checks'])
    return report


CACHE_TO_DB = ['router edge joins front and back', 'cache has no security group, and groupless servers are open here',
               'path MTU 1400: front (1500) -> back (1400)']
WEB_TO_DB = ['router edge joins front and back',
             'security group db of db admits ingress tcp/5432 from web (10.10.1.2) by rule ingress tcp/5432 from front']


def explained_report():
    """sample_report() with the cloud's configuration beside the packets: cache->db ICMP times out
    although the configuration allows it (a data-plane fault), web->db is allowed by both."""
    report = sample_report()
    checks = {c['name']: c for c in report['checks']}
    broken = checks['reach cache->db icmp']
    broken['reason'] += ('; the configuration allows it (%s), so packets and configuration disagree: a data-plane '
                         'fault' % '; '.join(CACHE_TO_DB))
    broken['explanation'] = {'configuration': 'allow', 'evidence': list(CACHE_TO_DB), 'path_mtu': 1400,
                             'data_plane_fault': True}
    checks['reach web->db tcp/5432']['explanation'] = {'configuration': 'allow', 'evidence': list(WEB_TO_DB),
                                                       'path_mtu': 1400, 'data_plane_fault': False}
    checks['pmtu web->db']['explanation'] = {'configuration': 1400, 'evidence': [WEB_TO_DB[0], CACHE_TO_DB[2]],
                                             'data_plane_fault': False}
    return report


def history_report():
    """explained_report() as the latest of four runs: r-0101 passed, r-0102 failed without measuring
    TCP on l2, r-0103 passed (the baseline); now cache->db ICMP and TCP on l3 regressed."""
    earlier = [
        earlier_run('r-0101', '2026-11-21T10:00:41Z', {'l2': 9.3, 'l3': 12.8}),
        earlier_run('r-0102', '2026-11-22T10:00:41Z', {'l2': None, 'l3': 12.5}, 1.2,
                    broken=('reach web->db tcp/5432',)),
        earlier_run('r-0103', '2026-11-23T10:00:41Z', {'l2': 9.5, 'l3': 13.0}, 0.9, dropped=('fip web reattached',)),
    ]
    baseline = earlier[-1]
    record = {'run_id': baseline['run']['id'], 'finished': baseline['run']['finished'], 'verdict': 'pass',
              'checks': baseline['checks'], 'samples': baseline['samples']}
    report = explained_report()
    report['checks'] += regressions(report, record, {'throughput_ratio': 0.5})  # as a topology may declare
    report['summary'] = summary_of(report['checks'])
    report['summary']['regressions'] = [c['name'] for c in report['checks']
                                        if c['kind'] == 'regression' and c['verdict'] == 'fail']
    report['baseline'] = {k: record[k] for k in ('run_id', 'finished', 'verdict')}
    report['history'] = {'runs': [trend_point(run) for run in earlier] + [trend_point(report)],
                         'changes': changes_since(record, report)}
    return report


def configuration_report():
    """A run on a cloud whose guests cannot be reached: every verdict from the configuration alone."""
    checks = [
        check('reach web->db tcp/5432', 'reachability', 'allow', 'allow', src='web', dst='db', path='l3', proto='tcp',
              port=5432, source='declared', evidence='configuration'),
        check('reach outside->db tcp/5432', 'reachability', 'deny', 'allow', 'fail',
              'expected deny, the configuration allows it: floating IP 198.18.0.9 is associated with db (10.10.2.2)',
              src='outside', dst='db', path='north-south', proto='tcp', port=5432, source='declared',
              evidence='configuration'),
    ]
    checks[0]['explanation'] = {'configuration': 'allow', 'evidence': list(WEB_TO_DB), 'path_mtu': 1400}
    checks[1]['explanation'] = {'configuration': 'allow', 'path_mtu': 1500,
                                'evidence': ['floating IP 198.18.0.9 is associated with db (10.10.2.2)',
                                             'router edge has an external gateway and an interface on back']}
    report = bare_report()
    report['run'].update(id='config-only', evidence='configuration', data_plane=False,
                         data_plane_reason='the cloud runs no reachable guests')
    report['checks'] = checks
    report['summary'] = summary_of(checks)
    return report
