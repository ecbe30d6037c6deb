from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.html_report import render_html
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.svg_charts import bar_chart, nice_ticks, number
from ansible_collections.cloudops.multicloud.tests.unit.plugins.module_utils.validation.report_samples import (
    bare_report, check, sample_report, summary_of,
)

SECTIONS = ['summary', 'matrix', 'latency', 'throughput', 'sla', 'pmtu', 'topology', 'checks']
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
