"""The topology module on openstack-local: drift made through openstacksdk is audited, two runs
with the same names live side by side, and a provision killed while its servers boot is torn
down to nothing the openstack CLI can find."""

from __future__ import annotations

import copy
import time

import pytest
import yaml

from lifecycle_helpers import ROOT, killed_while, playbook
from leftover_helpers import openstack_left_behind as left_behind

SPEC = yaml.safe_load((ROOT / 'playbooks' / 'topologies' / 'openstack-local.yml').read_text())


def topology(run_id):
    return dict(copy.deepcopy(SPEC), run_id=run_id)


def ours(resources, run_id, name):
    """The one resource named ``name`` that carries the run's tag (neutron) or metadata (nova)."""
    def carries(resource):
        return ('run-id=%s' % run_id in (getattr(resource, 'tags', None) or [])
                or (getattr(resource, 'metadata', None) or {}).get('run-id') == run_id)
    (found,) = [r for r in resources if r.name == name and carries(r)]
    return found


def wait_for_status(conn, server, status, timeout=120):
    deadline = time.monotonic() + timeout
    while conn.compute.get_server(server.id).status != status:
        assert time.monotonic() < deadline, 'server %s never reached %s' % (server.name, status)
        time.sleep(1)


@pytest.mark.usefixtures('os_clean')
def test_audit_reports_drift_made_through_the_api_and_none_when_untouched(run, sdk, osc):
    applied = run('topology', topology=topology('os-a'))
    assert applied['changed'], applied.get('msg')
    assert run('topology', state='audit', topology=topology('os-a'))['drift'] == []

    conn = sdk()
    group = ours(conn.network.security_groups(), 'os-a', 'db')
    conn.network.create_security_group_rule(security_group_id=group.id, direction='ingress', ethertype='IPv4',
                                            protocol='tcp', port_range_min=22, port_range_max=22,
                                            remote_ip_prefix='0.0.0.0/0')
    servers = list(conn.compute.servers())
    cache = ours(servers, 'os-a', 'cache')
    conn.compute.stop_server(cache)
    wait_for_status(conn, cache, 'SHUTOFF')
    router = ours(conn.network.routers(), 'os-a', 'edge')
    conn.network.remove_interface_from_router(router, subnet=ours(conn.network.subnets(), 'os-a', 'back').id)
    (address,) = [ip for ip in conn.network.ips() if 'run-id=os-a' in (ip.tags or [])]
    web, db = ours(servers, 'os-a', 'web'), ours(servers, 'os-a', 'db')
    conn.network.update_ip(address, port_id=None)
    cache_port = next(conn.network.ports(device_id=cache.id))
    conn.network.update_ip(address, port_id=cache_port.id)
    conn.network.set_tags(conn.network.create_network(name='stray'), ['run-id=os-a'])  # not of the topology
    assert db.status == 'ACTIVE' and web.status == 'ACTIVE'

    audit = run('topology', state='audit', topology=topology('os-a'))
    drift = {(d['kind'], d['name']): (d['drift'], d['detail']) for d in audit['drift']}
    assert set(drift) == {('security_group', 'db'), ('server', 'cache'), ('router', 'edge'), ('floating_ip', 'web'),
                          ('network', 'stray')}, drift
    assert drift[('security_group', 'db')] == ('differs', 'rule ingress tcp/22 from 0.0.0.0/0 added')
    assert drift[('server', 'cache')] == ('differs', "server 'cache' is SHUTOFF")
    assert drift[('router', 'edge')] == ('differs', 'interfaces: back missing')
    assert drift[('floating_ip', 'web')] == ('differs', 'floating IP %s is on cache, declared on web'
                                             % address.floating_ip_address)
    assert drift[('network', 'stray')][0] == 'not declared'

    healed = run('topology', topology=topology('os-a'))
    assert healed['changed'], healed.get('msg')
    assert run('topology', state='audit', topology=topology('os-a'))['drift'] == []
    assert run('topology', run_id='os-a', state='absent')['changed']
    assert left_behind(osc, 'os-a') == {}


@pytest.mark.usefixtures('os_clean')
def test_two_runs_with_the_same_names_live_side_by_side_and_one_teardown_leaves_the_other(run, sdk, osc):
    first = run('topology', topology=topology('os-a'))
    second = run('topology', topology=topology('os-b'))
    assert first['changed'] and second['changed'], first.get('msg') or second.get('msg')
    servers = list(sdk().compute.servers())
    assert ours(servers, 'os-a', 'db').id != ours(servers, 'os-b', 'db').id
    assert run('topology', run_id='os-b', state='absent')['changed']
    assert left_behind(osc, 'os-b') == {}
    assert run('topology', state='audit', topology=topology('os-a'))['drift'] == []
    assert run('topology', run_id='os-a', state='absent')['changed']
    assert left_behind(osc, 'os-a') == {}


@pytest.mark.usefixtures('os_clean')
def test_a_provision_killed_while_servers_boot_is_torn_down_to_nothing(openstack_clouds_file, sdk, osc, tmp_path):
    spec = topology('os-crash')
    spec['servers'] = [dict(server, count=3) for server in spec['servers']]
    path = tmp_path / 'crash.yml'
    path.write_text(yaml.safe_dump(spec))
    conn = sdk()

    def servers_booting():
        return 0 < sum(1 for s in conn.compute.servers() if (s.metadata or {}).get('run-id') == 'os-crash') < 9
    killed_while(openstack_clouds_file, 'openstack-local', path, tmp_path, servers_booting, 'servers booting')
    assert left_behind(osc, 'os-crash'), 'the kill left nothing to clean up'
    proc = playbook('teardown.yml', openstack_clouds_file, 'openstack-local', 'os-crash')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert left_behind(osc, 'os-crash') == {}
