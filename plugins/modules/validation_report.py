#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: validation_report
short_description: Judge what the probes observed against a topology's declaration and write the report
description:
  - Runs on the controller. Compares every observation of a validation run with the verdict its
    plan expects, evaluates the topology's SLA rules on the samples, and writes C(report.json),
    C(junit.xml) and C(report.html) into O(dest).
  - One check per declared flow and mesh pair, per path MTU, per throughput path class and
    protocol, per floating IP phase, per security group change phase, and per SLA rule.
    C(docs/validation.md) in the collection names them and describes C(report.json); its schema
    ships as C(roles/validate/files/report.schema.json).
  - With O(configuration), every failed reachability, path MTU and floating IP check says what the
    cloud's own configuration makes of it - the security group rule (or its absence), the router or
    interface missing on the path, the floating IP's association, each hop's MTU - and when
    configuration and packets disagree, that it is a data-plane fault. On a cloud whose guests carry
    no packets (C(run.data_plane) false), every expectation is judged from O(configuration) alone.
  - With O(store), the run is compared with its baseline in the results store (regression checks per
    path class - flows that passed and fail now, p99 RTT up, throughput down, path MTU lower, with the
    thresholds of the topology's C(regressions)), charted against the latest runs of its topology and
    cloud in C(report.html), and recorded there.
  - The module never fails because checks failed; it returns the verdict. Use O(fail_on_failed_checks)
    or test RV(summary.verdict). When the store or the metrics export fails, the report is written
    first and the task fails with one line.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  run:
    description:
      - What identifies the run. C(id) and C(cloud) are required; C(started), C(finished),
        C(versions), C(topology) and C(servers) are copied into the report as given.
    type: dict
    required: true
  plan:
    description: The plan, as the P(cloudops.multicloud.validation_plan#filter) filter returns it.
    type: dict
    required: true
  probes:
    description:
      - Results of M(cloudops.multicloud.probe) per source VM, each with C(src) (or an C(item) that
        has it, as a registered loop gives) and C(results), or C(failed) and C(msg).
    type: list
    elements: dict
    default: []
  throughput:
    description:
      - Results of M(cloudops.multicloud.throughput), each with C(path), C(src), C(dst) and C(proto)
        (or an C(item) that has them), and C(gbps) and C(loss_pct), or C(failed) and C(msg).
    type: list
    elements: dict
    default: []
  floating_ips:
    description:
      - Floating IP observations from outside, each C({server, phase, outcome, detail, answered_by}); phase is reachable,
        detached or reattached.
      - An observation whose C(answered_by.name) is not C(server) fails with the reason "answered by <name> (expected <server>)".
    type: list
    elements: dict
    default: []
  security_group_changes:
    description: Security group change observations, each C({group, phase, outcome, seconds, answered_by}); phase is added or removed.
    type: list
    elements: dict
    default: []
  sla:
    description:
      - SLA rules, each C({metric, stat, path, min, max}) with optional C(src) and C(dst).
      - C(metric) is one of rtt_ms, tcp_connect_ms, tcp_gbps, udp_gbps, udp_loss_pct, path_mtu, sg_apply_s;
        C(stat) one of min, avg (mean), p50 (median), p90, p99, max; C(path) one of l2, l3, north-south, any.
    type: list
    elements: dict
    default: []
  checks:
    description:
      - The kinds of check the run made. Kinds left out are not judged; a kind named here whose
        observations are missing fails as not probed. Reachability and SLA checks are always judged.
    type: list
    elements: str
    choices: [reachability, path_mtu, throughput, floating_ip, security_group]
    default: [reachability, path_mtu, throughput, floating_ip, security_group]
  loss_band:
    description: The UDP loss band in percent the throughput search used; a UDP check passes at or below its upper end.
    type: list
    elements: float
    default: [2, 5]
  unreachable:
    description:
      - The guests that never answered over SSH, each with why (C(wait_for_connection)'s message).
      - Their own checks fail with the reason C(<guest> unreachable over SSH (...)) - flows, path MTUs and
        throughput from them, checks that needed a responder or a throughput server on them, and SLA
        rules left without samples; every other check is judged as usual.
    type: dict
    default: {}
  dest:
    description: Directory the report files are written to; created when missing.
    type: path
    required: true
  formats:
    description: Which files to write.
    type: list
    elements: str
    choices: [json, junit, html]
    default: [json, junit, html]
  fail_on_failed_checks:
    description: Fail the task, after writing the report, when any check failed.
    type: bool
    default: false
  configuration:
    description:
      - The run's configuration as the cloud holds it, RV(cloudops.multicloud.cloud_info#module:configuration)
        of M(cloudops.multicloud.cloud_info) with the run's labels.
    type: dict
  outside_address:
    description: The address the outside vantage has, which security group rules are matched against for flows from outside.
    type: str
  groupless_open:
    description: Whether the cloud lets everything reach a server without security groups (the lab does; clouds filter them).
    type: bool
    default: true
  store:
    description:
      - The results store - the path of a SQLite file (made when missing), or a PostgreSQL DSN
        (C(postgresql://user:password@host/db)) that a team or an AWX cluster shares.
      - Every run is recorded with its samples and checks; the schema is made and migrated on first use.
      - Not set - no history, baseline or regression check.
    type: str
  baseline:
    description:
      - The run to compare with - V(last-pass) (the latest passing run of the same topology and cloud),
        a run id (its latest run), or V(none).
    type: str
    default: last-pass
  trend_runs:
    description: How many earlier runs of the topology and cloud C(report.html) charts.
    type: int
    default: 20
  metrics_file:
    description:
      - Also write the run's metrics here, in the Prometheus text format that node_exporter's textfile
        collector reads (name it C(*.prom) in its directory); written atomically.
    type: path
  pushgateway_url:
    description:
      - Also push the run's metrics to this Prometheus Pushgateway (C(http://host:9091)), replacing the
        group of the run's cloud and topology; C(user:password@) in the URL is sent as basic auth.
    type: str
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
    details: In check mode the report is evaluated and returned but no file is written.
  diff_mode:
    support: none
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    support: none
    description: When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
    details: Every run writes the report files anew, with the run's own timestamps and samples.
'''

EXAMPLES = r'''
- name: Judge the run and write its report
  cloudops.multicloud.validation_report:
    run:
      id: demo-1
      cloud: lab
      topology: "{{ topology }}"
      servers: "{{ servers }}"
    plan: "{{ plan }}"
    probes: "{{ probe_runs.results }}"
    throughput: "{{ throughput_runs.results }}"
    sla: "{{ topology.sla | default([]) }}"
    dest: "{{ playbook_dir }}/reports/demo-1"
  register: report

- name: Judge a run against the last green one, with its configuration, and export its metrics
  cloudops.multicloud.validation_report:
    run: {id: demo-2, cloud: lab, topology: "{{ topology }}", servers: "{{ servers }}"}
    plan: "{{ plan }}"
    probes: "{{ probe_runs.results }}"
    configuration: "{{ demo_configuration.configuration }}"
    store: "{{ lookup('ansible.builtin.env', 'HOME') }}/.local/share/cloudops/results.sqlite"
    baseline: last-pass
    metrics_file: /var/lib/node_exporter/textfile/cloudops.prom
    dest: "{{ playbook_dir }}/reports/demo-2"
  register: report

- name: Fail the job on any failed check, naming them
  ansible.builtin.assert:
    that: report.summary.verdict == 'pass'
    fail_msg: "Failed checks: {{ report.summary.failed_checks | join(', ') }}"
'''

RETURN = r'''
summary:
  description: The verdict and counts.
  returned: always
  type: dict
  contains:
    verdict:
      description: V(pass) when every check passed, else V(fail).
      type: str
      sample: pass
    checks:
      description: Number of checks.
      type: int
      sample: 24
    passed:
      description: Number of checks that passed.
      type: int
      sample: 24
    failed:
      description: Number of checks that failed.
      type: int
      sample: 0
    failed_checks:
      description: Names of the failed checks.
      type: list
      elements: str
      sample: []
    by_kind:
      description: Passed and failed counts per kind of check.
      type: dict
      sample: {reachability: {passed: 10, failed: 0}}
    regressions:
      description: Names of the regression checks that failed.
      type: list
      elements: str
      sample: [regression reach l3]
checks:
  description: Every check with name, kind, expected, observed, verdict, reason and labels.
  returned: always
  type: list
  elements: dict
  sample: [{name: reach web->db tcp/5432, kind: reachability, expected: allow, observed: connected, verdict: pass,
            reason: '', labels: {src: web, dst: db, path: l3, proto: tcp, port: 5432, source: declared}}]
baseline:
  description: The run this one was compared with, from O(store); null without one.
  returned: always
  type: dict
  sample: {run_id: lab-demo, finished: '2026-12-07T10:00:00Z', verdict: pass}
regressions:
  description: Names of the regression checks that failed, as in RV(summary.regressions).
  returned: always
  type: list
  elements: str
  sample: []
files:
  description: Paths of the files written, by format; the paths they would have in check mode.
  returned: always
  type: dict
  sample: {json: /srv/reports/demo-1/report.json, junit: /srv/reports/demo-1/junit.xml, html: /srv/reports/demo-1/report.html}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report import OPTIONAL_KINDS
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report_files import write_report

CHECK_CHOICES = ('reachability',) + OPTIONAL_KINDS


def main():
    module = AnsibleModule(
        argument_spec={
            'run': {'type': 'dict', 'required': True},
            'plan': {'type': 'dict', 'required': True},
            'probes': {'type': 'list', 'elements': 'dict', 'default': []},
            'throughput': {'type': 'list', 'elements': 'dict', 'default': []},
            'floating_ips': {'type': 'list', 'elements': 'dict', 'default': []},
            'security_group_changes': {'type': 'list', 'elements': 'dict', 'default': []},
            'sla': {'type': 'list', 'elements': 'dict', 'default': []},
            'checks': {'type': 'list', 'elements': 'str', 'choices': list(CHECK_CHOICES), 'default': list(CHECK_CHOICES)},
            'loss_band': {'type': 'list', 'elements': 'float', 'default': [2, 5]},
            'unreachable': {'type': 'dict', 'default': {}},
            'dest': {'type': 'path', 'required': True},
            'formats': {'type': 'list', 'elements': 'str', 'choices': ['json', 'junit', 'html'],
                        'default': ['json', 'junit', 'html']},
            'fail_on_failed_checks': {'type': 'bool', 'default': False},
            'configuration': {'type': 'dict'},
            'outside_address': {'type': 'str'},
            'groupless_open': {'type': 'bool', 'default': True},
            'store': {'type': 'str', 'no_log': True},
            'baseline': {'type': 'str', 'default': 'last-pass'},
            'trend_runs': {'type': 'int', 'default': 20},
            'metrics_file': {'type': 'path'},
            'pushgateway_url': {'type': 'str', 'no_log': True},
        },
        supports_check_mode=True,
    )
    if module.params['trend_runs'] < 1:
        module.fail_json(msg='trend_runs: %d is not a whole number of at least 1' % module.params['trend_runs'])
    try:
        report, files, problem = write_report(module.params, write=not module.check_mode)
    except CloudError as exc:
        module.fail_json(msg=str(exc))
    result = {'changed': not module.check_mode, 'summary': report['summary'], 'checks': report['checks'],
              'files': files, 'baseline': report.get('baseline'),
              'regressions': report['summary'].get('regressions', [])}
    if problem:
        # The report is written; the store or the metrics export is what failed.
        module.fail_json(msg=problem, **result)
    if module.params['fail_on_failed_checks'] and report['summary']['failed']:
        module.fail_json(msg='%d of %d checks failed: %s' % (
            report['summary']['failed'], report['summary']['checks'], ', '.join(report['summary']['failed_checks'])),
            **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
