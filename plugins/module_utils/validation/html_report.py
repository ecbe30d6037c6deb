# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: the validation report as one self-contained page (inline CSS and SVG, no script, no fetch)."""

from __future__ import annotations

from datetime import datetime

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import summarize
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.svg_charts import (
    bar_chart,
    line_chart,
    measurable,
    number,
    text,
    topology_diagram,
)

KINDS = ('reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla', 'regression')
PATHS = ('l2', 'l3', 'north-south')
PATH_COLOURS = ('s1', 's2', 's3')  # l2, l3 and north-south keep their colour in every trend chart
DATA_PLANE_FAULT = 'data-plane fault: packets and configuration disagree'
CONFIGURATION_EVIDENCE = 'configuration evidence, no packets'
DEFAULT_MTU = 1500
NOT_MEASURED = 'not measured'

STYLE = """
:root { color-scheme: light; --pass: #1a7f37; --pass-bg: #dafbe1; --fail: #cf222e; --fail-bg: #ffebe9;
        --muted: #57606a; --line: #d0d7de; --head: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: #1f2328; background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 0 24px 48px; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); padding: 8px 24px; z-index: 1; }
nav a { margin-right: 14px; color: var(--muted); text-decoration: none; }
nav a:hover { color: #0969da; }
section { margin-top: 32px; scroll-margin-top: 48px; }
h1 { font-size: 24px; margin: 24px 0 4px; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { font-size: 15px; margin: 18px 0 8px; }
.muted, .empty { color: var(--muted); }
.empty { font-style: italic; }
.headline { display: flex; flex-wrap: wrap; gap: 24px; align-items: center; }
.verdict-big { font-size: 44px; font-weight: 800; letter-spacing: 2px; padding: 6px 28px; border-radius: 10px; color: #fff; }
.verdict-big.pass { background: var(--pass); }
.verdict-big.fail { background: var(--fail); }
.counts { display: flex; gap: 12px; }
.count { border: 1px solid var(--line); border-radius: 8px; padding: 6px 16px; text-align: center; min-width: 90px; }
.count b { display: block; font-size: 24px; }
.count.fail b { color: var(--fail); }
.count.pass b { color: var(--pass); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 16px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: var(--head); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass, span.pass { color: var(--pass); font-weight: 700; }
td.fail, span.fail { color: var(--fail); font-weight: 700; }
tr.failed td { background: var(--fail-bg); }
table.matrix th, table.matrix td { text-align: center; min-width: 92px; }
table.matrix th.row { text-align: right; }
table.matrix td.cell.pass { background: var(--pass-bg); color: var(--pass); }
table.matrix td.cell.fail { background: var(--fail); color: #fff; }
table.matrix td.cell small { display: block; font-weight: 400; opacity: .8; }
table.matrix td.diag { background: repeating-linear-gradient(45deg, #fff, #fff 4px, var(--head) 4px, var(--head) 8px); }
table.matrix td.unprobed { color: var(--muted); }
.legend-row { display: flex; gap: 16px; color: var(--muted); font-size: 12px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: -2px; margin-right: 4px; }
.swatch.pass { background: var(--pass-bg); border: 1px solid var(--pass); }
.swatch.fail { background: var(--fail); }
svg { max-width: 100%; height: auto; font-family: inherit; }
svg text { font-size: 12px; fill: #1f2328; }
svg .tick, svg .unit, svg .missing, svg .bus-detail, svg .node-detail { fill: var(--muted); font-size: 11px; }
svg .missing { font-style: italic; }
svg .grid { stroke: #eaeef2; }
svg .axis { stroke: var(--muted); }
svg .s1 { fill: #54aeff; }
svg .s2 { fill: #0550ae; }
svg .s3 { fill: #fb8f44; }
svg .bus { stroke: #8c959f; stroke-width: 4; }
svg .bus-name, svg .node-name { font-weight: 700; }
svg .link { stroke: #8c959f; stroke-width: 2; }
svg .port { fill: #57606a; }
svg .node { stroke: #8c959f; fill: #fff; }
svg .node.router { fill: #fff8c5; }
svg .node.server { fill: #ddf4ff; }
ul.failed-list { margin: 4px 0; padding-left: 20px; }
.notice { border-left: 4px solid #bf8700; background: #fff8c5; padding: 6px 12px; margin: 12px 0; }
.marker { display: inline-block; font-size: 12px; border-radius: 4px; padding: 0 6px; margin: 2px 4px 2px 0; }
.marker.fault { background: var(--fail); color: #fff; font-weight: 700; }
.marker.configuration { background: #ddf4ff; color: #0550ae; border: 1px solid #54aeff; }
details.evidence { font-size: 12px; margin-top: 2px; }
details.evidence summary { color: var(--muted); cursor: pointer; }
details.evidence ul { margin: 2px 0; padding-left: 18px; }
td.absent { color: var(--muted); font-style: italic; }
tr.current td { background: #fff8c5; font-weight: 600; }
svg polyline.line { fill: none; stroke-width: 2; stroke-linejoin: round; }
svg polyline.s1 { stroke: #54aeff; }
svg polyline.s2 { stroke: #0550ae; }
svg polyline.s3 { stroke: #fb8f44; }
svg .point { stroke: #fff; stroke-width: 1; }
svg .current-band { fill: #fff8c5; }
svg .tick.current { fill: #1f2328; font-weight: 700; }
svg .verdict.pass { fill: var(--pass); }
svg .verdict.fail { fill: var(--fail); }
svg .verdict.unknown { fill: var(--line); }
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
"""


