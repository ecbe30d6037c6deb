"""security_group on the lab: lifecycle, purge_rules, refusals, and rules proven with real traffic."""

from __future__ import annotations

import subprocess
import sys

import pytest

WEB = [{'protocol': 'tcp', 'port': '8080'}, {'protocol': 'icmp'}]

# Accepts and closes connections on every port in argv; says "ready" once all are bound.
LISTENER = '''
import select, socket, sys
socks = []
for port in sys.argv[1:]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(port)))
    s.listen(16)
    socks.append(s)
print("ready", flush=True)
while True:
    for s in select.select(socks, [], [])[0]:
        s.accept()[0].close()
'''
# Prints connected, refused or timeout.
CONNECT = '''
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=1.5).close()
    print("connected")
except socket.timeout:
    print("timeout")
except ConnectionRefusedError:
    print("refused")
'''


def tcp(server, address, port):
    return subprocess.run(['ip', 'netns', 'exec', server['connection']['netns'], sys.executable, '-c', CONNECT,
                           address, str(port)], capture_output=True, text=True, timeout=10,
                          check=True).stdout.strip()


@pytest.fixture
def listener():
    """listener(server, *ports): TCP listeners inside a server, stopped after the test."""
    started = []

    def start(server, *ports):
        proc = subprocess.Popen(['ip', 'netns', 'exec', server['connection']['netns'], sys.executable, '-c',
                                 LISTENER] + [str(p) for p in ports], stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == 'ready'
        return proc
    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def test_security_group_lifecycle(run, lab_clean):
    args = {'name': 'web', 'description': 'front end', 'rules': WEB, 'labels': {'run-id': 't-sg'}}
    checked = run('security_group', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert len(checked['security_group']['rules']) == 2
    assert run('security_group', check=True, **args)['changed'], 'check mode created something'

    created = run('security_group', **args)
    assert created['changed'] and created['security_group']['description'] == 'front end'
    assert created['security_group']['rules'][0] == {
        'direction': 'ingress', 'protocol': 'tcp', 'port_min': 8080, 'port_max': 8080,
        'remote_cidr': '0.0.0.0/0', 'remote_group': None}
    assert run('security_group', **args)['changed'] is False
    assert run('security_group', **dict(args, rules=WEB[::-1] + WEB[:1]))['changed'] is False
    assert run('security_group', name='web')['changed'] is False, 'omitted rules were purged'

    described = run('security_group', name='web', description='web tier')
    assert described['changed'] and described['diff']['before']['description'] == 'front end'
    assert described['security_group']['rules'] == created['security_group']['rules']

    extra = [{'protocol': 'udp', 'port': '5000-5010', 'remote_cidr': '10.0.0.7/8'}]
    assert run('security_group', name='web', rules=extra, purge_rules=False, check=True)['changed']
    added = run('security_group', name='web', rules=extra, purge_rules=False)
    assert added['changed'] and len(added['security_group']['rules']) == 3
    assert added['security_group']['rules'][2]['remote_cidr'] == '10.0.0.0/8'
    assert added['security_group']['rules'][2]['port_max'] == 5010
    assert run('security_group', name='web', rules=extra + WEB[1:], purge_rules=False)['changed'] is False

    purged = run('security_group', name='web', rules=extra)
    assert purged['changed'] and len(purged['security_group']['rules']) == 1
    emptied = run('security_group', name='web', rules=[])
    assert emptied['changed'] and emptied['security_group']['rules'] == []

    own = run('security_group', name='self', rules=[{'protocol': 'any', 'remote_group': 'self'}])
    assert own['changed'] and own['security_group']['rules'][0]['remote_cidr'] is None

    assert run('security_group', name='web', state='absent', check=True)['changed']
    assert run('security_group', name='web')['changed'] is False, 'check mode deleted'
    deleted = run('security_group', name='web', state='absent')
    assert deleted['changed'] and deleted['security_group'] is None
    assert run('security_group', name='web', state='absent')['changed'] is False


@pytest.mark.parametrize('rules, message', [
    ([{'protocol': 'icmp', 'port': '22'}], 'rules[0].port: only tcp and udp rules take a port'),
    ([{'protocol': 'tcp'}, {'protocol': 'tcp', 'port': '90-80'}], "rules[1].port: '90-80' is outside 1-65535"),
    ([{'protocol': 'tcp', 'port': 'ssh'}], "rules[0].port: 'ssh' is not a port"),
    ([{'remote_cidr': '10.0.0.0/33'}], "rules[0].remote_cidr: '10.0.0.0/33' is not an IPv4 CIDR"),
    ([{'remote_cidr': '10.0.0.0/8', 'remote_group': 'web'}], 'rules[0]: give remote_cidr or remote_group'),
    ([{'remote_group': 'nobody'}], "rules[0].remote_group: security group 'nobody' does not exist"),
])
def test_bad_rules_change_nothing(run, lab_clean, rules, message):
    run('security_group', name='web', rules=WEB)
    for name in ('web', 'new'):
        for check in (True, False):
            failed = run('security_group', check=check, name=name, rules=rules)
            assert failed['failed'] and failed['msg'].startswith(message), failed['msg']
            assert '\n' not in failed['msg']
    assert len(run('security_group', name='web', rules=WEB)['security_group']['rules']) == 2
    assert run('security_group', name='new', state='absent')['changed'] is False


def test_group_in_use_is_refused(run, lab_clean):
    run('network', name='net')
    run('subnet', name='net', network='net', cidr='10.81.0.0/24')
    run('security_group', name='web', rules=WEB)
    run('security_group', name='db', rules=[{'protocol': 'tcp', 'port': '5432', 'remote_group': 'web'}])
    run('server', name='a', networks=['net'], security_groups=['web'])
    for check in (True, False):
        refused = run('security_group', check=check, name='web', state='absent')
        assert refused['failed']
        assert refused['msg'] == "security group 'web' is in use by servers a; remove it from them first"
    run('server', name='a', state='absent')
    referred = run('security_group', name='web', state='absent')
    assert referred['failed'] and referred['msg'].startswith("security group 'web' is the remote group of rules in db")
    assert run('security_group', name='db', state='absent')['changed']
    assert run('security_group', name='web', state='absent')['changed']


def test_rules_filter_real_traffic(run, lab_clean, listener):
    run('network', name='net')
    run('subnet', name='net', network='net', cidr='10.82.0.0/24')
    run('security_group', name='web', rules=WEB)
    a = run('server', name='a', networks=['net'], security_groups=['web'])['server']
    b = run('server', name='b', networks=['net'], security_groups=['web'])['server']
    listener(b, 8080, 9090)

    assert tcp(a, b['private_ip'], 8080) == 'connected'
    assert tcp(a, b['private_ip'], 9090) == 'timeout'
    assert ping(a, b['private_ip'])

    opened = run('security_group', name='web', rules=[{'protocol': 'tcp', 'port': '9000-9100'}], purge_rules=False)
    assert opened['changed']
    assert tcp(a, b['private_ip'], 9090) == 'connected'
    assert tcp(a, b['private_ip'], 8080) == 'connected'

    only_peers = run('security_group', name='web', rules=[
        {'protocol': 'tcp', 'port': '9090', 'remote_group': 'web'},
        {'protocol': 'tcp', 'port': '8080', 'remote_cidr': '192.0.2.0/24'}])
    assert only_peers['changed']
    assert tcp(a, b['private_ip'], 9090) == 'connected'
    assert tcp(a, b['private_ip'], 8080) == 'timeout'
    assert not ping(a, b['private_ip'])

    no_egress = run('security_group', name='web', purge_rules=False, rules=[
        {'protocol': 'icmp', 'direction': 'egress'}])
    assert no_egress['changed']
    assert tcp(a, b['private_ip'], 9090) == 'timeout', 'egress rules did not restrict egress'
    run('security_group', name='web', purge_rules=False, rules=[
        {'protocol': 'tcp', 'port': '9090', 'direction': 'egress', 'remote_group': 'web'}])
    assert tcp(a, b['private_ip'], 9090) == 'connected'


def ping(server, address):
    return subprocess.run(['ip', 'netns', 'exec', server['connection']['netns'], 'ping', '-c', '1', '-W', '1',
                           address], capture_output=True, check=False).returncode == 0
