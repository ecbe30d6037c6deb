# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Leases: how long a run's resources may live, written on each as its ``expires-at`` label."""

from __future__ import annotations

import datetime
import re

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

EXPIRES_LABEL = 'expires-at'
DEFAULT_LEASE = '4h'
NEVER = 'never'
UNITS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800}
DURATION = re.compile(r'^(?:\d+[smhdw])+$')
# ISO 8601 basic format: no ':' or '+', which some clouds refuse in a label value.
LABEL_FORMAT = '%Y%m%dT%H%M%SZ'


def parse_lease(value, field='lease'):
    """Seconds of a lease such as 30m, 4h, 1d12h; None for ``never``."""
    text = str(value).strip().lower() if value is not None else ''
    if text == NEVER:
        return None
    if not DURATION.match(text):
        raise CloudError('%s: %r is not a duration such as 30m, 4h or 2d, or never' % (field, value))
    seconds = sum(int(number) * UNITS[unit] for number, unit in re.findall(r'(\d+)([smhdw])', text))
    if seconds < 60:
        raise CloudError('%s: %r is shorter than a minute' % (field, value))
    return seconds


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def expires_at(seconds, now=None):
    """The ``expires-at`` label value of a lease of ``seconds`` from ``now``."""
    return ((now or utc_now()) + datetime.timedelta(seconds=seconds)).strftime(LABEL_FORMAT)


def parse_moment(value, field):
    """A time given as ISO 8601 (basic or extended, Z or an offset); naive times are UTC."""
    text = str(value).strip()
    for parse in (lambda t: datetime.datetime.strptime(t, LABEL_FORMAT),
                  lambda t: datetime.datetime.fromisoformat(t.replace('Z', '+00:00').replace('z', '+00:00'))):
        try:
            moment = parse(text)
        except ValueError:
            continue
        return moment.replace(tzinfo=moment.tzinfo or datetime.timezone.utc)
    raise CloudError('%s: %r is not a time such as 2026-12-07T18:00:00Z' % (field, value))


def expired(labels, now):
    """Whether ``labels`` carry a lease that ended before ``now``; a label that is not a time never expires."""
    value = (labels or {}).get(EXPIRES_LABEL)
    if not value:
        return False
    try:
        return parse_moment(value, EXPIRES_LABEL) <= now
    except CloudError:
        return False