def render_html(report):
    """The report dict (docs/validation.md) -> one HTML5 document, as text."""
    report = report or {}
    run = report.get('run') or {}
    checks = [c for c in report.get('checks') or [] if isinstance(c, dict)]
    verdict = overall_verdict(report, checks)
    title = 'Validation %s: %s' % (run.get('id') or 'run', verdict.upper())
    baseline = baseline_of(report)
    # Optional sections are None when the report carries nothing for them, and leave no trace then.
    sections = [
        ('summary', 'Summary', summary_section(report, run, checks, verdict)),
        ('since', since_title(baseline)[0], since_section(report, baseline, checks)),
        ('trends', 'Trends', trends_section(report)),
        ('matrix', 'Reachability', matrix_section(checks)),
        ('latency', 'Latency', latency_section(report)),
        ('throughput', 'Throughput', throughput_section(report)),
        ('sla', 'SLA', sla_section(checks)),
        ('pmtu', 'Path MTU', pmtu_section(checks)),
        ('topology', 'Topology', topology_section(run)),
        ('checks', 'All checks', checks_section(checks)),
    ]
    body = [markup for _anchor, _label, markup in sections if markup]
    nav = ''.join('<a href="#%s">%s</a>' % (anchor, label) for anchor, label, markup in sections if markup)
    return '\n'.join([
        '<!DOCTYPE html>',
        '<html lang="en">',
        '<head>',
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<title>%s</title>' % text(title),
        '<style>%s</style>' % STYLE,
        '</head>',
        '<body>',
        '<nav>%s</nav>' % nav,
        '<main>',
    ] + body + ['</main>', '</body>', '</html>', ''])


# ---------------------------------------------------------------------- helpers
def labels_of(item):
    labels = item.get('labels')
    return labels if isinstance(labels, dict) else {}


def show(value):
    """A cell value: numbers shortened, None as a dash."""
    if value is None or value == '':
        return '\u2014'
    return number(value)


def verdict_cell(verdict):
    css = 'pass' if verdict == 'pass' else 'fail'
    return '<td class="%s">%s</td>' % (css, text(str(verdict or 'fail').upper()))


def table(headers, rows, table_id=None, css=None):
    """rows hold ready markup per row: (row_css, [cell markup])."""
    attributes = ''.join(' %s="%s"' % (name, text(value)) for name, value in (('id', table_id), ('class', css)) if value)
    out = ['<table%s>' % attributes, '<thead><tr>%s</tr></thead>' % ''.join('<th>%s</th>' % text(h) for h in headers), '<tbody>']
    for row_css, cells in rows:
        out.append('<tr%s>%s</tr>' % (' class="%s"' % row_css if row_css else '', ''.join(cells)))
    out.extend(['</tbody>', '</table>'])
    return '\n'.join(out)


def td(value, css=None):
    return '<td%s>%s</td>' % (' class="%s"' % css if css else '', text(show(value)))


def empty(message):
    return '<p class="empty">%s</p>' % text(message)


def section(anchor, heading, parts):
    return '\n'.join(['<section id="%s">' % anchor, '<h2>%s</h2>' % text(heading)] + [p for p in parts if p] + ['</section>'])


def parse_time(value):
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def overall_verdict(report, checks):
    summary = report.get('summary') or {}
    if summary.get('verdict') in ('pass', 'fail'):
        return summary['verdict']
    return 'fail' if any(c.get('verdict') != 'pass' for c in checks) else 'pass'


