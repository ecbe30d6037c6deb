"""Fill the OpenStack that tests/clouds/openstack/up starts, through its own APIs.

    provision.py identity PASSWORD URL...   service users, catalog, the demo project and user
    provision.py resources                  flavors, the external network `public`, an image
    provision.py compute                    wait until nova-compute is up and its hypervisor listed

URL... are service=url pairs for the catalog. Reads the admin cloud of OS_CLIENT_CONFIG_FILE.
"""

import os
import sys
import time

import openstack

SERVICES = {  # name: (type, description)
    'neutron': ('network', 'OpenStack Networking'),
    'glance': ('image', 'OpenStack Image'),
    'placement': ('placement', 'Placement API'),
    'nova': ('compute', 'OpenStack Compute'),
}
FLAVORS = [  # name, vcpus, ram MB, disk GB
    ('m1.tiny', 1, 64, 1),
    ('m1.small', 1, 512, 1),
    ('m1.medium', 2, 2048, 20),
    ('m1.large', 4, 8192, 40),
]
IMAGE = 'cirros-tiny'


def connect():
    return openstack.connect(cloud='openstack-local-admin')


def identity(password, *urls):
    conn = connect()
    ident = conn.identity
    domain = ident.find_domain('default', ignore_missing=False)
    roles = {role.name: role for role in ident.roles()}
    service_project = ident.create_project(name='service', domain_id=domain.id,
                                           description='Service users')
    demo = ident.create_project(name='demo', domain_id=domain.id, description='Tests')
    user = ident.create_user(name='demo', password=password, domain_id=domain.id,
                             default_project_id=demo.id)
    ident.assign_project_role_to_user(demo, user, roles['member'])
    for name, url in (u.split('=', 1) for u in urls):
        kind, description = SERVICES[name]
        user = ident.create_user(name=name, password=password, domain_id=domain.id,
                                 default_project_id=service_project.id)
        # admin for the classic policies, service for the service-to-service APIs.
        for role in ('admin', 'service'):
            ident.assign_project_role_to_user(service_project, user, roles[role])
        service = ident.create_service(name=name, type=kind, description=description)
        for interface in ('public', 'internal', 'admin'):
            ident.create_endpoint(service_id=service.id, interface=interface, url=url,
                                  region_id='RegionOne')


def resources():
    conn = connect()
    for name, vcpus, ram, disk in FLAVORS:
        conn.compute.create_flavor(name=name, vcpus=vcpus, ram=ram, disk=disk, is_public=True)
    net = conn.network.create_network(
        name='public', is_router_external=True, provider_network_type='flat',
        provider_physical_network='public')
    # 198.18.0.0/15 is reserved for benchmarks: it never routes anywhere real.
    conn.network.create_subnet(
        name='public-subnet', network_id=net.id, ip_version=4, cidr='198.18.100.0/24',
        gateway_ip='198.18.100.1', is_dhcp_enabled=False,
        allocation_pools=[{'start': '198.18.100.10', 'end': '198.18.100.250'}])
    # The fake compute driver never reads the image: a few random bytes stand for a disk.
    image = conn.image.create_image(
        name=IMAGE, data=os.urandom(16384), disk_format='raw', container_format='bare',
        visibility='public', allow_duplicates=True)
    deadline = time.monotonic() + 30
    while conn.image.get_image(image.id).status != 'active':
        if time.monotonic() > deadline:
            sys.exit('provision: image %s did not become active' % IMAGE)
        time.sleep(0.2)


def compute(timeout=120):
    conn = connect()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        up = [s for s in conn.compute.services(binary='nova-compute') if s.state == 'up']
        if up and list(conn.compute.hypervisors()):
            return
        time.sleep(0.5)
    sys.exit('provision: no nova-compute host up and discovered after %ds' % timeout)


if __name__ == '__main__':
    {'identity': identity, 'resources': resources, 'compute': compute}[sys.argv[1]](*sys.argv[2:])
