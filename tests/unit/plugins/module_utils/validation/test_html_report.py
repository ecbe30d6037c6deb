from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.html_report import render_html
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.svg_charts import (
    bar_chart, line_chart, nice_ticks, number,
)
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import (
    bare_report, check, configuration_report, explained_report, history_report, sample_report, summary_of,
)

SECTIONS = ['summary', 'matrix', 'latency', 'throughput', 'sla', 'pmtu', 'topology', 'checks']
WITH_HISTORY = ['summary', 'since', 'trends'] + SECTIONS[1:]
NAV = re.compile(r'<a href="#([a-z-]+)">')
VOID = {'meta', 'br', 'hr', 'img', 'input', 'link', 'wbr', 'col', 'area', 'base', 'source', 'track', 'embed', 'param'}


class Page(HTMLParser):
    """Tags, ids and table cells of a page, and a check that every element is closed in order."""

    def __init__(self, markup):
        super().__init__(convert_charrefs=True)
        self.open, self.ids, self.tags, self.problems = [], [], [], []
        self.tables, self.table, self.row, self.cell = {}, None, None, None
        self.text = []
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        if 'id' in attrs:
            self.ids.append(attrs['id'])
        if tag == 'table':
            self.table = self.tables.setdefault(attrs.get('id') or 'table-%d' % len(self.tables), [])
        elif tag == 'tr' and self.table is not None:
            self.row = []
            self.table.append(self.row)
        elif tag in ('td', 'th') and self.row is not None:
            self.cell = []
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            self.problems.append('</%s> closes %s' % (tag, self.open[-1:] or 'nothing'))
            return
        self.open.pop()
        if tag in ('td', 'th') and self.cell is not None:
            self.row.append(''.join(self.cell).strip())
            self.cell = None
        elif tag == 'table':
            self.table = None

    def handle_data(self, data):
        self.text.append(data)
        if self.cell is not None:
            self.cell.append(data)


@pytest.fixture
def page():
    markup = render_html(sample_report())
    return markup, Page(markup)


def test_well_formed_with_every_section_in_order(page):
    markup, parsed = page
    assert markup.startswith('<!DOCTYPE html>')
    assert parsed.problems == [] and parsed.open == []
    assert [i for i in parsed.ids if i in SECTIONS] == SECTIONS
    assert len(parsed.ids) == len(set(parsed.ids))


def test_self_contained(page):
    markup, parsed = page
    for reference in ('http://', 'https://', 'src=', '<link', '@import', 'url('):
        assert reference not in markup
    assert 'script' not in parsed.tags and 'img' not in parsed.tags and 'iframe' not in parsed.tags


def test_header_says_fail_and_counts(page):
    markup, parsed = page
    assert '<div class="verdict-big fail" id="verdict">FAIL</div>' in markup
    assert '<b>22</b>checks' in markup and '<b>20</b>passed' in markup and '<b>2</b>failed' in markup
    text = ''.join(parsed.text)
    assert 'lab-demo' in text and '2026-11-25T10:00:00Z' in text and '2026-11-25T10:00:41Z' in text and '41 s' in text


def test_matrix_cells_follow_the_icmp_checks(page):
    _markup, parsed = page
    rows = parsed.tables['reachability-matrix']
    assert rows[0] == ['from \\ to', 'cache', 'db', 'web']
    by_source = {row[0]: row[1:] for row in rows[1:]}
    assert list(by_source) == ['cache', 'db', 'web']
    assert by_source['cache'][0] == '' and by_source['db'][1] == '' and by_source['web'][2] == ''
    assert by_source['cache'][1].startswith('\u2717 timeout')
    assert by_source['web'][1].startswith('\u2713 connected')
    assert 'class="cell fail" title="reach cache-&gt;db icmp: expected allow, observed timeout' in page[0]
    declared = parsed.tables['declared-flows']
    assert [row[:3] for row in declared[1:]] == [['web', 'db', 'tcp/5432'], ['outside', 'db', 'tcp/5432']]


