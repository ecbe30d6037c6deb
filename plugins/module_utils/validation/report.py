# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a plan and what the probes observed into samples, statistics, checks and a summary."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.sla import (
    METRIC_KINDS, METRICS, evaluate_sla, normalize_sla,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import summarize

SCHEMA_VERSION = 1
KINDS = ('reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla')
# Kinds a run may leave out; reachability and SLA checks are always judged.
OPTIONAL_KINDS = ('path_mtu', 'throughput', 'floating_ip', 'security_group')
NOT_CONNECTED = ('refused', 'timeout', 'unreachable')
FIP_PHASES = ('reachable', 'detached', 'reattached')
SG_PHASES = ('added', 'removed')


def _item(entry):
    """A registered loop result carries its input as ``item``; a plain entry is its own input; an
    async_status result's input is the job, whose own ``item`` is the probe's input."""
    item = entry.get('item') if isinstance(entry.get('item'), dict) else entry
    if 'ansible_job_id' in item and isinstance(item.get('item'), dict):
        return item['item']
    return item


def _failure(entry):
    """The one-line reason a registered task produced no results (failed_when: false hides failed)."""
    if entry.get('failed') or entry.get('unreachable') or entry.get('results') is None and entry.get('msg'):
        return (entry.get('msg') or 'the task failed').splitlines()[0]
    return None


def outcome_matches(expected, outcome):
    return outcome == 'connected' if expected == 'allow' else outcome in NOT_CONNECTED


def wrong_server(result, expected_server):
    """The reason a probe that another server answered fails, allow and deny flows alike, or None."""
    answered = (result or {}).get('answered_by') or {}
    if answered.get('name') and answered['name'] != expected_server:
        return 'answered by %s (expected %s)' % (answered['name'], expected_server)
    return None


def with_answerer(labels, result):
    """A check's labels plus who answered its probe, when the responder said."""
    answered = (result or {}).get('answered_by') or {}
    return dict(labels, answered_by=answered['name']) if answered.get('name') else labels


def _check(name, kind, expected, observed, reason, labels):
    return {'name': name, 'kind': kind, 'expected': expected, 'observed': observed,
            'verdict': 'fail' if reason else 'pass', 'reason': reason or '', 'labels': labels}


VERBS = {'allow': 'allows', 'deny': 'denies'}


def loss_pct(result):
    """Per cent of the probe's echo requests, connects or datagrams that got no answer; None when none was sent."""
    sent = (result or {}).get('sent')
    if not sent:
        return None
    return round(100.0 * (sent - (result.get('received') or 0)) / sent, 2)


def explained(reason, finding, expected, observed_verdict):
    """``reason`` with what the configuration says of it: the cause, or that packets and
    configuration disagree, which is a data-plane fault."""
    if finding.verdict != observed_verdict:
        return '%s; the configuration %s it (%s), so packets and configuration disagree: a data-plane fault' % (
            reason, VERBS[finding.verdict], '; '.join(finding.evidence))
    if finding.verdict != expected:
        return '%s; the configuration explains it: %s' % (reason, '; '.join(finding.evidence))
    return reason


