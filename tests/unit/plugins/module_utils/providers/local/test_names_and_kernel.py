from __future__ import annotations

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local import kernel
from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.names import IFNAMSIZ, LabNames, ifname, new_id


def test_interface_names_fit_the_kernel_limit():
    rid = new_id()
    for kind in ('br', 'p', 'qr', 'qg'):
        assert len(ifname(kind, rid).encode()) <= IFNAMSIZ
    with pytest.raises(ValueError):
        ifname('toolongprefix', rid)


def test_short_ids_are_unique_within_a_lab():
    taken = [new_id() for _index in range(50)]
    assert new_id(taken)[:8] not in {t[:8] for t in taken}


def test_every_namespace_carries_the_lab_prefix():
    names = LabNames('lab')
    rid = new_id()
    for netns in (names.fabric, names.outside, names.server(rid), names.router(rid)):
        assert names.owns(netns) and netns.startswith('cloudops-lab-')
    assert not LabNames('lab2').owns(names.fabric)


def test_missing_capabilities_are_said_plainly(tmp_path):
    status = tmp_path / 'status'
    status.write_text('Name:\tx\nCapEff:\t%016x\n' % (1 << kernel.CAP_NET_ADMIN))
    with pytest.raises(CloudError, match=r'^the local lab needs root \(CAP_SYS_ADMIN\) to manage network namespaces'):
        kernel.check_privileges(str(status))