def pair_label(labels):
    label = '%s \u2192 %s' % (labels.get('src', '?'), labels.get('dst', '?'))
    if labels.get('proto') not in (None, 'icmp'):
        label += ' %s' % labels['proto'] + ('/%s' % labels['port'] if labels.get('port') is not None else '')
    if labels.get('path'):
        label += ' (%s)' % labels['path']
    return label


def metric_stats(report, metric, key):
    """{key(labels): stats dict} from report.stats, completed from raw samples where stats are missing."""
    found = {}
    for entry in report.get('stats') or []:
        if isinstance(entry, dict) and entry.get('metric') == metric:
            found.setdefault(key(labels_of(entry)), entry)
    pending = {}
    for sample in report.get('samples') or []:
        if isinstance(sample, dict) and sample.get('metric') == metric and isinstance(sample.get('value'), (int, float)):
            group = key(labels_of(sample))
            if group not in found:
                pending.setdefault(group, []).append(sample['value'])
    for group, values in pending.items():
        found[group] = summarize(values)
    return found


def anchors_by_name(checks):
    anchors = check_anchors(checks)
    found = {}
    for item in checks:
        found.setdefault(str(item.get('name')), anchors[id(item)])
    return found


def check_link(name, anchors):
    name = str(name)
    return '<a href="#%s">%s</a>' % (anchors[name], text(name)) if name in anchors else text(name)


def explanation_of(check):
    explanation = check.get('explanation')
    return explanation if isinstance(explanation, dict) else {}


def evidence_lines(explanation):
    evidence = explanation.get('evidence')
    if isinstance(evidence, (list, tuple)):
        return [str(line) for line in evidence if line not in (None, '')]
    return [str(evidence)] if evidence else []


def configuration_said(explanation):
    """'configuration: allow, path MTU 1400', from what the cloud's configuration says of the flow."""
    configuration, path_mtu = explanation.get('configuration'), explanation.get('path_mtu')
    said = []
    # Path MTU checks carry the configured path MTU itself as their configuration.
    configured_mtu = measurable(configuration) and not isinstance(configuration, str)
    if configured_mtu:
        said.append('configuration: path MTU %s' % number(configuration))
    elif configuration not in (None, ''):
        said.append('configuration: %s' % configuration)
    if measurable(path_mtu) and not configured_mtu:
        said.append('path MTU %s' % number(path_mtu))
    return ', '.join(said)


def check_markers(check):
    """Visible flags of how a check was judged: packets contradicting the configuration, or no packet at all."""
    markers = []
    if explanation_of(check).get('data_plane_fault') is True:
        markers.append('<span class="marker fault">%s</span>' % text(DATA_PLANE_FAULT))
    if labels_of(check).get('evidence') == 'configuration':
        markers.append('<span class="marker configuration">%s</span>' % text(CONFIGURATION_EVIDENCE))
    return markers


def explanation_markup(check, anchors):
    """A check's markers and its evidence, folded open when the check failed."""
    explanation = explanation_of(check)
    parts = check_markers(check)
    items = ['<li>%s</li>' % text(line) for line in evidence_lines(explanation)]
    related = explanation.get('checks')
    if isinstance(related, (list, tuple)) and related:
        items.insert(0, '<li>checks: %s</li>' % ', '.join(check_link(name, anchors) for name in related))
    said = configuration_said(explanation)
    if items:
        parts.append('<details class="evidence"%s><summary>%s</summary><ul>%s</ul></details>' % (
            '' if check.get('verdict') == 'pass' else ' open', text('evidence (%s)' % said if said else 'evidence'),
            ''.join(items)))
    elif said:
        parts.append('<div class="muted">%s</div>' % text(said))
    return ''.join(parts)


def reason_cell(check, anchors=None):
    """The reason, with the check's explanation under it when it has one."""
    explained = explanation_markup(check, anchors or {})
    if not explained:
        return td(check.get('reason'))
    reason = '<div>%s</div>' % text(check['reason']) if check.get('reason') else ''
    return '<td class="reason">%s%s</td>' % (reason, explained)


def baseline_of(report):
    baseline = report.get('baseline')
    return baseline if isinstance(baseline, dict) else None


def history_of(report):
    history = report.get('history')
    return history if isinstance(history, dict) else {}


def history_runs(report):
    runs = history_of(report).get('runs')
    return [point for point in runs if isinstance(point, dict)] if isinstance(runs, (list, tuple)) else []


def short_time(value):
    parsed = parse_time(value)
    if parsed is None:
        return '' if value is None else str(value)
    return parsed.strftime('%Y-%m-%d %H:%M')


