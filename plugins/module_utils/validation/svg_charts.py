# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inline SVG drawings for the HTML report: horizontal bar charts, line charts over runs and the topology diagram.

Every function returns SVG markup meant to sit inside an HTML5 document, so it carries no
xmlns and references nothing outside itself.
"""

from __future__ import annotations

import math
from html import escape

CHART_WIDTH = 760
LABEL_WIDTH = 190
VALUE_WIDTH = 90
BAR_HEIGHT = 14
ROW_GAP = 10
TICK_COUNT = 5
# What fits in LABEL_WIDTH at the chart's font size; the full label stays in a tooltip.
LABEL_CHARS = 28


def text(value):
    return escape('' if value is None else str(value), quote=True)


def number(value):
    """A short, stable rendering of a measured value: 0.0412, 9.41, 1500."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return 'true' if value else 'false'
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value == int(value) and abs(value) < 1e15:
            return str(int(value))
        if abs(value) >= 1000:
            return '%d' % round(value)
        return '%.4g' % value
    return str(value)


def measurable(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def nice_ticks(top, count=TICK_COUNT):
    """Tick values from 0 past top, on a 1/2/5 step, so the axis reads in round numbers."""
    if not measurable(top) or top <= 0:
        top = 1.0
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 12))
    return ticks