class ReportBuilder:
    def __init__(self, plan, loss_band=(2.0, 5.0), kinds=OPTIONAL_KINDS, unreachable=None, configuration=None,
                 evidence='packets'):
        self.plan = plan
        self.kinds = kinds
        self.loss_high = float(loss_band[1])
        self.unreachable = dict(unreachable or {})
        self.configuration = configuration
        self.evidence = evidence
        self.samples = []
        self.checks = []

    def _finding(self, src, dst, proto, port):
        return self.configuration.flow(src, dst, proto, port) if self.configuration is not None else None

    @staticmethod
    def _explanation(finding, observed_verdict=None):
        if finding is None:
            return None
        explanation = finding.to_dict()
        if observed_verdict is not None:
            explanation['data_plane_fault'] = finding.verdict != observed_verdict
        return explanation

    def _unreachable(self, *hosts):
        """'<host> unreachable over SSH (<why>)' for the first of ``hosts`` that never answered, or None."""
        for host in hosts:
            if host in self.unreachable:
                why = str(self.unreachable[host] or 'no answer').strip().splitlines() or ['no answer']
                return '%s unreachable over SSH (%s)' % (host, why[0])
        return None

    def _not_run(self, what, src, failure=None):
        return '%s: %s' % (what, self._unreachable(src) or failure or 'no probe ran from %s' % src)

    def _without_responder(self, reason, dst):
        """A failed check whose destination never answered over SSH had no responder to answer it."""
        note = self._unreachable(dst) if reason else None
        return '%s, so nothing ran there to answer: %s' % (note, reason) if note else reason

    def _sample(self, metric, value, labels):
        self.samples.append({'metric': metric, 'value': value, 'unit': METRICS[metric], 'labels': labels})

    # ------------------------------------------------------------------ probes
    def probes(self, runs):
        observed, failures = {}, {}
        for entry in runs or []:
            source = _item(entry).get('src')
            failure = _failure(entry)
            if failure:
                failures[source] = failure
                continue
            for result in entry.get('results') or []:
                observed[result['name']] = result
        for flow in self.plan['flows']:
            result = observed.get(flow['id'])
            if flow['address'] is None:  # nothing to send to, e.g. outside to a server without a floating IP
                result = {'outcome': 'unreachable', 'detail': '%s has no address %s can use' % (flow['dst'], flow['src'])}
            self._flow_checks(flow, result, failures.get(flow['src']))

    def _flow_checks(self, flow, result, failure):
        labels = {'src': flow['src'], 'dst': flow['dst'], 'path': flow['path'], 'proto': flow['proto']}
        if flow['port'] is not None:
            labels['port'] = flow['port']
        finding = self._finding(flow['src'], flow['dst'], flow['proto'], flow['port'])
        if result is not None and result.get('budget_spent'):
            result, failure = None, result['detail'].split(': ', 1)[-1]
        outcome = result['outcome'] if result else None
        observed_verdict = None
        if result is None:
            reason = self._not_run('not probed', flow['src'], failure)
        elif wrong := wrong_server(result, flow['dst']):
            reason = wrong
        else:
            observed_verdict = 'allow' if outcome == 'connected' else 'deny'
            if outcome_matches(flow['expected'], outcome):
                reason = None
            else:
                reason = 'expected %s, got %s' % (flow['expected'], outcome)
                if result.get('detail'):
                    reason += ' (%s)' % result['detail']
                if flow['proto'] != 'icmp':
                    reason = self._without_responder(reason, flow['dst'])
                if finding is not None:
                    reason = explained(reason, finding, flow['expected'], observed_verdict)
        check = _check('reach ' + flow['id'], 'reachability', flow['expected'], outcome, reason,
                       with_answerer(dict(labels, source=flow['source']), result))
        if finding is not None:
            check['explanation'] = self._explanation(finding, observed_verdict)
        if result is not None and result.get('sent'):
            check['loss_pct'] = loss_pct(result)
        self.checks.append(check)
        if result:
            metric, tool = ('rtt_ms', 'ping') if flow['proto'] == 'icmp' else ('%s_connect_ms' % flow['proto'], 'socket')
            tool = result.get('tool') or tool  # the probe says which: ping, or its own ICMP socket without it
            if metric in METRICS:
                for value in result.get('rtt_ms') or []:
                    self._sample(metric, value, dict(labels, tool=tool))
        if flow['mtu'] is not None and 'path_mtu' in self.kinds:
            self._mtu_check(flow, result, failure, labels, finding)

    def _mtu_check(self, flow, result, failure, labels, finding):
        measured = result.get('path_mtu') if result else None
        if result is None:
            reason = self._not_run('not probed', flow['src'], failure)
        elif measured is None:
            reason = 'no echo reply at any size'
        elif measured != flow['mtu']:
            reason = 'path MTU is %d, the topology declares %d' % (measured, flow['mtu'])
            if finding is not None and finding.path_mtu is not None:
                said = '; '.join(e for e in finding.evidence if e.startswith('path MTU')) or 'path MTU %d' % finding.path_mtu
                reason += ('; the configuration explains it: %s' % said if finding.path_mtu == measured else
                           '; the configuration says %s, so packets and configuration disagree: a data-plane fault'
                           % said)
        else:
            reason = None
        if measured is not None:
            self._sample('path_mtu', measured, dict(labels, tool=result.get('tool') or 'ping'))
        check = _check('pmtu %s->%s' % (flow['src'], flow['dst']), 'path_mtu', flow['mtu'], measured, reason, labels)
        if finding is not None and finding.path_mtu is not None:
            check['explanation'] = {'configuration': finding.path_mtu, 'evidence': list(finding.evidence),
                                    'data_plane_fault': measured is not None and measured != finding.path_mtu}
        self.checks.append(check)

    # ------------------------------------------------------------------ configuration alone
    def configured_flows(self):
        """Every expectation judged from the cloud's configuration, where no packet can be sent."""
        for flow in self.plan['flows']:
            labels = {'src': flow['src'], 'dst': flow['dst'], 'path': flow['path'], 'proto': flow['proto'],
                      'evidence': 'configuration'}
            if flow['port'] is not None:
                labels['port'] = flow['port']
            finding = self._finding(flow['src'], flow['dst'], flow['proto'], flow['port'])
            reason = None
            if finding.verdict != flow['expected']:
                reason = 'expected %s, the configuration %s it: %s' % (
                    flow['expected'], VERBS[finding.verdict], '; '.join(finding.evidence))
            check = _check('reach ' + flow['id'], 'reachability', flow['expected'], finding.verdict, reason,
                           dict(labels, source=flow['source']))
            check['explanation'] = self._explanation(finding)
            self.checks.append(check)
            if flow['mtu'] is not None and 'path_mtu' in self.kinds and finding.verdict == 'allow':
                reason = None if finding.path_mtu == flow['mtu'] else (
                    'the configuration gives a path MTU of %s, the topology declares %d' % (finding.path_mtu, flow['mtu']))
                check = _check('pmtu %s->%s' % (flow['src'], flow['dst']), 'path_mtu', flow['mtu'], finding.path_mtu,
                               reason, labels)
                check['explanation'] = self._explanation(finding)
                self.checks.append(check)

    def configured_floating_ips(self):
        if 'floating_ip' not in self.kinds:
            return
        for fip in self.plan['floating_ips']:
            finding = self._finding('outside', fip['server'], fip['proto'], fip['port'])
            reason = None
            if finding.verdict != fip['expected']:
                reason = 'expected %s from outside, the configuration %s it: %s' % (
                    fip['expected'], VERBS[finding.verdict], '; '.join(finding.evidence))
            labels = {'src': 'outside', 'dst': fip['server'], 'path': 'north-south', 'proto': fip['proto'],
                      'address': fip['address'], 'evidence': 'configuration'}
            if fip['port'] is not None:
                labels['port'] = fip['port']
            check = _check('fip %s reachable' % fip['server'], 'floating_ip', fip['expected'], finding.verdict,
                           reason, labels)
            check['explanation'] = self._explanation(finding)
            self.checks.append(check)

    # ------------------------------------------------------------------ throughput
    def throughput(self, runs):
        if 'throughput' not in self.kinds:
            return
        measured = {(_item(e).get('path'), _item(e).get('proto', e.get('proto', 'tcp'))) for e in runs or []}
        # Pairs whose source never answered over SSH were not run: they fail as such.
        missing = [{'item': pair, 'failed': True, 'msg': self._not_run('not measured', pair['src'])}
                   for pair in self.plan.get('throughput') or [] if (pair['path'], pair['proto']) not in measured
                   and self._unreachable(pair['src'])]
        for entry in list(runs or []) + missing:
            item = _item(entry)
            proto = item.get('proto', entry.get('proto', 'tcp'))
            labels = {'src': item['src'], 'dst': item['dst'], 'path': item['path'], 'proto': proto,
                      'tool': entry.get('tool') or 'iperf3'}
            failure = _failure(entry)
            gbps = None if failure else entry.get('gbps')
            if failure:
                reason = failure if entry in missing else self._without_responder(failure, item['dst'])
            elif gbps is None or gbps <= 0:
                reason = 'no traffic passed'
            elif proto == 'udp' and (entry.get('loss_pct') is None or entry['loss_pct'] > self.loss_high):
                reason = 'no rate kept the loss at or below %g %%' % self.loss_high
            else:
                reason = None
            if gbps is not None:
                self._sample('%s_gbps' % proto, gbps, labels)
                if proto == 'udp' and entry.get('loss_pct') is not None:
                    self._sample('udp_loss_pct', entry['loss_pct'], labels)
            expected = '> 0 Gbit/s' if proto == 'tcp' else 'a rate with loss <= %g %%' % self.loss_high
            self.checks.append(_check('throughput %s %s' % (item['path'], proto), 'throughput', expected, gbps,
                                      reason, labels))

    # ------------------------------------------------------------------ floating IPs
    def floating_ips(self, observations):
        if 'floating_ip' not in self.kinds:
            return
        seen = {(o['server'], o['phase']): o for o in observations or []}
        for fip in self.plan['floating_ips']:
            phases = FIP_PHASES if fip['expected'] == 'allow' and fip['address'] else FIP_PHASES[:1]
            for phase in phases:
                expected = 'deny' if phase == 'detached' else fip['expected']
                obs = seen.get((fip['server'], phase))
                outcome = obs.get('outcome') if obs else None
                if not fip['address']:
                    reason = '%s has no floating IP, though the topology gives it one' % fip['server']
                elif obs is None:
                    reason = 'not probed'
                elif wrong := wrong_server(obs, fip['server']):
                    reason = wrong
                elif not outcome_matches(expected, outcome):
                    reason = 'expected %s from outside, got %s' % (expected, outcome)
                    if obs.get('detail'):
                        reason += ' (%s)' % obs['detail']
                    if not fip.get('declared', True):
                        reason += '; the topology gives %s no floating IP' % fip['server']
                    if fip['proto'] != 'icmp':
                        reason = self._without_responder(reason, fip['server'])
                else:
                    reason = None
                finding = self._finding('outside', fip['server'], fip['proto'], fip['port']) \
                    if phase == 'reachable' else None
                if reason and finding is not None and outcome is not None:
                    reason = explained(reason, finding, expected, 'allow' if outcome == 'connected' else 'deny')
                labels = {'src': 'outside', 'dst': fip['server'], 'path': 'north-south', 'proto': fip['proto'],
                          'address': fip['address']}
                if fip['port'] is not None:
                    labels['port'] = fip['port']
                check = _check('fip %s %s' % (fip['server'], phase), 'floating_ip', expected, outcome, reason,
                               with_answerer(labels, obs))
                if finding is not None:
                    check['explanation'] = self._explanation(
                        finding, None if outcome is None else 'allow' if outcome == 'connected' else 'deny')
                self.checks.append(check)

    # ------------------------------------------------------------------ security groups
    def security_group_changes(self, observations):
        if 'security_group' not in self.kinds:
            return
        seen = {(o['group'], o['phase']): o for o in observations or []}
        for change in self.plan['security_group_changes']:
            for phase in SG_PHASES:
                expected = 'allow' if phase == 'added' else 'deny'
                obs = seen.get((change['group'], phase))
                outcome = obs.get('outcome') if obs else None
                labels = {'src': change['src'], 'dst': change['dst'], 'proto': 'tcp', 'port': change['port'],
                          'group': change['group']}
                if obs is None:
                    reason = self._not_run('not probed', change['src']) if self._unreachable(change['src']) else 'not probed'
                elif wrong := wrong_server(obs, change['dst']):
                    reason = wrong
                elif not outcome_matches(expected, outcome):
                    reason = self._without_responder('the rule was %s but tcp/%d from %s to %s is %s' % (
                        phase, change['port'], change['src'], change['dst'], outcome), change['dst'])
                else:
                    reason = None
                if obs and obs.get('seconds') is not None:
                    labels['seconds'] = obs['seconds']
                    if not reason:
                        self._sample('sg_apply_s', obs['seconds'], dict(labels, phase=phase))
                self.checks.append(_check('sg %s rule %s' % (change['group'], phase), 'security_group', expected,
                                          outcome, reason, with_answerer(labels, obs)))

    # ------------------------------------------------------------------ results
    def stats(self):
        groups = {}
        for sample in self.samples:
            if sample['metric'] not in ('rtt_ms', 'tcp_connect_ms'):
                continue
            labels = {k: v for k, v in sample['labels'].items() if k != 'tool'}
            key = (sample['metric'], tuple(sorted(labels.items())))
            groups.setdefault(key, (labels, []))[1].append(sample['value'])
        return [dict(metric=metric, labels=labels, **summarize(values))
                for (metric, _key), (labels, values) in groups.items()]


