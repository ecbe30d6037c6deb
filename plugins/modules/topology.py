#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: topology
short_description: Plan, apply, audit or delete a whole topology on one cloud
description:
  - Takes a whole topology (the spec of the provision role) and makes the cloud match it in one
    session - each kind is listed once, every network, subnet, security group, router, server and
    floating IP is planned as V(create), V(update), V(replace), V(delete) or V(unchanged), the
    plan is checked as one batch, and then applied with one bulk request per kind and server shape.
  - The run's resources are those that carry its labels (C(run-id) and C(managed-by)); names are
    looked up among them only, so two runs may use the same names on one cloud. Resources of the
    run that the topology does not declare are deleted by O(state=present) and reported by O(state=audit).
  - In check mode the plan is returned and shown with C(--diff), and nothing changes.
  - O(plan_file) keeps the plan, with a fingerprint of the run's resources it was made from;
    O(apply_plan) applies exactly that plan later, and refuses when those resources changed since.
  - The per-resource modules (M(cloudops.multicloud.network), M(cloudops.multicloud.server) and
    the others) remain for playbooks that compose their own steps.
author:
  - cloudops.multicloud maintainers (@cloudops)
options:
  topology:
    description:
      - The topology spec, as the provision role takes it (C(run_id), C(networks), C(routers),
        C(security_groups), C(servers)); validation keys such as C(expect) and C(sla) are ignored here.
      - Required unless O(apply_plan) is given, or O(state=absent) with O(run_id).
    type: dict
  run_id:
    description:
      - The run whose resources these are. Defaults to the topology's C(run_id).
    type: str
  state:
    description:
      - V(present) makes the run's resources what the topology declares.
      - V(audit) changes nothing and reports every difference as RV(drift), and as report checks in RV(checks).
      - V(absent) deletes every resource of the run, dependents first.
    type: str
    choices: [present, absent, audit]
    default: present
  labels:
    description:
      - Labels set on every resource besides C(managed-by) and C(run-id), which cannot be overridden.
    type: dict
  plan_file:
    description:
      - Write the plan made by this task to this path as JSON (in check mode too), to be shown,
        approved, and applied with O(apply_plan).
    type: path
  manifest_file:
    description:
      - Write this JSON file after the task - the run id, the cloud, and every resource labelled with
        the run id (key pairs too), as M(cloudops.multicloud.cloud_info) lists them. It is written when
        applying fails part way too, so that what exists is on record.
      - Not written in check mode or with O(state=audit).
    type: path
  apply_plan:
    description:
      - Apply the plan in this JSON file, exactly as it was made. The task fails, changing nothing,
        when the run's resources are no longer as the plan found them.
    type: path
  lease:
    description:
      - How long what this task creates may live, such as V(30m), V(4h) or V(2d), or V(never). Each
        new resource carries the label C(expires-at) (UTC, as C(20261207T180000Z)), after which
        M(cloudops.multicloud.expired_resources) and C(playbooks/reap.yml) delete it.
      - Defaults to the topology's C(lease), else the cloud's C(lease) in the clouds file, else V(4h).
      - Resources that exist keep their C(expires-at); a rerun does not extend it.
    type: str
  fail_on_drift:
    description:
      - With O(state=audit), fail when there is drift.
    type: bool
    default: false
extends_documentation_fragment:
  - cloudops.multicloud.cloud
  - cloudops.multicloud.cloud.ATTRIBUTES
notes:
  - O(wait) and O(timeout) apply to every resource of the plan, as in the per-resource modules.
'''

EXAMPLES = r'''
- name: Make the plan, show it, and keep it for approval
  cloudops.multicloud.topology:
    cloud: lab
    topology: "{{ lookup('ansible.builtin.file', 'topologies/default.yml') | from_yaml }}"
    plan_file: plans/lab-demo.json
  check_mode: true
  diff: true

- name: Apply the approved plan; refused if the run's resources changed since
  cloudops.multicloud.topology:
    cloud: lab
    apply_plan: plans/lab-demo.json

- name: Report drift and fail on it
  cloudops.multicloud.topology:
    cloud: lab
    topology: "{{ lookup('ansible.builtin.file', 'topologies/default.yml') | from_yaml }}"
    state: audit
    fail_on_drift: true

- name: Delete every resource of the run
  cloudops.multicloud.topology:
    cloud: lab
    run_id: lab-demo
    state: absent
'''

RETURN = r'''
plan:
  description: The plan, one step per resource in the order it was planned.
  returned: always
  type: list
  elements: dict
  sample: [{action: create, kind: network, name: front, desired: {cidr: 10.10.1.0/24, mtu: null}}]
counts:
  description: How many resources each action applies to.
  returned: always
  type: dict
  sample: {create: 9, update: 0, replace: 0, delete: 0, unchanged: 0}
fingerprint:
  description: Digest of the run's resources the plan was made from.
  returned: always
  type: str
  sample: sha256:6b78848183f31812c0ffee...
resources:
  description: The run's resources after the task, by kind; floating IPs by the server they are on.
  returned: always
  type: dict
  sample: {network: {front: {id: 3d9f, name: front, mtu: 1500}}, server: {web: {name: web, status: ACTIVE}}}
servers:
  description: The run's servers after the task, sorted by name, as M(cloudops.multicloud.server) returns them.
  returned: always
  type: list
  elements: dict
  sample: [{name: web, status: ACTIVE, private_ip: 10.10.1.2, public_ip: 198.18.0.2}]
drift:
  description: With O(state=audit), every resource that differs from the topology.
  returned: always
  type: list
  elements: dict
  sample: [{kind: security_group, name: db, drift: differs, detail: "rule ingress tcp/5432 from 10.10.1.0/24 removed"}]
manifest:
  description: The path of the manifest written, or null.
  returned: when O(manifest_file) is given and the task changes or could change the cloud
  type: str
  sample: reports/lab-demo/manifest.json
checks:
  description: With O(state=audit), one report check per resource, failing where it drifted.
  returned: always
  type: list
  elements: dict
  sample: [{name: drift security_group db, kind: drift, verdict: fail, detail: "differs: rule ..."}]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud_module import cloud_argument_spec, run_module
from ansible_collections.cloudops.multicloud.plugins.module_utils.topology_runs import run_topology


def main():
    module = AnsibleModule(
        argument_spec=cloud_argument_spec(
            topology={'type': 'dict'},
            run_id={'type': 'str'},
            state={'type': 'str', 'default': 'present', 'choices': ['present', 'absent', 'audit']},
            labels={'type': 'dict'},
            plan_file={'type': 'path'},
            manifest_file={'type': 'path'},
            apply_plan={'type': 'path'},
            lease={'type': 'str'},
            fail_on_drift={'type': 'bool', 'default': False},
        ),
        mutually_exclusive=[['apply_plan', 'topology'], ['apply_plan', 'plan_file']],
        supports_check_mode=True,
    )
    run_module(module, lambda provider: run_topology(provider, module.params, module.check_mode))


if __name__ == '__main__':
    main()
