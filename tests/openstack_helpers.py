"""Clouds files that point at the OpenStack harness with one thing changed, for fault tests."""

from __future__ import annotations

import pathlib

import yaml

CLOUD = 'openstack-local'


def clouds_file_with(tmp_path, clouds_yaml, entry_changes, override=None):
    """A clouds file whose openstack-local entry is the harness's, changed by entry_changes(entry) in a
    clouds.yaml of its own (``override``: extra settings of that cloud's clouds.yaml entry)."""
    data = yaml.safe_load(pathlib.Path(clouds_yaml).read_text())
    entry = data['clouds'][CLOUD]
    entry_changes(entry)
    entry.update(override or {})
    own_yaml = tmp_path / 'clouds.yaml'
    own_yaml.write_text(yaml.safe_dump({'clouds': {CLOUD: entry}}))
    path = tmp_path / 'clouds.multicloud.yml'
    path.write_text(yaml.safe_dump({'clouds': {CLOUD: {'provider': 'openstack', 'cloud': CLOUD,
                                                       'clouds_yaml': str(own_yaml), 'image': 'cirros-tiny',
                                                       'size': 'm1.tiny'}}}))
    return str(path)