def summarize_checks(checks):
    failed = [c['name'] for c in checks if c['verdict'] == 'fail']
    by_kind = {}
    for check in checks:
        counts = by_kind.setdefault(check['kind'], {'passed': 0, 'failed': 0})
        counts['passed' if check['verdict'] == 'pass' else 'failed'] += 1
    return {'verdict': 'fail' if failed else 'pass', 'checks': len(checks), 'passed': len(checks) - len(failed),
            'failed': len(failed), 'failed_checks': failed, 'by_kind': by_kind,
            'regressions': [c['name'] for c in checks if c['kind'] == 'regression' and c['verdict'] == 'fail']}


def build_report(run, plan, probes=None, throughput=None, floating_ips=None, security_group_changes=None,
                 sla=None, loss_band=(2.0, 5.0), kinds=OPTIONAL_KINDS, unreachable=None, configuration=None,
                 evidence='packets'):
    """The report.json document; ``run`` holds id, cloud, started, finished, versions, topology, servers.
    ``kinds``: the optional kinds of check the run made; the others, and SLA rules on their
    metrics, are not judged. ``unreachable``: {guest: why} of the guests that never answered over SSH.
    ``configuration``: the cloud's own configuration (a Configuration), which explains failures; with
    ``evidence='configuration'`` no packet was sent and every expectation is judged from it alone."""
    builder = ReportBuilder(plan, loss_band, kinds, unreachable, configuration, evidence)
    if evidence == 'configuration':
        builder.configured_flows()
        builder.configured_floating_ips()
        checks = builder.checks
        return {'schema_version': SCHEMA_VERSION, 'run': run, 'samples': [], 'stats': [], 'checks': checks,
                'summary': summarize_checks(checks)}
    rules = [r for r in normalize_sla(sla) if METRIC_KINDS[r['metric']] in ('reachability',) + tuple(kinds)]
    builder.probes(probes)
    builder.throughput(throughput)
    builder.floating_ips(floating_ips)
    builder.security_group_changes(security_group_changes)
    sla_checks = evaluate_sla(rules, builder.samples)
    if builder.unreachable:
        for check in sla_checks:
            if check['verdict'] == 'fail' and check['reason'].startswith('no '):
                check['reason'] += ' (guests unreachable over SSH: %s)' % ', '.join(sorted(builder.unreachable))
    checks = builder.checks + sla_checks
    return {
        'schema_version': SCHEMA_VERSION,
        'run': run,
        'samples': builder.samples,
        'stats': builder.stats(),
        'checks': checks,
        'summary': summarize_checks(checks),
    }


def observation(result, extra):
    """A registered probe task -> {outcome, detail, seconds, answered_by} plus ``extra``, for the
    report's floating IP and security group entries."""
    entry = dict(extra, outcome=None, detail=None, seconds=None, answered_by=None)
    failure = _failure(result)
    if result.get('skipped'):
        entry['detail'] = 'skipped'
    elif failure or not result.get('results'):
        entry['detail'] = failure or result.get('msg') or 'the probe returned nothing'
    else:
        first = result['results'][0]
        entry.update(outcome=first.get('outcome'), detail=first.get('detail'), seconds=first.get('seconds'),
                     answered_by=first.get('answered_by'))
    return entry
