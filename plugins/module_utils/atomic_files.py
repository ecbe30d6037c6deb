# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Files written at once: a reader sees the old content or the new, never half of either."""

from __future__ import annotations

import os
import tempfile

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


def write_atomically(path, text, field):
    """Write ``text`` to ``path`` through a temporary file in the same directory (hidden, ``.tmp``)
    renamed over it; the directory is made if missing. Failures name ``field``, the option that gave the path."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = None
    try:
        os.makedirs(directory, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix='.%s.' % os.path.basename(path), suffix='.tmp')
        with os.fdopen(handle, 'w', encoding='utf-8') as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as exc:
        if temporary and os.path.exists(temporary):
            os.unlink(temporary)
        raise CloudError('%s: cannot write %s: %s' % (field, path, exc.strerror or exc))