def test_charts_tables_and_failed_first(page):
    markup, parsed = page
    latency = markup[markup.index('id="latency"'):markup.index('id="throughput"')]
    assert latency.count('<svg') == 2 and 'web \u2192 db tcp/5432 (l3)' in latency
    assert 'cache \u2192 db (l3)' in latency and 'not measured' in latency
    throughput = markup[markup.index('id="throughput"'):markup.index('id="sla"')]
    assert throughput.count('<svg') == 1 and '9.41' in throughput and '2.7' in throughput
    sla = parsed.tables['sla-table']
    assert sla[2][:4] == ['sla tcp_gbps avg l3', '>= 8', '6.05', 'FAIL']
    assert parsed.tables['pmtu-table'][1][3:6] == ['1400', '1400', 'PASS']
    assert [row[0] for row in parsed.tables['servers'][1:]] == ['web', 'cache', 'db']
    assert parsed.tables['servers'][1][3] == '198.18.0.2' and parsed.tables['servers'][2][3] == 'none'
    assert parsed.tables['security-groups'][1][1] == 'ingress tcp/5432 from frontingress icmp from anywhere'
    topology = markup[markup.index('id="topology"'):markup.index('id="checks"')]
    assert '<svg class="topology"' in topology and 'fip 198.18.0.2' in topology
    verdicts = [row[0] for row in parsed.tables['all-checks'][1:]]
    assert verdicts == ['FAIL', 'FAIL'] + ['PASS'] * 20


def test_user_strings_are_escaped():
    evil = '<script>alert("x")</script>&'
    report = sample_report()
    report['run']['id'] = evil
    report['run']['servers'][0]['name'] = evil
    report['run']['topology']['networks'][0]['name'] = evil
    report['checks'][0]['name'] = evil
    report['checks'][0]['reason'] = evil
    report['checks'][2]['labels']['src'] = evil
    report['stats'][0]['labels']['dst'] = evil
    markup = render_html(report)
    assert '<script' not in markup and 'alert("x")' not in markup
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;' in markup
    parsed = Page(markup)
    assert parsed.problems == [] and 'script' not in parsed.tags


@pytest.mark.parametrize('report', [bare_report(), {}, {'run': None, 'checks': None, 'summary': None}], ids=['bare', 'empty', 'nulls'])
def test_empty_sections_say_not_measured(report):
    markup = render_html(report)
    parsed = Page(markup)
    assert parsed.problems == []
    assert [i for i in parsed.ids if i in SECTIONS] == SECTIONS
    for anchor in ('latency', 'throughput', 'sla', 'pmtu'):
        start = markup.index('id="%s"' % anchor)
        assert 'not measured' in markup[start:markup.index('</section>', start)]
    assert 'no servers provisioned' in markup


def test_bare_report_passes_and_has_a_one_cell_matrix():
    parsed = Page(render_html(bare_report()))
    assert parsed.tables['reachability-matrix'][1][1].startswith('\u2713 connected')
    assert 'PASS' in ''.join(parsed.text)


def test_stats_missing_falls_back_to_samples():
    report = bare_report()
    report['samples'] = [{'metric': 'tcp_gbps', 'value': v, 'unit': 'Gbit/s', 'labels': {'path': 'l2'}} for v in (4.0, 6.0)]
    markup = render_html(report)
    throughput = markup[markup.index('id="throughput"'):markup.index('id="sla"')]
    assert '<svg' in throughput and '>5</text>' in throughput
    assert Page(markup).tables['throughput-table'][1] == ['l2', '5', 'not measured', 'not measured']


def test_failing_verdict_without_summary_is_derived():
    checks = [check('reach a->b icmp', 'reachability', 'allow', 'timeout', 'fail', 'no reply', src='a', dst='b', proto='icmp')]
    markup = render_html({'checks': checks})
    assert 'id="verdict">FAIL<' in markup
    markup = render_html({'checks': checks, 'summary': summary_of(checks)})
    assert 'id="verdict">FAIL<' in markup


