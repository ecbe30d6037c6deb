"""A module given a bad cloud or clouds file fails with one line naming the file and key."""

from __future__ import annotations

from lab_helpers import LAB, lab_namespaces


def test_unknown_cloud_name(run, lab_clean):
    failed = run('network', name='x', cloud='nowhere')
    assert failed['failed']
    assert failed['msg'].startswith("cloud: 'nowhere' is not defined in ")
    assert failed['msg'].endswith('known clouds: %s, local' % LAB)
    assert lab_namespaces() == [] or all(not n.startswith('cloudops-nowhere-') for n in lab_namespaces())


def test_malformed_clouds_file_names_file_and_key(run, lab_clean, tmp_path):
    bad = tmp_path / 'clouds.yml'
    bad.write_text('clouds:\n  %s: {provider: local, state_dri: /tmp/x}\n' % LAB)
    for check in (True, False):
        failed = run('network', name='x', clouds_file=str(bad), check=check)
        assert failed['failed'] and '\n' not in failed['msg']
        assert failed['msg'] == ('clouds file %s: clouds.%s.state_dri is not a setting of the local provider'
                                 % (bad, LAB))
    assert run('network', name='x', state='absent')['changed'] is False


def test_openstack_cloud_without_its_clouds_yaml(run, lab_clean, tmp_path):
    path = tmp_path / 'clouds.yml'
    path.write_text('clouds:\n  osp: {provider: openstack, cloud: devstack, clouds_yaml: %s/none.yaml}\n'
                    '  osq: {provider: openstack, cloud: devstack}\n' % tmp_path)
    failed = run('network', name='x', cloud='osp', clouds_file=str(path))
    assert failed['msg'] == "cloud: 'osp': clouds_yaml %s/none.yaml does not exist" % tmp_path
    failed = run('network', name='x', cloud='osq', clouds_file=str(path))
    assert failed['msg'].startswith("cloud: 'osq': its openstack settings cannot be used: ") and '\n' not in failed['msg']
