"""Integration fixtures: modules run on a dedicated lab through pytest-ansible.

pytest-ansible is used only here (its `localhost` fixture), so it can be swapped out.
"""

from __future__ import annotations

import subprocess

import pytest
from ansible import context
from ansible.utils.context_objects import CLIArgs

from lab_helpers import LAB, assert_host_clean, purge_lab


@pytest.fixture(scope='session')
def clouds_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('clouds') / 'clouds.multicloud.yml'
    path.write_text('clouds:\n  %s:\n    provider: local\n' % LAB)
    yield str(path)
    purge_lab(LAB)
    assert_host_clean(LAB)


@pytest.fixture
def run(localhost, clouds_file, monkeypatch):
    """run('network', name=..., check=True) -> the module's result dict on the test lab."""
    configure = localhost._configure_adhoc_cli

    def run_module(module, check=False, diff=True, **args):
        args.setdefault('cloud', LAB)
        args.setdefault('clouds_file', clouds_file)

        def configure_with_flags():
            # pytest-ansible has no check/diff switch; tasks read both from the CLI arguments.
            configure()
            context.CLIARGS = CLIArgs(dict(context.CLIARGS, check=check, diff=diff))

        monkeypatch.setattr(localhost, '_configure_adhoc_cli', configure_with_flags)
        result = getattr(localhost, 'cloudops.multicloud.' + module)(**args)
        return dict(result['localhost'])
    return run_module


@pytest.fixture
def lab_clean():
    """A test that needs an empty lab gets one, and leaves one."""
    purge_lab(LAB)
    yield
    purge_lab(LAB)


def namespace_exec(netns, *argv, timeout=10):
    return subprocess.run(['ip', 'netns', 'exec', netns] + list(argv), capture_output=True, text=True,
                          timeout=timeout, check=False)