def regression_names(summary, checks):
    listed = summary.get('regressions')
    if isinstance(listed, (list, tuple)):
        return [str(name) for name in listed]
    return [str(c.get('name')) for c in checks if c.get('kind') == 'regression' and c.get('verdict') != 'pass']


# ---------------------------------------------------------------------- sections
def run_facts(report, run):
    """(name, value) of the run for the summary's fact list."""
    started, finished = parse_time(run.get('started')), parse_time(run.get('finished'))
    duration = None
    if started and finished and (started.tzinfo is None) == (finished.tzinfo is None):
        duration = '%s s' % number(round((finished - started).total_seconds(), 1))
    versions = run.get('versions') or {}
    facts = [('Cloud', run.get('cloud')), ('Started', run.get('started')), ('Finished', run.get('finished')),
             ('Duration', duration), ('Guests reached by', run.get('access'))]
    if run.get('data_plane') is False:
        facts.append(('No packet sent', run.get('data_plane_reason') or 'the cloud runs no guests'))
    if run.get('evidence'):
        judged = "the cloud's configuration" if run['evidence'] == 'configuration' else run['evidence']
        facts.append(('Judged from', judged))
    baseline = baseline_of(report)
    if baseline:
        compared = 'run %s of %s' % (show(baseline.get('run_id')), baseline.get('finished') or 'an unknown time')
        facts.append(('Compared with', compared))
    return facts + [('Version of %s' % name, value) for name, value in sorted(versions.items())]


def summary_section(report, run, checks, verdict):
    summary = report.get('summary') or {}
    failed_checks = [c for c in checks if c.get('verdict') != 'pass']
    total = summary.get('checks', len(checks))
    failed = summary.get('failed', len(failed_checks))
    passed = summary.get('passed', total - failed if isinstance(total, int) and isinstance(failed, int) else None)
    counts = [
        '<div class="count"><b>%s</b>checks</div>' % text(show(total)),
        '<div class="count pass"><b>%s</b>passed</div>' % text(show(passed)),
        '<div class="count fail"><b>%s</b>failed</div>' % text(show(failed)),
    ]
    regressions = regression_names(summary, checks)
    if regressions:
        counts.append('<div class="count fail regressions"><b>%d</b>%s</div>'
                      % (len(regressions), 'regression' if len(regressions) == 1 else 'regressions'))
    parts = [
        '<h1>Network validation <code>%s</code></h1>' % text(run.get('id') or 'unnamed run'),
        '<div class="headline">',
        '<div class="verdict-big %s" id="verdict">%s</div>' % (verdict, text(verdict.upper())),
        '<div class="counts">',
    ] + counts + ['</div>', '</div>']
    if run.get('evidence') == 'configuration':
        parts.append('<p class="notice" id="configuration-evidence">Judged from the cloud\'s configuration alone: no '
                     'packet was sent, so every verdict below says what the configuration allows, not what the network '
                     'did.</p>')
    parts.append('<dl class="facts">%s</dl>' % ''.join('<dt>%s</dt><dd>%s</dd>' % (text(k), text(show(v)))
                                                       for k, v in run_facts(report, run)))
    by_kind = summary.get('by_kind') or {}
    if by_kind:
        kinds = [k for k in KINDS if k in by_kind] + sorted(k for k in by_kind if k not in KINDS)
        rows = []
        for kind in kinds:
            counts = by_kind.get(kind) or {}
            rows.append(('failed' if counts.get('failed') else None,
                         [td(kind), td(counts.get('passed'), 'num'), td(counts.get('failed'), 'num')]))
        parts.append(table(['kind', 'passed', 'failed'], rows, css='by-kind'))
    if failed_checks:
        anchors = check_anchors(checks)
        items = ''.join('<li><a href="#%s">%s</a>%s%s</li>' % (
            anchors[id(c)], text(c.get('name')), ': %s' % text(c['reason']) if c.get('reason') else '',
            ''.join(' ' + marker for marker in check_markers(c))) for c in failed_checks)
        parts.append('<h3>Failed checks</h3><ul class="failed-list">%s</ul>' % items)
    return '\n'.join(['<section id="summary">'] + parts + ['</section>'])