def bar_chart(rows, series, unit, title):
    """Horizontal grouped bars.

    rows: [(label, {series_key: value or None})]; series: [(key, legend, css_class)].
    A row whose every value is None reads "not measured" instead of drawing a bar.
    """
    rows = [(label, {key: value if measurable(value) else None for key, value in data.items()}) for label, data in rows]
    values = [v for _label, data in rows for v in data.values() if v is not None]
    ticks = nice_ticks(max([0.0] + values))
    scale_max = ticks[-1]
    plot_left = LABEL_WIDTH
    plot_width = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    legend_height = 26
    group_height = len(series) * BAR_HEIGHT + ROW_GAP
    plot_top = legend_height + 8
    plot_height = len(rows) * group_height
    axis_y = plot_top + plot_height + 4
    height = axis_y + 34

    def x_of(value):
        return plot_left + plot_width * max(0.0, value) / scale_max

    out = ['<svg class="chart" role="img" viewBox="0 0 %d %d" width="%d" height="%d" preserveAspectRatio="xMinYMin meet">'
           % (CHART_WIDTH, height, CHART_WIDTH, height),
           '<title>%s</title>' % text(title)]
    legend_x = plot_left
    for _key, legend, css in series:
        out.append('<rect class="%s" x="%d" y="8" width="12" height="12"/>' % (text(css), legend_x))
        out.append('<text class="legend" x="%d" y="18">%s</text>' % (legend_x + 16, text(legend)))
        legend_x += 24 + 8 * len(legend)
    for tick in ticks:
        x = x_of(tick)
        out.append('<line class="grid" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (x, plot_top - 4, x, axis_y))
        out.append('<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, axis_y + 14, text(number(tick))))
    out.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (plot_left, axis_y, plot_left + plot_width, axis_y))
    out.append('<text class="unit" x="%d" y="%d" text-anchor="middle">%s</text>'
               % (plot_left + plot_width // 2, axis_y + 30, text(unit)))
    for index, (label, data) in enumerate(rows):
        top = plot_top + index * group_height
        middle = top + len(series) * BAR_HEIGHT / 2
        label = str(label)
        shown = label if len(label) <= LABEL_CHARS else label[:LABEL_CHARS - 1] + '\u2026'
        out.append('<text class="label" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle"><title>%s</title>%s</text>'
                   % (plot_left - 8, middle, text(label), text(shown)))
        if all(data.get(key) is None for key, _legend, _css in series):
            out.append('<text class="missing" x="%d" y="%.1f" dominant-baseline="middle">not measured</text>' % (plot_left + 6, middle))
            continue
        for position, (key, legend, css) in enumerate(series):
            value = data.get(key)
            y = top + position * BAR_HEIGHT
            if value is None:
                out.append('<text class="missing" x="%d" y="%.1f" dominant-baseline="middle">%s not measured</text>'
                           % (plot_left + 6, y + BAR_HEIGHT / 2, text(legend)))
                continue
            width = max(1.0, x_of(value) - plot_left)
            out.append('<rect class="%s" x="%d" y="%.1f" width="%.1f" height="%d"><title>%s %s: %s %s</title></rect>'
                       % (text(css), plot_left, y + 1, width, BAR_HEIGHT - 2, text(label), text(legend), text(number(value)), text(unit)))
            out.append('<text class="value" x="%.1f" y="%.1f" dominant-baseline="middle">%s</text>'
                       % (plot_left + width + 4, y + BAR_HEIGHT / 2, text(number(value))))
    out.append('</svg>')
    return '\n'.join(out)


LINE_LEFT = 64
LINE_RIGHT = 24
LINE_TOP = 44
LINE_PLOT_HEIGHT = 180
POINT_RADIUS = 3.5
# What fits under one run at the tick font size; the full label stays in a tooltip.
RUN_LABEL_CHARS = 16
# Width of one tick character, to thin out run labels before they overlap.
TICK_CHAR_WIDTH = 6.5


def shorten(label, limit):
    return label if len(label) <= limit else label[:limit - 1] + '\u2026'


def point_value(point):
    """(value, note) of a line chart point; (None, None) for a gap."""
    value, note = point if isinstance(point, (tuple, list)) and len(point) == 2 else (point, None)
    return (value, None if note is None else str(note)) if measurable(value) else (None, None)


def segments(points):
    """Runs of consecutive measured indexes: a None between them breaks the line."""
    out, current = [], []
    for index, (value, _note) in enumerate(points):
        if value is None:
            if current:
                out.append(current)
            current = []
        else:
            current.append(index)
    if current:
        out.append(current)
    return out


def value_ticks(values):
    top = max([0.0] + values)
    if values and all(isinstance(v, int) for v in values):
        # Counts read in whole steps: never a tick at 0.2 checks.
        return nice_ticks(top, max(1, min(TICK_COUNT, int(top))))
    return nice_ticks(top)


class RunPlot:
    """Where a run (x, oldest left) and a value (y, from 0) land in a line chart."""

    def __init__(self, labels, ticks, current):
        self.labels = labels
        self.ticks = ticks
        self.current = current
        self.left, self.width = LINE_LEFT, CHART_WIDTH - LINE_LEFT - LINE_RIGHT
        self.axis_y = LINE_TOP + LINE_PLOT_HEIGHT
        self.column = self.width / len(labels)

    def x_of(self, index):
        return self.left + self.column * (index + 0.5)

    def y_of(self, value):
        return self.axis_y - LINE_PLOT_HEIGHT * max(0.0, value) / self.ticks[-1]

    def run_name(self, index):
        return ' '.join(line for line in self.labels[index] if line)

    def grid(self, unit):
        out = []
        if self.current is not None:
            band_x, name = self.left + self.column * self.current, self.run_name(self.current)
            out.append('<rect class="current-band" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s (this run)'
                       '</title></rect>' % (band_x, LINE_TOP - 4, self.column, LINE_PLOT_HEIGHT + 4, text(name)))
        for tick in self.ticks:
            y = self.y_of(tick)
            out.append('<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>'
                       % (self.left, y, self.left + self.width, y))
            out.append('<text class="tick" x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>'
                       % (self.left - 6, y, text(number(tick))))
        out.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>'
                   % (self.left, self.axis_y, self.left + self.width, self.axis_y))
        out.append('<text class="unit" x="%d" y="%d" text-anchor="end">%s</text>'
                   % (self.left - 6, LINE_TOP - 14, text(unit)))
        return out

    def line(self, legend, css, points, unit):
        out = []
        for run in segments(points):
            if len(run) > 1:
                drawn = ' '.join('%.1f,%.1f' % (self.x_of(i), self.y_of(points[i][0])) for i in run)
                out.append('<polyline class="line %s" fill="none" points="%s"><title>%s</title></polyline>'
                           % (text(css), drawn, text(legend)))
        for index, (value, note) in enumerate(points):
            if value is not None:
                said = note if note is not None else '%s %s' % (number(value), unit)
                radius = POINT_RADIUS + (1.5 if index == self.current else 0)
                out.append('<circle class="point %s" cx="%.1f" cy="%.1f" r="%.1f"><title>%s, %s: %s</title></circle>'
                           % (text(css), self.x_of(index), self.y_of(value), radius, text(legend),
                              text(self.run_name(index)), text(said)))
        return out

    def verdict_row(self, verdicts, y):
        out = ['<text class="tick" x="%d" y="%d" text-anchor="end" dominant-baseline="middle">verdict</text>'
               % (self.left - 6, y)]
        for index in range(len(self.labels)):
            verdict = verdicts[index] if index < len(verdicts) else None
            css = verdict if verdict in ('pass', 'fail') else 'unknown'
            out.append('<circle class="verdict %s" cx="%.1f" cy="%d" r="5"><title>%s: %s</title></circle>'
                       % (css, self.x_of(index), y, text(self.run_name(index)),
                          'verdict unknown' if css == 'unknown' else css.upper()))
        return out

    def run_labels(self, y):
        widest = max(len(shorten(line, RUN_LABEL_CHARS)) for lines in self.labels for line in lines) * TICK_CHAR_WIDTH
        stride = max(1, math.ceil((widest + 8) / self.column))
        out = []
        for index, lines in enumerate(self.labels):
            # Thinned from the right, so the current run keeps its label.
            if (len(self.labels) - 1 - index) % stride:
                continue
            x, shown = self.x_of(index), [shorten(line, RUN_LABEL_CHARS) for line in lines]
            spans = ''.join('<tspan x="%.1f" dy="%d">%s</tspan>' % (x, 12 if row else 0, text(line))
                            for row, line in enumerate(shown))
            out.append('<text class="tick%s" x="%.1f" y="%d" text-anchor="middle"><title>%s</title>%s</text>'
                       % (' current' if index == self.current else '', x, y, text(self.run_name(index)), spans))
        return out


def line_chart(series, x_labels, unit, title, highlight_last=True, verdicts=None):
    """Lines over a sequence of runs, oldest left, one line per series and a dot per measured point.

    series: [(legend, css_class, points)] with one point per x label: a number, None (a gap in the
    line), or (number, note) whose note replaces the value in the point's tooltip.
    x_labels: per run, a string or a tuple of lines (run id, time). verdicts: per run 'pass', 'fail'
    or None, drawn as a row of coloured dots under the axis. highlight_last shades the last run.
    Returns '' when there is no run to draw.
    """
    labels = [tuple('' if line is None else str(line) for line in label) or ('',) if isinstance(label, (tuple, list))
              else (str(label),) for label in x_labels]
    if not labels:
        return ''
    lines = []
    for legend, css, points in series:
        drawn = [point_value(p) for p in list(points)[:len(labels)]]
        lines.append((str(legend), str(css), drawn + [(None, None)] * (len(labels) - len(drawn))))
    plot = RunPlot(labels, value_ticks([value for _legend, _css, points in lines for value, _note in points
                                        if value is not None]), len(labels) - 1 if highlight_last else None)
    label_y = plot.axis_y + (34 if verdicts is not None else 18)
    height = label_y + 12 * max(len(lines_of) for lines_of in labels) + 4
    out = ['<svg class="chart line-chart" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" '
           'preserveAspectRatio="xMinYMin meet">' % (text('%s, %d runs' % (title, len(labels))), CHART_WIDTH, height,
                                                     CHART_WIDTH, height),
           '<title>%s</title>' % text(title)]
    legend_x = plot.left
    for legend, css, _points in lines:
        out.append('<rect class="%s" x="%d" y="8" width="12" height="12"/>' % (text(css), legend_x))
        out.append('<text class="legend" x="%d" y="18">%s</text>' % (legend_x + 16, text(legend)))
        legend_x += 24 + 8 * len(legend)
    out += plot.grid(unit)
    for legend, css, points in lines:
        out += plot.line(legend, css, points, unit)
    if verdicts is not None:
        out += plot.verdict_row(list(verdicts), plot.axis_y + 14)
    out += plot.run_labels(label_y)
    out.append('</svg>')
    return '\n'.join(out)


NODE_WIDTH = 112
NODE_HEIGHT = 48
COLUMN = 128
BUS_PITCH = 96
BUS_LEFT = 170


def topology_diagram(networks, routers, servers):
    """Networks as horizontal buses; routers and servers as boxes dropping a line to each network they sit on.

    networks: [{name, cidr, mtu}]; routers: [{name, networks: [..], external}];
    servers: [{name, networks: [..], private_ip, public_ip}]. Returns '' when there is nothing to draw.
    """
    names = [n['name'] for n in networks]
    for node in list(routers) + list(servers):
        names.extend(n for n in node['networks'] if n not in names)
    if not names and not routers and not servers:
        return ''
    row = {name: index for index, name in enumerate(names)}
    nodes = [dict(node, role='router') for node in routers]
    nodes += sorted((dict(node, role='server') for node in servers),
                    key=lambda n: (min([row[x] for x in n['networks']] or [0]), n['name']))
    width = max(BUS_LEFT + len(nodes) * COLUMN + 20, 480)
    first_bus = NODE_HEIGHT + 40

    def bus_y(index):
        return first_bus + index * BUS_PITCH

    height = bus_y(max(len(names) - 1, 0)) + 40
    out = ['<svg class="topology" role="img" viewBox="0 0 %d %d" width="%d" height="%d" preserveAspectRatio="xMinYMin meet">'
           % (width, height, width, height), '<title>Topology</title>']
    by_name = {n['name']: n for n in networks}
    for name in names:
        y = bus_y(row[name])
        spec = by_name.get(name, {})
        out.append('<line class="bus" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (10, y, width - 10, y))
        out.append('<text class="bus-name" x="12" y="%d">%s</text>' % (y - 6, text(name)))
        detail = ' '.join(part for part in (spec.get('cidr'), 'mtu %s' % spec['mtu'] if spec.get('mtu') else '') if part)
        out.append('<text class="bus-detail" x="12" y="%d">%s</text>' % (y + 16, text(detail or 'not declared')))
    for column, node in enumerate(nodes):
        x = BUS_LEFT + column * COLUMN
        attached = sorted(row[n] for n in node['networks'])
        top_row = attached[0] if attached else 0
        box_top = bus_y(top_row) - NODE_HEIGHT - 22
        center = x + NODE_WIDTH / 2
        if attached:
            out.append('<line class="link" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>'
                       % (center, box_top + NODE_HEIGHT, center, bus_y(attached[-1])))
            for index in attached:
                out.append('<circle class="port" cx="%.1f" cy="%d" r="4"/>' % (center, bus_y(index)))
        out.append('<rect class="node %s" x="%d" y="%d" width="%d" height="%d" rx="6"/>'
                   % (node['role'], x, box_top, NODE_WIDTH, NODE_HEIGHT))
        if node['role'] == 'router':
            lines = ['router', 'external gateway' if node.get('external') else '']
        else:
            lines = [node.get('private_ip') or '', 'fip %s' % node['public_ip'] if node.get('public_ip') else '']
        out.append('<text class="node-name" x="%.1f" y="%d" text-anchor="middle">%s</text>' % (center, box_top + 16, text(node['name'])))
        for offset, line in enumerate(lines):
            if line:
                out.append('<text class="node-detail" x="%.1f" y="%d" text-anchor="middle">%s</text>'
                           % (center, box_top + 30 + 12 * offset, text(line)))
    out.append('</svg>')
    return '\n'.join(out)
