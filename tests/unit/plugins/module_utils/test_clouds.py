from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.clouds import find_clouds_file, load_clouds, parse_clouds, resolve_cloud
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError


def test_no_file_means_only_local(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('HOME', str(tmp_path))
    assert find_clouds_file(None, environ={}) in (None, '/etc/cloudops/clouds.yml')
    assert load_clouds(None) == {'local': {'provider': 'local'}}


def test_lookup_order_option_then_env_then_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'clouds.multicloud.yml').write_text('clouds: {}\n')
    env_file = tmp_path / 'env.yml'
    env_file.write_text('clouds: {}\n')
    opt_file = tmp_path / 'opt.yml'
    opt_file.write_text('clouds: {}\n')
    env = {'CLOUDOPS_CLOUDS_FILE': str(env_file)}
    assert find_clouds_file(str(opt_file), env) == str(opt_file)
    assert find_clouds_file(None, env) == str(env_file)
    assert find_clouds_file(None, {}) == str(tmp_path / 'clouds.multicloud.yml')


def test_missing_option_file_is_named():
    with pytest.raises(CloudError, match=r'^clouds_file: /nonexistent/x.yml does not exist$'):
        find_clouds_file('/nonexistent/x.yml', {})


@pytest.mark.parametrize('text, message', [
    ('clouds: [a, b]\n', 'top-level key "clouds" must be a mapping'),
    ('clouds:\n  lab: {provider: vmware}\n', "clouds.lab.provider must be one of local, openstack, libcloud, got 'vmware'"),
    ('clouds:\n  lab: {provider: local, stat_dir: /x}\n', 'clouds.lab.stat_dir is not a setting of the local provider'),
    ('clouds:\n  Lab!: {provider: local}\n', 'clouds.Lab!: a cloud name is'),
    ('clouds:\n  lab: local\n', 'clouds.lab must be a mapping'),
    ('cloud:\n  lab: {provider: local}\n', 'unknown top-level key cloud'),
    ('clouds:\n  lab: {provider: local\n', 'is not valid YAML'),
])
def test_malformed_file_names_file_and_key(text, message):
    with pytest.raises(CloudError) as info:
        parse_clouds(text, '/etc/cloudops/clouds.yml')
    assert str(info.value).startswith('clouds file /etc/cloudops/clouds.yml')
    assert message in str(info.value)
    assert '\n' not in str(info.value)


def test_unknown_cloud_lists_known(tmp_path):
    path = tmp_path / 'c.yml'
    path.write_text('clouds:\n  lab: {provider: local}\n')
    with pytest.raises(CloudError, match=r"^cloud: 'nope' is not defined in .*c.yml; known clouds: lab, local$"):
        resolve_cloud('nope', str(path))
    assert resolve_cloud('lab', str(path)) == ('lab', {'provider': 'local'})
