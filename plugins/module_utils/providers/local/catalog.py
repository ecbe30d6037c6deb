# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the lab offers. A lab VM runs the host's own userland, so an image names what the
guest is meant to be, and a size records its shape; neither changes the namespace."""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.model import Image, Size

IMAGES = (
    Image(id='lab-host', name='lab-host', os='linux',
          description="the host's own userland in the VM's namespaces (default)"),
    Image(id='cirros', name='cirros', os='linux',
          description='alias of lab-host, for topologies written for OpenStack test clouds'),
)
SIZES = (
    Size(id='lab.small', name='lab.small', vcpus=1, ram_mb=512, disk_gb=1,
         description='default size'),
    Size(id='lab.medium', name='lab.medium', vcpus=2, ram_mb=2048, disk_gb=10),
    Size(id='lab.large', name='lab.large', vcpus=4, ram_mb=8192, disk_gb=20),
)
DEFAULT_IMAGE = 'lab-host'
DEFAULT_SIZE = 'lab.small'
