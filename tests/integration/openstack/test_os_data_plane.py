"""The validate role on openstack-local, whose data plane is neutron ML2/OVN: its packets cross
OVN's ACLs, and faults made through OpenStack itself, behind the collection's back, fail exactly
the checks they break (test_os_lifecycle.py shows the healthy cloud passing every check).

One provisioned playbooks/topologies/openstack-local.yml serves every test; each fault is made
with the openstack CLI, validated, and undone.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import jsonschema
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
PLAYBOOK = str(pathlib.Path(sys.executable).with_name('ansible-playbook'))
SCHEMA = json.loads((ROOT / 'roles/validate/files/report.schema.json').read_text())
TOPOLOGY = ROOT / 'playbooks' / 'topologies' / 'openstack-local.yml'
STATE = ROOT / 'tests' / 'clouds' / 'openstack' / '.state'
RUN_ID = 'pytest-os-dp'
# Short measurements: the checks are the point here, not the numbers.
QUICK = ['-e', 'validate_throughput_duration=1', '-e', 'validate_probe_count=3', '-e', 'validate_change_timeout=10',
         '-e', 'validate_connect_timeout=30']
L3_PAIRS = ['web->db', 'cache->db', 'db->web', 'db->cache']


def playbook(name, clouds_file, *extra):
    env = dict(os.environ, CLOUDOPS_CLOUDS_FILE=clouds_file, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_NOCOLOR='1')
    return subprocess.run([PLAYBOOK, str(ROOT / 'playbooks' / name), '-e', 'cloud=openstack-local',
                           '-e', 'run_id=%s' % RUN_ID, '-e', 'topology_file=%s' % TOPOLOGY] + list(extra),
                          capture_output=True, text=True, env=env, timeout=900, check=False)


def ovs(*argv):
    """An Open vSwitch or OVN command against the harness's own daemons."""
    env = dict(os.environ, OVS_RUNDIR=str(STATE / 'ovs'), OVN_NB_DB='unix:%s' % (STATE / 'ovn' / 'ovnnb.sock'),
               OVN_SB_DB='unix:%s' % (STATE / 'ovn' / 'ovnsb.sock'))
    # Open vSwitch's clients abort if their first socket gets fd 0, as it does when stdin is closed.
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env, check=False,
                          timeout=60)
    assert proc.returncode == 0, '%s: exit %d: %s\n%s' % (' '.join(argv), proc.returncode, proc.stderr, log_tail())
    return proc.stdout


def log_tail():
    """The datapath's own last words, for a command against it that failed."""
    return ''.join('\n-- %s\n%s' % (log.name, ''.join(log.read_text(errors='replace').splitlines(True)[-15:]))
                   for log in sorted((STATE / 'log').glob('ov*.log')))


@pytest.fixture(scope='module')
def deployed(openstack_clouds_file, sdk, tmp_path_factory):
    from conftest import purge_project
    purge_project(sdk())
    report_dir = tmp_path_factory.mktemp('os-dp')
    proc = playbook('provision.yml', openstack_clouds_file, '-e', 'report_dir=%s' % report_dir)
    assert proc.returncode == 0, proc.stdout[-4000:]
    yield {'clouds_file': openstack_clouds_file, 'report_dir': report_dir}
    proc = playbook('teardown.yml', openstack_clouds_file, '-e', 'report_dir=%s' % report_dir,
                    '-e', 'teardown_access_dir=%s' % (report_dir / 'access'))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert list((STATE / 'guests').iterdir()) == []


def validate(deployed, tmp_path, *extra):
    # The run's key and ssh_config are where provision wrote them.
    proc = playbook('validate.yml', deployed['clouds_file'], '-e', 'report_dir=%s' % tmp_path,
                    '-e', 'validate_access_dir=%s' % (deployed['report_dir'] / 'access'), *QUICK, *extra)
    path = tmp_path / 'report.json'
    assert path.exists(), proc.stdout[-4000:] + proc.stderr[-2000:]
    report = json.loads(path.read_text())
    jsonschema.Draft202012Validator(SCHEMA).validate(report)
    failed = sorted(c['name'] for c in report['checks'] if c['verdict'] == 'fail')
    assert (proc.returncode == 0) == (not failed), proc.stdout[-3000:]
    return report, failed


def server(osc, name):
    return osc('server', 'show', name)


def acl_packets(port):
    """Packets OVN's ACL flows on br-int have matched for tcp to ``port``."""
    flows = ovs('ovs-ofctl', '--timeout=30', 'dump-flows', 'br-int', 'tcp,tp_dst=%d' % port)
    return sum(int(field.split('=')[1].rstrip(','))
               for line in flows.splitlines() for field in line.split() if field.startswith('n_packets='))


