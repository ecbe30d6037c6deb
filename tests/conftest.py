"""Make the collection importable as ansible_collections.cloudops.multicloud for every test."""

from __future__ import annotations

import os
import sys

# Modules run with this interpreter, not whatever interpreter discovery finds first on PATH.
os.environ.setdefault('ANSIBLE_PYTHON_INTERPRETER', sys.executable)
# pytest-ansible builds its tasks with a form ansible-core deprecates; that is its concern.
os.environ.setdefault('ANSIBLE_DEPRECATION_WARNINGS', 'false')

# ansible-test units imports this file as a package module, with its collection finder in place
# and, for module_utils tests, no ansible.plugins to import.
if not __name__.startswith('ansible_collections.'):
    from ansible.plugins.loader import init_plugin_loader

    # Ansible's own collection finder, so modules found by name and module_utils imported by
    # tests resolve to the same package.
    init_plugin_loader()
    sys.path.insert(0, os.path.dirname(__file__))
