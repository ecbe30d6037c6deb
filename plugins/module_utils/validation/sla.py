# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SLA rules: a bound on one statistic of one metric's samples, per path class."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import summarize

METRICS = {
    'rtt_ms': 'ms', 'tcp_connect_ms': 'ms', 'tcp_gbps': 'Gbit/s', 'udp_gbps': 'Gbit/s',
    'udp_loss_pct': '%', 'path_mtu': 'bytes', 'sg_apply_s': 's',
}
# The kind of check whose probes produce each metric: a run without that kind has no such samples.
METRIC_KINDS = {
    'rtt_ms': 'reachability', 'tcp_connect_ms': 'reachability', 'tcp_gbps': 'throughput', 'udp_gbps': 'throughput',
    'udp_loss_pct': 'throughput', 'path_mtu': 'path_mtu', 'sg_apply_s': 'security_group',
}
STAT_ALIASES = {'mean': 'avg', 'median': 'p50'}
STATS = ('min', 'avg', 'p50', 'p90', 'p99', 'max')
PATHS = ('l2', 'l3', 'north-south', 'any')
RULE_KEYS = {'metric', 'stat', 'path', 'min', 'max', 'src', 'dst'}


def normalize_sla(rules):
    """Validate the topology's sla list; errors name the entry and the field."""
    normalized = []
    for index, rule in enumerate(rules or []):
        where = 'sla[%d]' % index
        if not isinstance(rule, dict):
            raise CloudError('%s: expected a mapping, got %r' % (where, rule))
        unknown = set(rule) - RULE_KEYS
        if unknown:
            raise CloudError('%s.%s: not an SLA key (%s)' % (where, sorted(unknown)[0], ', '.join(sorted(RULE_KEYS))))
        metric = rule.get('metric')
        if metric not in METRICS:
            raise CloudError('%s.metric: %r is not one of %s' % (where, metric, ', '.join(sorted(METRICS))))
        stat = STAT_ALIASES.get(rule.get('stat', 'avg'), rule.get('stat', 'avg'))
        if stat not in STATS:
            raise CloudError('%s.stat: %r is not one of %s, mean, median' % (where, rule.get('stat'), ', '.join(STATS)))
        path = rule.get('path', 'any')
        if path not in PATHS:
            raise CloudError('%s.path: %r is not one of %s' % (where, path, ', '.join(PATHS)))
        bounds = {}
        for key in ('min', 'max'):
            if rule.get(key) is not None:
                try:
                    bounds[key] = float(rule[key])
                except (TypeError, ValueError):
                    raise CloudError('%s.%s: %r is not a number' % (where, key, rule[key]))
        if not bounds:
            raise CloudError('%s: give min, max or both' % where)
        normalized.append(dict(metric=metric, stat=stat, path=path, src=rule.get('src'), dst=rule.get('dst'), **bounds))
    return normalized


def sla_name(rule):
    name = 'sla %s %s %s' % (rule['metric'], rule['stat'], rule['path'])
    if rule.get('src') or rule.get('dst'):
        name += ' %s->%s' % (rule.get('src') or '*', rule.get('dst') or '*')
    return name


def _bound_text(rule):
    parts = []
    if 'min' in rule:
        parts.append('>= %g' % rule['min'])
    if 'max' in rule:
        parts.append('<= %g' % rule['max'])
    return ' and '.join(parts)


def _selected(rule, sample):
    labels = sample['labels']
    return (sample['metric'] == rule['metric']
            and rule['path'] in ('any', labels.get('path'))
            and rule.get('src') in (None, labels.get('src'))
            and rule.get('dst') in (None, labels.get('dst')))


def evaluate_sla(rules, samples):
    """One check per rule. No samples for a rule fails it: an SLA nobody measured is not met."""
    checks = []
    for rule in rules:
        values = [s['value'] for s in samples if _selected(rule, s) and s['value'] is not None]
        stats = summarize(values)
        observed = stats[rule['stat']] if stats else None
        reasons = []
        if observed is None:
            reasons.append('no %s samples on path %s' % (rule['metric'], rule['path']))
        else:
            if 'min' in rule and observed < rule['min']:
                reasons.append('%s %s is %g, below %g' % (rule['metric'], rule['stat'], observed, rule['min']))
            if 'max' in rule and observed > rule['max']:
                reasons.append('%s %s is %g, above %g' % (rule['metric'], rule['stat'], observed, rule['max']))
        labels = {'metric': rule['metric'], 'stat': rule['stat'], 'path': rule['path'],
                  'unit': METRICS[rule['metric']], 'samples': len(values)}
        checks.append({
            'name': sla_name(rule), 'kind': 'sla', 'expected': _bound_text(rule), 'observed': observed,
            'verdict': 'fail' if reasons else 'pass', 'reason': '; '.join(reasons), 'labels': labels,
        })
    return checks