def test_a_flow_crosses_ovn(deployed, osc):
    """web -> db tcp/5432 is matched by the OpenFlow rules ovn-controller made of db's group, and
    ovn-trace follows it through the router to db's port; tcp/22 from web is dropped by an ACL."""
    web, db = server(osc, 'web'), server(osc, 'db')
    db_ip = next(iter(db['addresses'].values()))[0]
    before = acl_packets(5432)
    # A guest is a namespace named after its server: connect from inside web.
    subprocess.run(['ip', 'netns', 'exec', web['id'], sys.executable, '-c',
                    'import socket; socket.create_connection((%r, 5432), timeout=3).close()' % db_ip],
                   check=False, timeout=10)
    assert acl_packets(5432) > before
    [port] = osc('port', 'list', '--server', web['id'])
    [db_port] = osc('port', 'list', '--server', db['id'])
    [gateway] = osc('port', 'list', '--network', 'front', '--device-owner', 'network:router_interface')
    network = osc('network', 'show', 'front')

    def trace(dst_port):
        # New connections, in front's conntrack and again in back's.
        return ovs('ovn-trace', '--minimal', '--ct', 'new', '--ct', 'new', 'neutron-%s' % network['id'],
                   'inport == "%s" && eth.src == %s && eth.dst == %s && ip4.src == %s && ip4.dst == %s && '
                   'ip.ttl == 64 && tcp && tcp.dst == %d' % (
                       port['ID'], port['MAC Address'], gateway['MAC Address'],
                       port['Fixed IP Addresses'][0]['ip_address'], db_ip, dst_port))
    delivered = 'output("%s")' % db_port['ID'][:6]
    assert delivered in trace(5432) and 'ip.ttl--' in trace(5432)
    assert delivered not in trace(22)


def test_a_rule_deleted_through_openstack_fails_its_flow_only(deployed, osc, tmp_path):
    group = osc('security', 'group', 'show', 'db')
    [rule] = [r for r in group['rules'] if r.get('port_range_min') == 5432]
    osc('security', 'group', 'rule', 'delete', rule['id'], parse=False)
    # The role's security group check restores the declared rules afterwards.
    _report, failed = validate(deployed, tmp_path)
    assert failed == ['reach web->db tcp/5432']
    rules = osc('security', 'group', 'show', 'db')['rules']
    assert any(r.get('port_range_min') == 5432 for r in rules)


def test_a_router_interface_removed_fails_everything_across_it(deployed, osc, tmp_path):
    osc('router', 'remove', 'subnet', 'edge', 'back', parse=False)
    try:
        _report, failed = validate(deployed, tmp_path)
    finally:
        osc('router', 'add', 'subnet', 'edge', 'back', parse=False)
    # db is reached over SSH through the bastion on front: it is cut off, and so are its own checks.
    assert failed == sorted(['reach %s icmp' % p for p in L3_PAIRS] + ['pmtu %s' % p for p in L3_PAIRS] + [
        'reach web->db tcp/5432', 'reach db->web tcp/80', 'throughput l3 tcp', 'throughput l3 udp',
        'sla rtt_ms p99 l3', 'sla tcp_connect_ms p90 l3', 'sla tcp_gbps avg l3', 'sg db rule added']), failed


def test_a_floating_ip_moved_to_another_server(deployed, osc, tmp_path):
    web = server(osc, 'web')
    address = [a for a in next(iter(web['addresses'].values())) if a.startswith('198.18.')][0]
    osc('server', 'remove', 'floating', 'ip', 'web', address, parse=False)
    osc('server', 'add', 'floating', 'ip', 'cache', address, parse=False)
    try:
        report, failed = validate(deployed, tmp_path)
    finally:
        osc('server', 'remove', 'floating', 'ip', 'cache', address, parse=False)
        osc('server', 'add', 'floating', 'ip', 'web', address, parse=False)
    # web is still reached (through the bastion) and every flow between the servers passes.
    assert failed == ['fip cache reachable', 'fip web reachable']
    reasons = {c['name']: c['reason'] for c in report['checks'] if c['verdict'] == 'fail'}
    assert reasons['fip web reachable'] == 'web has no floating IP, though the topology gives it one'
    # The configuration says why: neutron associates the address with cache.
    assert ('the topology gives cache no floating IP; the configuration explains it: floating IP %s is associated '
            'with cache' % address) in reasons['fip cache reachable'], reasons['fip cache reachable']


def test_a_network_mtu_lowered_fails_the_paths_through_it(deployed, osc, tmp_path):
    # neutron keeps MTUs per network; web takes the new one when it boots, as from DHCP.
    osc('network', 'set', '--mtu', '1300', 'front', parse=False)
    osc('server', 'reboot', '--hard', '--wait', 'web', parse=False)
    try:
        report, failed = validate(deployed, tmp_path)
    finally:
        osc('network', 'set', '--mtu', '1442', 'front', parse=False)
        osc('server', 'reboot', '--hard', '--wait', 'web', parse=False)
    assert failed == ['pmtu cache->web', 'pmtu db->web', 'pmtu web->cache', 'pmtu web->db'], failed
    observed = {c['name']: c['observed'] for c in report['checks']}
    assert observed['pmtu web->cache'] == 1300
