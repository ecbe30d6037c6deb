# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of the cloud in the clouds file to act on.
      - The cloud V(local) always exists, an embedded lab of network namespaces on the
        host that runs the module; it needs root.
    type: str
    default: local
  clouds_file:
    description:
      - Path of the clouds file that defines O(cloud).
      - When not set, E(CLOUDOPS_CLOUDS_FILE), then C(./clouds.multicloud.yml),
        C(~/.config/cloudops/clouds.yml) and C(/etc/cloudops/clouds.yml) are tried in turn.
    type: path
  wait:
    description:
      - Wait until the object reaches its target state before returning.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the object to reach its target state, and for the cloud
        (on the local lab, the lab's lock) to accept the request.
    type: int
    default: 180
  api_retries:
    description:
      - How many times an API call that is safe to repeat is retried, with backoff, after a
        server error, throttling or a timeout.
      - The local lab makes no API calls and does not use it.
    type: int
    default: 3
notes:
  - On the local lab every change is serialized through a lock under
    C(/run/cloudops-multicloud), so parallel forks and separate runs see one consistent lab.
'''

    ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
    description: Validates the request exactly as a real run would and reports what would change.
  diff_mode:
    support: full
    description: Returns the object before and after the change.
  idempotent:
    support: full
    description: A second run with the same arguments reports no change.
'''

    INFO_ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is no change to show.
  idempotent:
    support: full
    description: Reads only.
'''