def matrix_section(checks):
    reach = [c for c in checks if c.get('kind') == 'reachability']
    icmp = [c for c in reach if labels_of(c).get('proto') == 'icmp']
    parts = ['<h3>ICMP between servers</h3>']
    if icmp:
        parts.append(reachability_matrix(icmp))
    else:
        parts.append(empty('%s: no ICMP reachability checks in this run.' % NOT_MEASURED))
    declared = [c for c in reach if labels_of(c).get('proto') != 'icmp' and labels_of(c).get('source') == 'declared']
    parts.append('<h3>Declared flows</h3>')
    if declared:
        rows = []
        for check in declared:
            labels = labels_of(check)
            flow = str(labels.get('proto', '')) + ('/%s' % labels['port'] if labels.get('port') is not None else '')
            rows.append(('failed' if check.get('verdict') != 'pass' else None, [
                td(labels.get('src')), td(labels.get('dst')), td(flow), td(labels.get('path')),
                td(check.get('expected')), td(check.get('observed')), verdict_cell(check.get('verdict')),
                reason_cell(check)]))
        parts.append(table(['from', 'to', 'flow', 'path', 'expected', 'observed', 'verdict', 'reason'], rows,
                           table_id='declared-flows'))
    else:
        parts.append(empty('%s: the topology declares no TCP or UDP flows.' % NOT_MEASURED))
    return section('matrix', 'Reachability', parts)


def reachability_matrix(icmp):
    cells = {}
    for check in icmp:
        labels = labels_of(check)
        pair = (str(labels.get('src')), str(labels.get('dst')))
        # A failing duplicate must not be hidden behind a passing one.
        if pair not in cells or cells[pair].get('verdict') == 'pass':
            cells[pair] = check
    sources = sorted({src for src, _dst in cells})
    destinations = sorted({dst for _src, dst in cells})
    out = ['<table id="reachability-matrix" class="matrix">',
           '<thead><tr><th>from \\ to</th>%s</tr></thead>' % ''.join('<th scope="col">%s</th>' % text(d) for d in destinations),
           '<tbody>']
    for src in sources:
        row = ['<th scope="row" class="row">%s</th>' % text(src)]
        for dst in destinations:
            check = cells.get((src, dst))
            if src == dst:
                row.append('<td class="diag"></td>')
            elif check is None:
                row.append('<td class="unprobed" title="not probed">\u2014</td>')
            else:
                css = 'pass' if check.get('verdict') == 'pass' else 'fail'
                tip = '%s: expected %s, observed %s' % (check.get('name'), show(check.get('expected')), show(check.get('observed')))
                if check.get('reason'):
                    tip += ' (%s)' % check['reason']
                fault = explanation_of(check).get('data_plane_fault') is True
                if labels_of(check).get('evidence') == 'configuration':
                    tip += '\n' + CONFIGURATION_EVIDENCE
                if css == 'fail':
                    tip += ''.join('\n- %s' % line for line in evidence_lines(explanation_of(check)))
                row.append('<td class="cell %s" title="%s">%s %s<small>expected %s</small>%s</td>' % (
                    css, text(tip), '\u2713' if css == 'pass' else '\u2717', text(show(check.get('observed'))),
                    text(show(check.get('expected'))), '<small>data-plane fault</small>' if fault else ''))
        out.append('<tr>%s</tr>' % ''.join(row))
    out.extend(['</tbody>', '</table>',
                '<div class="legend-row"><span><span class="swatch pass"></span>as declared</span>'
                '<span><span class="swatch fail"></span>differs from the declaration</span>'
                '<span>\u2014 not probed</span></div>'])
    return '\n'.join(out)


def latency_section(report):
    parts = []
    for metric, heading in (('rtt_ms', 'ICMP round trip'), ('tcp_connect_ms', 'TCP connect time')):
        found = metric_stats(report, metric, lambda labels: (
            str(labels.get('src', '')), str(labels.get('dst', '')), str(labels.get('proto', '')),
            str(labels.get('port', '')), pair_label(labels)))
        if not found and metric == 'tcp_connect_ms':
            continue
        parts.append('<h3>%s (ms, p50 and p99)</h3>' % text(heading))
        if not found:
            parts.append(empty('%s: no %s samples.' % (NOT_MEASURED, metric)))
            continue
        rows = [(key[-1], {'p50': (stats or {}).get('p50'), 'p99': (stats or {}).get('p99')}) for key, stats in sorted(found.items())]
        parts.append(bar_chart(rows, [('p50', 'p50', 's1'), ('p99', 'p99', 's2')], 'ms', '%s per pair' % heading))
    return section('latency', 'Latency', parts)


