#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: expired_resources
short_description: Delete the collection's resources whose lease has ended, on every cloud of the clouds file
description:
  - Lists every network, subnet, security group, router, server, floating IP and key pair that carries
    the labels C(managed-by=cloudops.multicloud) and an C(expires-at) before O(as_of), on each cloud
    of O(clouds), and deletes them in dependency order (floating IPs and servers first, networks last).
  - Resources without both labels are never touched, whatever their age; an C(expires-at) that is
    not a time never expires.
  - In check mode the expired resources are listed and nothing is deleted.
  - Each cloud is reaped on its own, so one that cannot be reached does not stop the others; the
    task then fails naming it, after the others are done.
  - The roles label what they create with C(expires-at) from the topology's C(lease) (see
    M(cloudops.multicloud.topology)); C(playbooks/reap.yml) runs this module on a schedule.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  clouds:
    description:
      - Names of the clouds to reap. Defaults to every cloud of the clouds file (with no clouds
        file, the cloud V(local)).
    type: list
    elements: str
  as_of:
    description:
      - The moment leases are judged at, as ISO 8601 (V(2026-12-07T18:00:00Z)); defaults to now.
    type: str
  clouds_file:
    description:
      - Path of the clouds file.
      - When not set, E(CLOUDOPS_CLOUDS_FILE), then C(./clouds.multicloud.yml),
        C(~/.config/cloudops/clouds.yml) and C(/etc/cloudops/clouds.yml) are tried in turn.
    type: path
  wait:
    description: Wait until each deletion is complete before going on.
    type: bool
    default: true
  timeout:
    description: Seconds each cloud's deletions may take.
    type: int
    default: 180
  api_retries:
    description:
      - How many times an API call that is safe to repeat is retried, with backoff, after a server
        error, throttling or a timeout.
    type: int
    default: 3
attributes:
  check_mode:
    support: full
    description: Lists what has expired and deletes nothing.
  diff_mode:
    support: none
    description: Deletions are listed in RV(clouds).
  idempotent:
    support: full
    description: A second run finds nothing more that has expired (until more leases end).
'''

EXAMPLES = r'''
- name: What would be reaped
  cloudops.multicloud.expired_resources:
  check_mode: true
  register: expiring

- name: Reap the lab and the OpenStack cloud
  cloudops.multicloud.expired_resources:
    clouds: [lab, devstack]
'''

RETURN = r'''
clouds:
  description: Per cloud, what had expired and what was deleted.
  returned: always
  type: list
  elements: dict
  contains:
    cloud:
      description: Name of the cloud.
      type: str
      sample: lab
    expired:
      description: The expired resources, in the order they are deleted.
      type: list
      elements: dict
      sample: [{kind: server, name: web, id: 3d9f0a1b, run_id: demo-1, expires_at: 20261207T180000Z}]
    deleted:
      description: How many were deleted; 0 in check mode.
      type: int
      sample: 10
    runs:
      description: The run ids of the expired resources.
      type: list
      elements: str
      sample: [demo-1]
    error:
      description: Why the cloud could not be reaped, or null.
      type: str
      sample: null
summary:
  description: One line per cloud, as a person reads it in a job's output.
  returned: always
  type: list
  elements: str
  sample: ["lab: 10 expired resources of runs demo-1 deleted"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud import provider_for
from ansible_collections.cloudops.multicloud.plugins.module_utils.clouds import defined_clouds, find_clouds_file
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.leases import parse_moment, utc_now
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.reaping import reap_clouds, summary_lines


def main():
    module = AnsibleModule(
        argument_spec={
            'clouds': {'type': 'list', 'elements': 'str'},
            'as_of': {'type': 'str'},
            'clouds_file': {'type': 'path'},
            'wait': {'type': 'bool', 'default': True},
            'timeout': {'type': 'int', 'default': 180},
            'api_retries': {'type': 'int', 'default': 3},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        now = parse_moment(params['as_of'], 'as_of') if params['as_of'] else utc_now()
        defined = defined_clouds(find_clouds_file(params['clouds_file']))
        names = params['clouds'] if params['clouds'] is not None else sorted(defined)
        unknown = [name for name in names if name not in defined]
        if unknown:
            raise CloudError('clouds: %r is not a cloud of the clouds file (%s)' % (unknown[0], ', '.join(sorted(defined))))
        connectors = {name: (lambda name=name: provider_for(
            name, defined[name], timeout=params['timeout'], wait=params['wait'], api_retries=params['api_retries'],
            commands=Commands(module.run_command))) for name in names}
        summaries, failed = reap_clouds(connectors, now, module.check_mode)
    except CloudError as exc:
        module.fail_json(msg=str(exc))
    result = {'changed': any(s['deleted'] for s in summaries), 'clouds': summaries,
              'summary': summary_lines(summaries, module.check_mode)}
    if failed:
        module.fail_json(msg='clouds %s could not be reaped: %s' % (', '.join(failed), '; '.join(
            '%s: %s' % (s['cloud'], s['error']) for s in summaries if s['error'])), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
