"""The collection as a user gets it: a tarball built by ansible-galaxy, installed by ansible-galaxy."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = pathlib.Path(sys.executable).parent


def source_files():
    """The checkout's tracked and untracked-but-not-ignored files that exist, relative to ROOT."""
    listed = subprocess.run(['git', '-C', str(ROOT), 'ls-files', '-co', '--exclude-standard', '-z'],
                            capture_output=True, check=True, timeout=60).stdout.decode()
    return sorted({name for name in listed.split('\0') if name and os.path.lexists(ROOT / name)})


def build_collection(work):
    """cloudops-multicloud-*.tar.gz in ``work``, built from a copy of :func:`source_files`, so that
    nothing git ignores (reports, caches, a local venv) ends up in it."""
    tree = work / 'source'
    for name in source_files():
        target = tree / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'build', '--output-path', str(work), str(tree)],
                   check=True, capture_output=True, timeout=120)
    return next(work.glob('cloudops-multicloud-*.tar.gz'))


def install_collection(tarball, target, env=None):
    """``tarball`` installed with ``ansible-galaxy collection install -p target``."""
    subprocess.run([str(BIN / 'ansible-galaxy'), 'collection', 'install', '--force', '-p', str(target), str(tarball)],
                   check=True, capture_output=True, timeout=120, env=env)
    return target