def throughput_section(report):
    def by_path(labels):
        return str(labels.get('path', ''))

    tcp = metric_stats(report, 'tcp_gbps', by_path)
    udp = metric_stats(report, 'udp_gbps', by_path)
    loss = metric_stats(report, 'udp_loss_pct', by_path)
    paths = set(tcp) | set(udp) | set(loss)
    ordered = [p for p in PATHS if p in paths] + sorted(p for p in paths if p not in PATHS)
    if not ordered:
        return section('throughput', 'Throughput', [empty('%s: no throughput samples in this run.' % NOT_MEASURED)])

    def mean(found, path):
        value = (found.get(path) or {}).get('avg')
        return NOT_MEASURED if value is None else value

    rows = [(path or 'unknown path', {'tcp': (tcp.get(path) or {}).get('avg'), 'udp': (udp.get(path) or {}).get('avg')}) for path in ordered]
    chart = bar_chart(rows, [('tcp', 'TCP', 's2'), ('udp', 'UDP', 's3')], 'Gbit/s', 'Throughput per path class')
    listing = table(['path', 'TCP Gbit/s', 'UDP Gbit/s', 'UDP loss %'], [
        (None, [td(path or 'unknown path'), td(mean(tcp, path), 'num'), td(mean(udp, path), 'num'), td(mean(loss, path), 'num')])
        for path in ordered], table_id='throughput-table')
    return section('throughput', 'Throughput', ['<h3>Mean per path class</h3>', chart, listing])


def sla_section(checks):
    sla = [c for c in checks if c.get('kind') == 'sla']
    if not sla:
        return section('sla', 'SLA', [empty('%s: no SLA rules in this run.' % NOT_MEASURED)])
    rows = [('failed' if c.get('verdict') != 'pass' else None,
             [td(c.get('name')), td(c.get('expected')), td(c.get('observed')), verdict_cell(c.get('verdict')),
              reason_cell(c)])
            for c in sla]
    return section('sla', 'SLA', [table(['rule', 'expected', 'observed', 'verdict', 'reason'], rows, table_id='sla-table')])


def pmtu_section(checks):
    pmtu = [c for c in checks if c.get('kind') == 'path_mtu']
    if not pmtu:
        return section('pmtu', 'Path MTU', [empty('%s: no path MTU checks in this run.' % NOT_MEASURED)])
    rows = []
    for check in pmtu:
        labels = labels_of(check)
        rows.append(('failed' if check.get('verdict') != 'pass' else None, [
            td(labels.get('src')), td(labels.get('dst')), td(labels.get('path')), td(check.get('expected'), 'num'),
            td(check.get('observed'), 'num'), verdict_cell(check.get('verdict')), reason_cell(check)]))
    return section('pmtu', 'Path MTU', [table(['from', 'to', 'path', 'expected (bytes)', 'observed (bytes)', 'verdict', 'reason'],
                                              rows, table_id='pmtu-table')])


def interface_network(interface):
    if isinstance(interface, dict):
        return interface.get('network') or interface.get('subnet') or interface.get('name')
    return interface


def server_networks(server):
    """[(network, address or None)] whether the server lists names or {network, address} entries."""
    listed = server.get('networks') or ([server['network']] if server.get('network') else [])
    out = []
    for entry in listed:
        if isinstance(entry, dict):
            out.append((str(entry.get('network') or entry.get('name') or '?'), entry.get('address')))
        else:
            out.append((str(entry), None))
    return out


def rule_text(rule):
    if not isinstance(rule, dict):
        return str(rule)
    proto = rule.get('proto') or rule.get('protocol') or 'any'
    port = rule.get('port')
    if port is None and rule.get('port_min') is not None:
        port = rule['port_min'] if rule.get('port_max') in (None, rule['port_min']) else '%s-%s' % (rule['port_min'], rule['port_max'])
    remote = rule.get('remote') or rule.get('remote_cidr') or rule.get('remote_group') or 'anywhere'
    direction = rule.get('direction') or 'ingress'
    return '%s %s%s %s %s' % (direction, proto, '/%s' % port if port is not None else '', 'from' if direction == 'ingress' else 'to', remote)


