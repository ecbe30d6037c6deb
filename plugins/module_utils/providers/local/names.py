# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kernel object names. Every namespace starts with the lab prefix; interface names fit 15 bytes."""

from __future__ import annotations

import uuid

PREFIX = 'cloudops'
IFNAMSIZ = 15  # the kernel's limit for an interface name, without the NUL
HOSTNAME_MAX = 64  # the kernel's limit for a UTS hostname


def new_id(taken=()):
    """A uuid whose first 8 hex digits (used in kernel names) are unique in this lab."""
    short_taken = {t[:8] for t in taken}
    while True:
        rid = uuid.uuid4().hex
        if rid[:8] not in short_taken:
            return rid


def ifname(kind, rid):
    """kind: 'br' bridge, 'p' fabric end of a port, 'qr' router leg, 'qg' router gateway."""
    name = '%s-%s' % (kind, rid[:8])
    if len(name.encode()) > IFNAMSIZ:
        raise ValueError('interface name %s is longer than %d bytes' % (name, IFNAMSIZ))
    return name


class LabNames:
    def __init__(self, lab):
        self.lab = lab
        self.prefix = '%s-%s-' % (PREFIX, lab)

    @property
    def fabric(self):
        return self.prefix + 'fabric'

    @property
    def outside(self):
        return self.prefix + 'outside'

    def server(self, rid):
        return self.prefix + 'vm-' + rid[:8]

    def router(self, rid):
        return self.prefix + 'router-' + rid[:8]

    def owns(self, netns):
        return netns.startswith(self.prefix)
