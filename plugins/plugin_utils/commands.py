# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""run_command for controller-side plugins (inventory, connection), which have no AnsibleModule."""

from __future__ import annotations

import subprocess


def run_command(args, data=None, binary_data=False, **_options):
    """(rc, stdout, stderr) of ``args`` as AnsibleModule.run_command gives them; stdin is /dev/null without ``data``."""
    if data is not None and not binary_data:
        data += '\n'
    proc = subprocess.run(args, input=data, stdin=subprocess.DEVNULL if data is None else None,
                          capture_output=True, text=True, encoding='utf-8', errors='surrogateescape', check=False)
    return proc.returncode, proc.stdout, proc.stderr