def topology_section(run):
    topology = run.get('topology') if isinstance(run.get('topology'), dict) else {}
    networks = [n for n in topology.get('networks') or [] if isinstance(n, dict) and n.get('name')]
    routers = [r for r in topology.get('routers') or [] if isinstance(r, dict) and r.get('name')]
    groups = [g for g in topology.get('security_groups') or [] if isinstance(g, dict) and g.get('name')]
    servers = [s for s in run.get('servers') or [] if isinstance(s, dict) and s.get('name')]
    parts = []
    drawing = topology_diagram(
        [{'name': str(n['name']), 'cidr': n.get('cidr'), 'mtu': n.get('mtu')} for n in networks],
        [{'name': str(r['name']), 'external': r.get('external'),
          'networks': [str(interface_network(i)) for i in r.get('interfaces') or [] if interface_network(i)]} for r in routers],
        [{'name': str(s['name']), 'networks': [n for n, _a in server_networks(s)], 'private_ip': s.get('private_ip'),
          'public_ip': s.get('public_ip')} for s in servers])
    if drawing:
        parts.append('<figure>%s</figure>' % drawing)
    parts.append('<h3>Networks</h3>')
    parts.append(table(['network', 'cidr', 'mtu'], [
        (None, [td(n['name']), td(n.get('cidr')), td('%s' % n['mtu'] if n.get('mtu') else '%d (default)' % DEFAULT_MTU, 'num')])
        for n in networks], table_id='networks') if networks else empty('no networks declared'))
    parts.append('<h3>Routers</h3>')
    parts.append(table(['router', 'interfaces', 'external gateway'], [
        (None, [td(r['name']), td(', '.join(str(interface_network(i)) for i in r.get('interfaces') or []) or None),
                td('yes' if r.get('external') else 'no')])
        for r in routers], table_id='routers') if routers else empty('no routers declared'))
    parts.append('<h3>Security groups</h3>')
    parts.append(table(['group', 'rules'], [
        (None, [td(g['name']), '<td>%s</td>' % ('<br>'.join(text(rule_text(r)) for r in g.get('rules') or []) or 'no rules')])
        for g in groups], table_id='security-groups') if groups else empty('no security groups declared'))
    parts.append('<h3>Servers</h3>')
    rows = []
    for server in servers:
        nics = server_networks(server)
        addresses = [server.get('private_ip')] + [a for _n, a in nics if a and a != server.get('private_ip')]
        rows.append((None, [td(server['name']), td(', '.join(n for n, _a in nics) or None),
                            td(', '.join(str(a) for a in addresses if a) or None),
                            td(server.get('public_ip') or 'none'),
                            td(', '.join(str(g) for g in server.get('security_groups') or []) or 'none')]))
    parts.append(table(['server', 'networks', 'private addresses', 'floating IP', 'security groups'], rows, table_id='servers')
                 if servers else empty('no servers provisioned'))
    return section('topology', 'Topology', parts)


def check_anchors(checks):
    return {id(c): 'check-%d' % index for index, c in enumerate(checks)}


def checks_section(checks):
    if not checks:
        return section('checks', 'All checks', [empty('no checks in this run')])
    anchors, by_name = check_anchors(checks), anchors_by_name(checks)
    ordered = sorted(checks, key=lambda c: c.get('verdict') == 'pass')
    rows = [('failed' if c.get('verdict') != 'pass' else None,
             [verdict_cell(c.get('verdict')), td(c.get('kind')), '<td id="%s">%s</td>' % (anchors[id(c)], text(show(c.get('name')))),
              td(c.get('expected')), td(c.get('observed')), reason_cell(c, by_name)])
            for c in ordered]
    return section('checks', 'All checks', [table(['verdict', 'kind', 'check', 'expected', 'observed', 'reason'], rows,
                                                  table_id='all-checks')])


# ---------------------------------------------------------------------- history
def since_title(baseline):
    """(nav label, heading): a baseline picked by run id need not be green."""
    if baseline is None or baseline.get('verdict') == 'pass':
        return 'Since last green', 'Since the last green run'
    return 'Since baseline', 'Since the baseline run'


def verdict_word(verdict):
    css = verdict if verdict in ('pass', 'fail') else None
    return '<span class="%s">%s</span>' % (css, text(verdict.upper())) if css else text(show(verdict))


def change_cell(verdict, absent):
    if verdict is None:
        return '<td class="absent">%s</td>' % text(absent)
    return verdict_cell(verdict)


