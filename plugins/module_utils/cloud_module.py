# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every cloud module shares: common options, connecting, and one way to fail."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud import connect
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.module_utils.state_machine import StateMachine

COMMON_OPTIONS = {
    'cloud': {'type': 'str', 'default': 'local'},
    'clouds_file': {'type': 'path'},
    'wait': {'type': 'bool', 'default': True},
    'timeout': {'type': 'int', 'default': 180},
    'api_retries': {'type': 'int', 'default': 3},
}


# What every module that manages one named object takes besides its own options.
NAMED_OPTIONS = {
    'name': {'type': 'str', 'required': True},
    'state': {'type': 'str', 'default': 'present', 'choices': ['present', 'absent']},
    'labels': {'type': 'dict'},
}


def cloud_argument_spec(**options):
    spec = {key: dict(value) for key, value in COMMON_OPTIONS.items()}
    spec.update(options)
    return spec


def named_argument_spec(**options):
    return cloud_argument_spec(**{key: dict(value) for key, value in NAMED_OPTIONS.items()}, **options)


def run_module(module, action):
    """Connect to the module's cloud, run action(provider), and exit with its result.

    Every CloudError becomes one fail_json line; nothing else is caught, so a bug still
    shows its traceback.
    """
    params = module.params
    try:
        if params['timeout'] < 1:
            raise CloudError('timeout: must be at least 1 second, got %d' % params['timeout'])
        provider = connect(params['cloud'], params['clouds_file'], timeout=params['timeout'],
                           wait=params['wait'], api_retries=params['api_retries'],
                           commands=Commands(module.run_command))
        result = action(provider)
    except CloudError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    module.exit_json(**result)


def ensure(provider, module, kind, desired):
    """The plain present/absent flow for a named object. ``desired`` may be a function of the
    current object (or None), for options that merge with what exists."""
    params = module.params
    machine = StateMachine(provider, kind, module.check_mode, labels=params.get('labels'))
    if params['state'] == 'absent':
        outcome = machine.absent(params['name'], params.get('labels'))
    else:
        outcome = machine.present(params['name'], desired)
    return {'changed': outcome.changed, kind: outcome.after, 'diff': outcome.diff}
