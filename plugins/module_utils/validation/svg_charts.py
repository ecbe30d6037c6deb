# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inline SVG drawings for the HTML report: horizontal bar charts and the topology diagram.

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
