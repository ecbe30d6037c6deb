# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Summary statistics of a list of samples."""

from __future__ import annotations

import math

STATS = ('min', 'avg', 'p50', 'p90', 'p99', 'max')


def percentile(ordered, fraction):
    """Linear interpolation between closest ranks (numpy's default) on a sorted list."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(values, digits=4):
    """{count, min, avg, p50, p90, p99, max}; None when there is nothing to summarize."""
    ordered = sorted(float(v) for v in values)
    if not ordered:
        return None
    raw = {
        'min': ordered[0],
        'avg': sum(ordered) / len(ordered),
        'p50': percentile(ordered, 0.50),
        'p90': percentile(ordered, 0.90),
        'p99': percentile(ordered, 0.99),
        'max': ordered[-1],
    }
    summary = {'count': len(ordered)}
    summary.update((k, round(v, digits)) for k, v in raw.items())
    return summary
