"""Validation reports shaped as docs/validation.md describes, for the renderers' and the schema's tests."""

from __future__ import annotations

import copy

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