def test_numbers_and_ticks():
    assert [number(v) for v in (None, 1500, 1500.0, 0.04123456, 9.41, 12345.6, True)] == ['', '1500', '1500', '0.04123', '9.41', '12346', 'true']
    assert nice_ticks(0.1235) == [0.0, 0.05, 0.1, 0.15]
    assert nice_ticks(9.41) == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    assert nice_ticks(0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    svg = bar_chart([('a \u2192 b', {'p50': None, 'p99': None})], [('p50', 'p50', 's1'), ('p99', 'p99', 's2')], 'ms', 't')
    assert 'not measured' in svg and 'a \u2192 b p50:' not in svg
    assert re.search(r'<text class="tick"[^>]*>1</text>', svg)
    svg = bar_chart([('odd', {'p50': float('nan'), 'p99': 'fast'}), ('ok', {'p50': 2.0, 'p99': float('inf')})],
                    [('p50', 'p50', 's1'), ('p99', 'p99', 's2')], 'ms', 't')
    assert re.search(r'\b(nan|inf)\b', svg) is None and svg.count('not measured') == 2


# ---------------------------------------------------------------------- history, baseline, explanations
def section_of(markup, anchor):
    start = markup.index('<section id="%s">' % anchor)
    return markup[start:markup.index('</section>', start)]


def charts_in(markup):
    """Every inline SVG of the markup, parsed as XML: each must be well-formed on its own."""
    return [ET.fromstring(svg) for svg in re.findall(r'<svg\b.*?</svg>', markup, re.S)]


def of_class(svg, tag, css):
    return [e for e in svg.iter(tag) if css in (e.get('class') or '').split()]


@pytest.fixture(scope='module')
def history_page():
    markup = render_html(history_report())
    return markup, Page(markup)


@pytest.mark.parametrize('report', [sample_report(), bare_report(), {}, {'history': None, 'baseline': None},
                                    explained_report()], ids=['sample', 'bare', 'empty', 'nulls', 'explained'])
def test_without_history_the_sections_are_as_before(report):
    markup = render_html(report)
    parsed = Page(markup)
    assert parsed.problems == []
    assert [i for i in parsed.ids if i in WITH_HISTORY] == SECTIONS
    assert NAV.findall(markup) == SECTIONS
    assert 'line-chart' not in markup and 'regressions</div>' not in markup and 'Compared with' not in markup


def test_history_adds_since_and_trends_after_the_summary(history_page):
    markup, parsed = history_page
    assert parsed.problems == [] and parsed.open == []
    assert [i for i in parsed.ids if i in WITH_HISTORY] == WITH_HISTORY
    assert NAV.findall(markup) == WITH_HISTORY
    assert '<a href="#since">Since last green</a>' in markup and '<a href="#trends">Trends</a>' in markup
    assert len(parsed.ids) == len(set(parsed.ids))
    for reference in ('http://', 'https://', 'src=', '<link', '@import', 'url('):
        assert reference not in markup
    assert 'script' not in parsed.tags
    assert render_html(history_report()) == markup


def test_headline_counts_regressions_and_the_checks_table_lists_them(history_page):
    markup, parsed = history_page
    assert '<div class="count fail regressions"><b>2</b>regressions</div>' in markup
    assert '<dt>Compared with</dt><dd>run r-0103 of 2026-11-23T10:00:41Z</dd>' in markup
    rows = parsed.tables['all-checks'][1:]
    regression_rows = [row for row in rows if row[1] == 'regression']
    assert len(regression_rows) == 11
    assert [row[2] for row in regression_rows if row[0] == 'FAIL'] == ['regression reach l3', 'regression tcp_gbps l3']
    by_kind = next(rows for rows in parsed.tables.values() if rows[0] == ['kind', 'passed', 'failed'])
    assert [row[0] for row in by_kind[1:]] == [
        'reachability', 'path_mtu', 'throughput', 'floating_ip', 'security_group', 'sla', 'regression']


def test_regressions_count_falls_back_to_the_checks():
    report = history_report()
    del report['summary']['regressions']
    assert '<b>2</b>regressions</div>' in render_html(report)
    report['checks'] = [dict(c, verdict='pass') if c['kind'] == 'regression' else c for c in report['checks']]
    assert 'regressions</div>' not in render_html(report)
    report['summary']['regressions'] = ['regression reach l3']
    assert '<b>1</b>regression</div>' in render_html(report)


def test_since_section_compares_with_the_baseline(history_page):
    markup, parsed = history_page
    since = section_of(markup, 'since')
    assert '<h2>Since the last green run</h2>' in since
    assert ('<p id="baseline">Compared with run <code>r-0103</code> of 2026-11-23T10:00:41Z '
            '(<span class="pass">PASS</span>).</p>') in since
    changes = parsed.tables['changes']
    assert changes[0] == ['check', 'kind', 'before', 'now', 'reason']
    assert [row[:4] for row in changes[1:]] == [
        ['fip web reattached', 'floating_ip', 'not in that run', 'PASS'],
        ['reach cache->db icmp', 'reachability', 'PASS', 'FAIL'],
        ['sla tcp_gbps avg l3', 'sla', 'PASS', 'FAIL']]
    assert changes[2][4].startswith('expected allow, observed timeout after 5 echoes')
    anchors = re.findall(r'<a href="#(check-\d+)">reach cache-&gt;db icmp</a>', since)
    assert anchors and all('<td id="%s">' % anchor in markup for anchor in anchors)
    assert [row[0] for row in parsed.tables['regressions'][1:]] == ['regression reach l3', 'regression tcp_gbps l3']
    lost = parsed.tables['regressions'][1][3]
    assert 'evidence' in lost and 'checks: reach cache->db icmp' in lost


@pytest.mark.parametrize('change, said', [
    ({'history': {'runs': [], 'changes': []}}, 'No check changed its verdict since that run.'),
    ({'history': {'runs': []}}, 'The changes since that run were not recorded.'),
    ({'baseline': {'run_id': 'r-0099', 'finished': None, 'verdict': 'fail'}}, 'Since the baseline run'),
    ({'baseline': None}, 'No baseline to compare with: no earlier passing run of this topology on this cloud'),
])
def test_since_section_says_what_it_cannot_show(change, said):
    report = history_report()
    report.update(change)
    markup = render_html(report)
    assert Page(markup).problems == []
    assert said in section_of(markup, 'since')


def test_no_baseline_and_no_history_means_no_since_section():
    report = history_report()
    report.update(baseline=None, history={'runs': []})
    markup = render_html(report)
    assert 'id="since"' not in markup and 'id="trends"' not in markup


def test_one_run_of_history_has_no_trends():
    report = history_report()
    report['history']['runs'] = report['history']['runs'][-1:]
    markup = render_html(report)
    assert 'id="since"' in markup and 'id="trends"' not in markup and '<a href="#trends">' not in markup


def test_trend_charts_draw_every_run_with_gaps_and_verdicts(history_page):
    markup, parsed = history_page
    trends = section_of(markup, 'trends')
    charts = charts_in(trends)
    assert [svg.find('title').text for svg in charts] == [
        'p99 ICMP round trip per path class', 'Mean TCP throughput per path class',
        'Mean UDP throughput per path class', 'Passed checks per path class']
    for svg in charts:
        assert svg.get('role') == 'img' and svg.get('aria-label').endswith(', 4 runs') and svg.get('xmlns') is None
        assert [c.get('class') for c in of_class(svg, 'circle', 'verdict')] == [
            'verdict pass', 'verdict fail', 'verdict pass', 'verdict fail']
        assert len(of_class(svg, 'rect', 'current-band')) == 1
        current = of_class(svg, 'text', 'current')
        assert len(current) == 1 and [s.text for s in current[0].iter('tspan')] == ['lab-demo', '2026-11-25 10:00']
    rtt, tcp, udp, passed = charts
    # (polylines, points) per chart; TCP on l2 was not measured in r-0102, so its line breaks there.
    assert [(len(of_class(svg, 'polyline', 'line')), len(of_class(svg, 'circle', 'point'))) for svg in charts] == [
        (2, 8), (2, 7), (2, 8), (3, 12)]
    l2 = [p.get('points') for p in of_class(tcp, 'polyline', 's1')]
    assert len(l2) == 1 and len(l2[0].split()) == 2
    tips = [c.find('title').text for c in of_class(tcp, 'circle', 'point')]
    assert 'l3, lab-demo 2026-11-25 10:00: 6.05 Gbit/s' in tips and 'l2, r-0101 2026-11-21 10:00: 9.3 Gbit/s' in tips
    assert not any(tip.startswith('l2, r-0102') for tip in tips)
    tips = [c.find('title').text for c in of_class(passed, 'circle', 'point')]
    assert 'l3, lab-demo 2026-11-25 10:00: 9 of 11 checks passed' in tips
    axis = [t.text for t in of_class(passed, 'text', 'tick') if t.get('text-anchor') == 'end']
    assert axis == ['0', '5', '10', '15', 'verdict']
    assert [t.text for t in of_class(rtt, 'text', 'legend')] == ['l2', 'l3'] and udp is not None
    assert [row[:3] for row in parsed.tables['trend-runs'][1:]] == [
        ['r-0101', '2026-11-21T10:00:41Z', 'PASS'], ['r-0102', '2026-11-22T10:00:41Z', 'FAIL'],
        ['r-0103', '2026-11-23T10:00:41Z', 'PASS'], ['lab-demo (this run)', '2026-11-25T10:00:41Z', 'FAIL']]


def test_trends_without_measurements_say_so():
    report = bare_report()
    report['history'] = {'runs': [{}, {'run_id': 'b', 'verdict': 'pass', 'rtt_p99_ms': {'l2': None}, 'udp_gbps': {}}]}
    markup = render_html(report)
    trends = section_of(markup, 'trends')
    assert Page(markup).problems == [] and '<svg' not in trends
    assert trends.count('not measured') == 3 and 'UDP' not in trends


def test_explanations_show_under_the_reason(history_page):
    markup, parsed = history_page
    rows = {row[2]: row for row in parsed.tables['all-checks'][1:]}
    broken = rows['reach cache->db icmp'][5]
    assert 'data-plane fault: packets and configuration disagree' in broken
    assert 'evidence (configuration: allow, path MTU 1400)' in broken and 'router edge joins front and back' in broken
    assert 'evidence (configuration: path MTU 1400)' in rows['pmtu web->db'][5]
    assert 'data-plane fault' not in rows['reach web->db tcp/5432'][5]
    checks = section_of(markup, 'checks')
    assert checks.count('<details class="evidence" open>') == 2 and checks.count('<details class="evidence">') == 2
    assert checks.count('<span class="marker fault">') == 1
    summary = section_of(markup, 'summary')
    assert summary.count('<span class="marker fault">') == 1
    matrix = section_of(markup, 'matrix')
    assert '<small>data-plane fault</small>' in matrix
    assert re.search(r'title="reach cache-&gt;db icmp: [^"]*\n- router edge joins front and back\n', matrix)
    assert 'evidence (configuration: allow, path MTU 1400)' in parsed.tables['declared-flows'][1][7]


def test_configuration_evidence_is_marked():
    markup = render_html(configuration_report())
    parsed = Page(markup)
    assert parsed.problems == []
    assert '<p class="notice" id="configuration-evidence">' in section_of(markup, 'summary')
    assert '<dt>Judged from</dt><dd>the cloud&#x27;s configuration</dd>' in markup
    assert section_of(markup, 'checks').count('configuration evidence, no packets') == 2
    assert all('configuration evidence, no packets' in row[7] for row in parsed.tables['declared-flows'][1:])
    assert 'configuration-evidence' not in render_html(explained_report())


def test_history_strings_are_escaped():
    evil = '<script>alert("x")</script>&'
    report = history_report()
    report['history']['runs'][1]['run_id'] = evil
    report['history']['runs'][1]['finished'] = evil
    report['history']['runs'][0]['rtt_p99_ms'][evil] = 1.0
    report['history']['changes'][0].update(check=evil, reason=evil, before=evil)
    report['baseline'] = {'run_id': evil, 'finished': evil, 'verdict': evil}
    item = next(c for c in report['checks'] if c.get('explanation'))
    item['explanation'] = {'configuration': evil, 'evidence': [evil], 'checks': [evil], 'data_plane_fault': True}
    item['labels']['evidence'] = 'configuration'
    markup = render_html(report)
    assert '<script' not in markup and 'alert("x")' not in markup
    assert '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;' in markup
    parsed = Page(markup)
    assert parsed.problems == [] and 'script' not in parsed.tags
    charts = charts_in(section_of(markup, 'trends'))
    assert len(charts) == 4
    assert any(evil in (t.text or '') for svg in charts for t in svg.iter('title'))


def test_line_chart_gaps_ticks_and_options():
    svg = ET.fromstring(line_chart([('a', 's1', [1, None, 2, 3, None]), ('b', 's2', [float('nan'), 'x', (4, 'four')])],
                                   ['r1', ('r2', 't2'), 'r3', 'r4', 'r5'], 'n', 'Counts'))
    assert svg.get('role') == 'img' and svg.find('title').text == 'Counts'
    assert [p.get('points').count(',') for p in of_class(svg, 'polyline', 'line')] == [2]
    assert len(of_class(svg, 'circle', 'point')) == 4 and not of_class(svg, 'circle', 'verdict')
    assert [c.find('title').text for c in of_class(svg, 'circle', 's2')] == ['b, r3: four']
    assert [t.text for t in of_class(svg, 'text', 'tick') if t.get('text-anchor') == 'end'] == ['0', '1', '2', '3', '4']
    assert len(of_class(svg, 'text', 'current')) == 1 and of_class(svg, 'rect', 'current-band')
    svg = ET.fromstring(line_chart([('a', 's1', [0.5, 0.25])], ['r1', 'r2'], 'ms', 't', highlight_last=False,
                                   verdicts=['pass']))
    assert not of_class(svg, 'rect', 'current-band') and not of_class(svg, 'text', 'current')
    assert [c.get('class') for c in of_class(svg, 'circle', 'verdict')] == ['verdict pass', 'verdict unknown']
    assert line_chart([('a', 's1', [])], [], 'ms', 't') == ''


def test_line_chart_thins_run_labels_but_keeps_the_current_one():
    labels = ['run-%03d' % n for n in range(60)]
    svg = ET.fromstring(line_chart([('a', 's1', list(range(60)))], labels, 'ms', 't'))
    shown = [t.find('title').text for t in svg.iter('text') if t.find('title') is not None]
    assert shown[-1] == 'run-059' and 1 < len(shown) < 60
    assert len(of_class(svg, 'circle', 'point')) == 60
    wide = ET.fromstring(line_chart([('a', 's1', [1, 2])], ['x' * 40, 'y'], 'ms', 't'))
    assert [s.text for s in wide.iter('tspan')][0] == 'x' * 15 + '\u2026'


def test_history_report_leaves_sample_report_alone():
    before = copy.deepcopy(sample_report())
    history_report()
    assert sample_report() == before
