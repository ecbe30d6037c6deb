# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description:
      - Measurements run the same in check mode; they send traffic but change nothing.
      - A listener is not started in check mode; the task reports whether it would be.
  diff_mode:
    support: none
    description: Nothing is configured, so there is no before and after to show.
  idempotent:
    support: full
    description:
      - Measuring never reports a change.
      - Asking for a listener that already runs reports no change.
notes:
  - Runs on the host it is delegated to, and measures from there. To measure from a VM of the
    C(local) lab, run the task through the C(cloudops.multicloud.netns) connection, with the
    VM's C(connection.netns) from M(cloudops.multicloud.server) as C(ansible_host).
  - A listener is a detached process of the network namespace the task runs in. It is found
    again by its command line among that namespace's processes, so nothing is written to disk,
    and stopping the VM ends it.
'''