def since_section(report, baseline, checks):
    """What changed since the baseline run: verdicts that flipped, and the regression checks against it."""
    history = history_of(report)
    heading = since_title(baseline)[1]
    if baseline is None:
        if not history_runs(report):
            return None
        return section('since', heading, [empty('No baseline to compare with: no earlier passing run of this topology '
                                                'on this cloud, or none was asked for.')])
    anchors = anchors_by_name(checks)
    parts = ['<p id="baseline">Compared with run <code>%s</code> of %s (%s).</p>' % (
        text(show(baseline.get('run_id'))), text(baseline.get('finished') or 'an unknown time'),
        verdict_word(baseline.get('verdict')))]
    changes = history.get('changes')
    parts.append('<h3>Verdicts that changed</h3>')
    if not isinstance(changes, (list, tuple)):
        parts.append(empty('The changes since that run were not recorded.'))
    elif not [c for c in changes if isinstance(c, dict)]:
        parts.append(empty('No check changed its verdict since that run.'))
    else:
        rows = [('failed' if change.get('now') == 'fail' else None, [
            '<td>%s</td>' % check_link(change.get('check'), anchors), td(change.get('kind')),
            change_cell(change.get('before'), 'not in that run'), change_cell(change.get('now'), 'not in this run'),
            td(change.get('reason'))]) for change in changes if isinstance(change, dict)]
        parts.append(table(['check', 'kind', 'before', 'now', 'reason'], rows, table_id='changes'))
    compared = [c for c in checks if c.get('kind') == 'regression']
    if compared:
        parts.append('<h3>Regressions</h3>')
        worse = [c for c in compared if c.get('verdict') != 'pass']
        if worse:
            parts.append(table(['check', 'expected', 'observed', 'reason'], [
                ('failed', ['<td>%s</td>' % check_link(c.get('name'), anchors), td(c.get('expected')),
                            td(c.get('observed')), reason_cell(c, anchors)]) for c in worse], table_id='regressions'))
        else:
            parts.append(empty('No regression: %d comparisons with that run pass.' % len(compared)))
    return section('since', heading, parts)


def path_series(runs, key, point):
    """[(path, css, points)] for every path class measured in some run; point(value) -> chart point or None."""
    found = set()
    for run in runs:
        if isinstance(run.get(key), dict):
            found.update(str(path) for path in run[key])
    ordered = [p for p in PATHS if p in found] + sorted(p for p in found if p not in PATHS)
    series = []
    for index, path in enumerate(ordered):
        points = [point((run.get(key) or {}).get(path)) if isinstance(run.get(key), dict) else None for run in runs]
        colour = PATH_COLOURS[PATHS.index(path) if path in PATHS else index % len(PATH_COLOURS)]
        if any(p is not None for p in points):
            series.append((path, colour, points))
    return series


def measured_point(value):
    return value if measurable(value) else None


def passed_point(counts):
    """Passed checks of a path class, with 'passed of total' in its tooltip."""
    if not isinstance(counts, (list, tuple)) or len(counts) != 2 or not all(
            isinstance(n, int) and not isinstance(n, bool) for n in counts):
        return None
    return counts[0], '%d of %d checks passed' % (counts[0], counts[1])


def trends_section(report):
    """Line charts over the stored runs of this topology on this cloud, the current run last."""
    runs = history_runs(report)
    if len(runs) < 2:
        return None
    labels = [(str(show(run.get('run_id'))), short_time(run.get('finished'))) for run in runs]
    verdicts = [run.get('verdict') for run in runs]
    parts = ['<p class="muted">%d runs of this topology on this cloud, oldest first; the shaded column is this run '
             'and the dots under each chart are the runs\' verdicts.</p>' % len(runs)]
    # The last item says what is missing when no run measured the metric; None leaves the chart out then.
    for key, heading, unit, point, missing in (
            ('rtt_p99_ms', 'p99 ICMP round trip per path class', 'ms', measured_point, 'no run has ICMP round trips'),
            ('tcp_gbps', 'Mean TCP throughput per path class', 'Gbit/s', measured_point, 'no run measured TCP'),
            ('udp_gbps', 'Mean UDP throughput per path class', 'Gbit/s', measured_point, None),
            ('passed_by_path', 'Passed checks per path class', 'checks', passed_point, 'no run has path checks')):
        series = path_series(runs, key, point)
        if not series and missing is None:
            continue
        parts.append('<h3>%s</h3>' % text(heading))
        if not series:
            parts.append(empty('%s: %s.' % (NOT_MEASURED, missing)))
            continue
        parts.append('<figure>%s</figure>' % line_chart(series, labels, unit, heading, verdicts=verdicts))
    rows = []
    for index, run in enumerate(runs):
        current = index == len(runs) - 1
        rows.append(('current' if current else None, [
            td('%s (this run)' % show(run.get('run_id')) if current else run.get('run_id')), td(run.get('finished')),
            verdict_cell(run['verdict']) if run.get('verdict') in ('pass', 'fail') else td(None),
            td(run.get('checks'), 'num'), td(run.get('passed'), 'num'), td(run.get('failed'), 'num')]))
    parts.append('<details class="runs"><summary>The %d runs</summary>%s</details>' % (len(runs), table(
        ['run', 'finished', 'verdict', 'checks', 'passed', 'failed'], rows, table_id='trend-runs')))
    return section('trends', 'Trends', parts)
