# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.report import observation


class FilterModule:
    def filters(self):
        return {'probe_outcome': observation}
