"""What benchmarks/openstack_servers.sh asks of the harness's OpenStack directly, with openstacksdk.

    backend.py CLOUDS_YAML setup         the network `bench` both sides boot on (an empty project first)
    backend.py CLOUDS_YAML live          how many servers the project has
    backend.py CLOUDS_YAML purge         delete every server of the project, and `bench`
    backend.py CLOUDS_YAML direct N OUT  the backend's own limit: N boots from a thread pool, awaited with
                                         one listing per second, then N deletes; wall times to OUT
"""

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openstack.config
import openstack.connection

CLOUD = 'openstack-local'
POOL = 50


def connect(clouds_yaml):
    config = openstack.config.OpenStackConfig(config_files=[clouds_yaml], load_envvars=False)
    return openstack.connection.Connection(config=config.get_one(cloud=CLOUD))


def purge(conn):
    servers = list(conn.compute.servers())
    with ThreadPoolExecutor(POOL) as pool:
        list(pool.map(lambda s: conn.compute.delete_server(s, ignore_missing=True), servers))
    await_servers(conn, {s.id for s in servers}, gone=True)
    for network in conn.network.networks(name='bench'):
        conn.network.delete_network(network, ignore_missing=True)


def await_servers(conn, ids, gone=False, timeout=900):
    deadline = time.monotonic() + timeout
    while True:
        current = {s.id: s.status for s in conn.compute.servers()}
        pending = [i for i in ids if ((i in current) if gone else current.get(i) not in ('ACTIVE', 'ERROR'))]
        if not pending:
            return current
        if time.monotonic() > deadline:
            sys.exit('backend: %d servers still pending after %ss' % (len(pending), timeout))
        time.sleep(1)


def direct(conn, n, out):
    image = conn.image.find_image('cirros-tiny')
    flavor = conn.compute.find_flavor('m1.tiny')
    network = conn.network.find_network('bench')
    t0 = time.monotonic()
    with ThreadPoolExecutor(POOL) as pool:
        servers = list(pool.map(lambda i: conn.compute.create_server(
            name='bench-%d' % i, image_id=image.id, flavor_id=flavor.id, networks=[{'uuid': network.id}],
            metadata={'run-id': 'openstack-bench'}), range(1, n + 1)))
    status = await_servers(conn, {s.id for s in servers})
    t1 = time.monotonic()
    with ThreadPoolExecutor(POOL) as pool:
        list(pool.map(conn.compute.delete_server, servers))
    await_servers(conn, {s.id for s in servers}, gone=True)
    t2 = time.monotonic()
    created = sum(1 for s in servers if status.get(s.id) == 'ACTIVE')
    with open(out, 'w') as handle:
        json.dump({'create_s': t1 - t0, 'delete_s': t2 - t1, 'created': created}, handle)


def main():
    conn = connect(sys.argv[1])
    what = sys.argv[2]
    if what == 'setup':
        purge(conn)
        network = conn.network.create_network(name='bench')
        conn.network.create_subnet(network_id=network.id, name='bench', ip_version=4, cidr='10.30.0.0/22')
    elif what == 'live':
        print(len(list(conn.compute.servers())))
    elif what == 'purge':
        purge(conn)
    elif what == 'direct':
        direct(conn, int(sys.argv[3]), sys.argv[4])


if __name__ == '__main__':
    main()
