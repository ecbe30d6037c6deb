# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""report.html: the validation report as one self-contained page (inline CSS and SVG, no script, no fetch)."""

from __future__ import annotations

from datetime import datetime

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.stats import summarize
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.svg_charts import (
    bar_chart,
    number,
    text,
    topology_diagram,
)

KINDS = ('reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla')
PATHS = ('l2', 'l3', 'north-south')
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
code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; }
"""


def render_html(report):
    """The report dict (docs/validation.md) -> one HTML5 document, as text."""
    report = report or {}
    run = report.get('run') or {}
    checks = [c for c in report.get('checks') or [] if isinstance(c, dict)]
    verdict = overall_verdict(report, checks)
    title = 'Validation %s: %s' % (run.get('id') or 'run', verdict.upper())
    body = [
        summary_section(report, run, checks, verdict),
        matrix_section(checks),
        latency_section(report),
        throughput_section(report),
        sla_section(checks),
        pmtu_section(checks),
        topology_section(run),
        checks_section(checks),
    ]
    nav = ''.join('<a href="#%s">%s</a>' % (anchor, label) for anchor, label in (
        ('summary', 'Summary'), ('matrix', 'Reachability'), ('latency', 'Latency'), ('throughput', 'Throughput'),
        ('sla', 'SLA'), ('pmtu', 'Path MTU'), ('topology', 'Topology'), ('checks', 'All checks')))
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


# ---------------------------------------------------------------------- sections
def summary_section(report, run, checks, verdict):
    summary = report.get('summary') or {}
    failed_checks = [c for c in checks if c.get('verdict') != 'pass']
    total = summary.get('checks', len(checks))
    failed = summary.get('failed', len(failed_checks))
    passed = summary.get('passed', total - failed if isinstance(total, int) and isinstance(failed, int) else None)
    started, finished = parse_time(run.get('started')), parse_time(run.get('finished'))
    duration = None
    if started and finished and (started.tzinfo is None) == (finished.tzinfo is None):
        duration = '%s s' % number(round((finished - started).total_seconds(), 1))
    versions = run.get('versions') or {}
    facts = [('Cloud', run.get('cloud')), ('Started', run.get('started')), ('Finished', run.get('finished')),
             ('Duration', duration), ('Guests reached by', run.get('access'))]
    if run.get('data_plane') is False:
        facts.append(('No packet sent', run.get('data_plane_reason') or 'the cloud runs no guests'))
    facts += [('Version of %s' % name, value) for name, value in sorted(versions.items())]
    parts = [
        '<h1>Network validation <code>%s</code></h1>' % text(run.get('id') or 'unnamed run'),
        '<div class="headline">',
        '<div class="verdict-big %s" id="verdict">%s</div>' % (verdict, text(verdict.upper())),
        '<div class="counts">',
        '<div class="count"><b>%s</b>checks</div>' % text(show(total)),
        '<div class="count pass"><b>%s</b>passed</div>' % text(show(passed)),
        '<div class="count fail"><b>%s</b>failed</div>' % text(show(failed)),
        '</div>', '</div>',
        '<dl class="facts">%s</dl>' % ''.join('<dt>%s</dt><dd>%s</dd>' % (text(k), text(show(v))) for k, v in facts),
    ]
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
        items = ''.join('<li><a href="#%s">%s</a>%s</li>' % (
            anchors[id(c)], text(c.get('name')), ': %s' % text(c['reason']) if c.get('reason') else '') for c in failed_checks)
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
                td(check.get('expected')), td(check.get('observed')), verdict_cell(check.get('verdict')), td(check.get('reason'))]))
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
                row.append('<td class="cell %s" title="%s">%s %s<small>expected %s</small></td>' % (
                    css, text(tip), '\u2713' if css == 'pass' else '\u2717', text(show(check.get('observed'))),
                    text(show(check.get('expected')))))
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
             [td(c.get('name')), td(c.get('expected')), td(c.get('observed')), verdict_cell(c.get('verdict')), td(c.get('reason'))])
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
            td(check.get('observed'), 'num'), verdict_cell(check.get('verdict')), td(check.get('reason'))]))
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
    anchors = check_anchors(checks)
    ordered = sorted(checks, key=lambda c: c.get('verdict') == 'pass')
    rows = [('failed' if c.get('verdict') != 'pass' else None,
             [verdict_cell(c.get('verdict')), td(c.get('kind')), '<td id="%s">%s</td>' % (anchors[id(c)], text(show(c.get('name')))),
              td(c.get('expected')), td(c.get('observed')), td(c.get('reason'))])
            for c in ordered]
    return section('checks', 'All checks', [table(['verdict', 'kind', 'check', 'expected', 'observed', 'reason'], rows,
                                                  table_id='all-checks')])
