# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Provider-neutral records. Every provider returns these; every module returns their dicts.

Cross references are by name (what a playbook writes), ids sit beside them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MANAGED_BY = 'cloudops.multicloud'


@dataclass
class Record:
    def to_dict(self):
        return asdict(self)


@dataclass
class Network(Record):
    id: str
    name: str
    status: str = 'ACTIVE'
    mtu: int = 1500
    external: bool = False
    subnets: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)
    cidr: str = None


@dataclass
class Subnet(Record):
    id: str
    name: str
    network: str
    cidr: str
    gateway_ip: str
    labels: dict = field(default_factory=dict)


@dataclass
class Router(Record):
    id: str
    name: str
    status: str = 'ACTIVE'
    interfaces: list = field(default_factory=list)
    external_network: str = None
    external_address: str = None
    labels: dict = field(default_factory=dict)


@dataclass
class SecurityGroup(Record):
    id: str
    name: str
    description: str = ''
    rules: list = field(default_factory=list)
    labels: dict = field(default_factory=dict)
    network: str = None


@dataclass
class FloatingIp(Record):
    id: str
    address: str
    network: str
    status: str = 'DOWN'
    server: str = None
    fixed_address: str = None
    router: str = None
    labels: dict = field(default_factory=dict)


@dataclass
class Keypair(Record):
    id: str
    name: str
    type: str
    public_key: str
    fingerprint: str
    labels: dict = field(default_factory=dict)
    private_key: str = None


@dataclass
class Server(Record):
    id: str
    name: str
    status: str
    image: str
    size: str
    image_id: str = None
    networks: list = field(default_factory=list)
    addresses: dict = field(default_factory=dict)
    private_ip: str = None
    public_ip: str = None
    security_groups: list = field(default_factory=list)
    key_name: str = None
    labels: dict = field(default_factory=dict)
    created: str = None
    connection: dict = field(default_factory=dict)


@dataclass
class Image(Record):
    id: str
    name: str
    os: str = ''
    description: str = ''
    min_size: str = None


@dataclass
class Size(Record):
    id: str
    name: str
    vcpus: int = 1
    ram_mb: int = 512
    disk_gb: int = 1
    description: str = ''
