"""server on the lab: check -> apply -> rerun -> delete -> delete again, with effects seen in the kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import normalize_rules
from lab_helpers import LAB, lab_namespaces, lab_provider

VM_PREFIX = 'cloudops-%s-vm-' % LAB


@pytest.fixture
def net(run, lab_clean):
    """A network 'net' with subnet 10.91.0.0/24, the place most servers here live."""
    run('network', name='net')
    run('subnet', name='net', network='net', cidr='10.91.0.0/24')
    return 'net'


def nsenter(pid, *argv, flags=('-n', '-u', '-p', '-m')):
    return subprocess.run(['nsenter', '-t', str(pid)] + list(flags) + ['--'] + list(argv),
                          capture_output=True, text=True, timeout=10, check=False)


def hostname(server):
    return nsenter(server['connection']['pid'], 'hostname', flags=('-u',)).stdout.strip()


def eth0(server):
    out = subprocess.run(['ip', '-n', server['connection']['netns'], '-o', '-4', 'addr', 'show', 'dev', 'eth0'],
                         capture_output=True, text=True, check=True).stdout
    return out.split()[3].split('/')[0]


def link_up(server, name='eth0'):
    out = subprocess.run(['ip', '-n', server['connection']['netns'], '-o', 'link', 'show', 'dev', name],
                         capture_output=True, text=True, check=True).stdout
    return ',UP' in out.split('<')[1].split('>')[0] or '<UP' in out


def pings(server, address):
    return nsenter(server['connection']['pid'], 'ping', '-c1', '-W2', address, flags=('-n',)).returncode == 0


def processes_in(netns):
    """Command lines of every process in the named network namespace."""
    st = os.stat('/run/netns/' + netns)
    found = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            ns = os.stat('/proc/%s/ns/net' % entry)
            if (ns.st_dev, ns.st_ino) == (st.st_dev, st.st_ino):
                with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                    found.append(handle.read().replace(b'\0', b' ').decode().strip())
        except OSError:
            continue
    return found


def wait_for(predicate, seconds=5):
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def vm_namespaces():
    return lab_namespaces(VM_PREFIX)


def test_server_lifecycle(run, net):
    args = {'name': 'a', 'networks': ['net'], 'labels': {'run-id': 't-srv'}}
    checked = run('server', check=True, **args)
    assert checked['changed'] and checked['diff']['before'] == {}
    assert checked['server']['name'] == 'a' and checked['server']['private_ip'] == '10.91.0.2'
    assert checked['servers'] == [checked['server']]
    assert vm_namespaces() == [], 'check mode made a namespace'

    created = run('server', **args)
    server = created['server']
    assert created['changed'] and server['status'] == 'ACTIVE'
    assert set(created['diff']['after']) == {'a'}
    assert hostname(server) == 'a'
    assert eth0(server) == server['private_ip'] == '10.91.0.2'
    assert server['connection']['netns'] in vm_namespaces()

    rerun = run('server', **args)
    assert rerun['changed'] is False and rerun['server']['id'] == server['id']
    assert rerun['server']['connection']['pid'] == server['connection']['pid']

    other = run('server', name='b', networks=[{'name': 'net', 'fixed_ip': '10.91.0.50'}])['server']
    assert eth0(other) == '10.91.0.50' and hostname(other) == 'b'
    assert pings(server, '10.91.0.50') and pings(other, '10.91.0.2')

    assert run('server', name='a', state='absent', check=True)['changed']
    assert server['connection']['netns'] in vm_namespaces(), 'check mode deleted'
    deleted = run('server', name='a', state='absent')
    assert deleted['changed'] and deleted['servers'] == [] and deleted['server'] is None
    assert deleted['diff']['before']['a']['id'] == server['id']
    assert server['connection']['netns'] not in vm_namespaces()
    assert run('server', name='a', state='absent')['changed'] is False


def test_count_creates_and_deletes_a_batch(run, net):
    args = {'name': 'web', 'count': 5, 'networks': ['net']}
    assert run('server', check=True, **args)['changed'] and vm_namespaces() == []
    created = run('server', **args)
    names = [s['name'] for s in created['servers']]
    assert created['changed'] and names == ['web-%d' % i for i in range(1, 6)]
    assert len(vm_namespaces()) == 5
    assert [hostname(s) for s in created['servers']] == names
    addresses = [s['private_ip'] for s in created['servers']]
    assert len(set(addresses)) == 5 and [eth0(s) for s in created['servers']] == addresses
    assert pings(created['servers'][0], addresses[-1])

    assert run('server', **args)['changed'] is False
    deleted = run('server', name='web', count=5, state='absent')
    assert deleted['changed'] and sorted(deleted['diff']['before']) == names
    assert vm_namespaces() == []
    assert run('server', name='web', count=5, state='absent')['changed'] is False


def test_stop_start_reboot(run, net):
    server = run('server', name='vm', networks=['net'])['server']
    pid, netns = server['connection']['pid'], server['connection']['netns']
    job = subprocess.Popen(['nsenter', '-t', str(pid), '-n', '-u', '-p', '-m', '--', 'sleep', '1000'])
    try:
        assert wait_for(lambda: 'sleep 1000' in processes_in(netns))

        checked = run('server', name='vm', state='stopped', check=True)
        assert checked['changed'] and checked['server']['status'] == 'SHUTOFF'
        still = run('server_info', name='vm')['servers'][0]
        assert still['status'] == 'ACTIVE' and still['connection']['pid'] == pid, 'check mode stopped it'
        assert 'sleep 1000' in processes_in(netns)

        stopped = run('server', name='vm', state='stopped')
        assert stopped['changed'] and stopped['server']['status'] == 'SHUTOFF'
        assert stopped['server']['connection']['pid'] is None
        assert 'sleep 1000' not in processes_in(netns) and processes_in(netns) == []
        assert not link_up(server)
        assert run('server', name='vm', state='stopped')['changed'] is False
        assert run('server', name='vm')['changed'] is False, 'present started a stopped server'
    finally:
        job.kill()
        job.wait()

    started = run('server', name='vm', state='started')['server']
    assert started['status'] == 'ACTIVE' and started['connection']['pid'] not in (None, pid)
    assert hostname(started) == 'vm' and link_up(started)
    assert run('server', name='vm', state='started')['changed'] is False

    rebooted = run('server', name='vm', state='rebooted')
    assert rebooted['changed'] and rebooted['server']['status'] == 'ACTIVE'
    assert rebooted['server']['connection']['pid'] not in (None, started['connection']['pid'])
    assert hostname(rebooted['server']) == 'vm'
    assert run('server', name='vm', state='rebooted')['changed'], 'a reboot always changes'


def test_stopped_creates_then_stops(run, net):
    created = run('server', name='cold', networks=['net'], state='stopped')
    assert created['changed'] and created['server']['status'] == 'SHUTOFF'
    assert created['server']['connection']['netns'] in vm_namespaces()
    assert run('server', name='cold', networks=['net'], state='stopped')['changed'] is False


def test_user_data_runs_once_at_first_boot(run, net, tmp_path):
    script = 'hostname >> %s/first-boot-$(hostname)' % tmp_path
    args = {'name': 'ud', 'networks': ['net'], 'user_data': script}
    run('server', check=True, **args)
    time.sleep(0.3)
    assert list(tmp_path.iterdir()) == [], 'check mode ran user_data'
    run('server', **args)
    marker = tmp_path / 'first-boot-ud'
    assert wait_for(marker.exists)
    assert wait_for(lambda: marker.read_text() == 'ud\n')
    run('server', name='ud', state='rebooted')
    run('server', name='ud', user_data=script)
    time.sleep(0.3)
    assert marker.read_text() == 'ud\n', 'user_data ran again'


def test_security_groups_change_in_place(run, net):
    provider = lab_provider()
    provider.create('security_group', 'icmp', {'rules': normalize_rules([{'protocol': 'icmp'}])})
    provider.create('security_group', 'closed', {'rules': []})
    peer = run('server', name='peer', networks=['net'])['server']
    created = run('server', name='guarded', networks=['net'], security_groups=['icmp'])
    server = created['server']
    assert server['security_groups'] == ['icmp'] and pings(peer, server['private_ip'])

    checked = run('server', name='guarded', security_groups=['closed'], check=True)
    assert checked['changed'] and checked['server']['security_groups'] == ['closed']
    assert pings(peer, server['private_ip']), 'check mode changed the rules'

    changed = run('server', name='guarded', security_groups=['closed'])
    assert changed['changed'] and changed['server']['security_groups'] == ['closed']
    assert changed['diff']['before']['guarded']['security_groups'] == ['icmp']
    assert changed['server']['id'] == server['id']
    assert not pings(peer, server['private_ip'])
    assert run('server', name='guarded', security_groups=['closed'])['changed'] is False
    assert run('server', name='guarded', security_groups=['closed', 'icmp'])['changed']
    assert pings(peer, server['private_ip'])


def test_floating_ip_is_associated_and_released(run, net):
    run('router', name='edge', interfaces=['net'], external_network='external')
    args = {'name': 'pub', 'networks': ['net'], 'floating_ip': True, 'labels': {'run-id': 't-fip'}}
    checked = run('server', check=True, **args)
    assert checked['changed'] and vm_namespaces() == []
    created = run('server', **args)
    server = created['server']
    assert created['changed'] and server['public_ip']
    outside = 'cloudops-%s-outside' % LAB
    assert subprocess.run(['ip', 'netns', 'exec', outside, 'ping', '-c1', '-W2', server['public_ip']],
                          capture_output=True, check=False).returncode == 0
    assert run('server', **args)['changed'] is False
    labelled = run('cloud_info', labels={'run-id': 't-fip'})['resources']
    assert {'kind': 'floating_ip', 'id': labelled[0]['id'], 'name': server['public_ip']} in labelled

    deleted = run('server', name='pub', floating_ip=True, state='absent', labels={'run-id': 't-fip'})
    assert deleted['changed']
    assert run('cloud_info', labels={'run-id': 't-fip'})['resources'] == []


def test_floating_ip_without_a_router_changes_nothing(run, net):
    for check in (True, False):
        failed = run('server', check=check, name='nowhere', networks=['net'], floating_ip=True)
        assert failed['failed'] and failed['msg'].startswith('server: ') and '\n' not in failed['msg']
        assert run('server_info', name='nowhere')['servers'] == [] and vm_namespaces() == []


def test_fixed_properties_are_refused_in_place(run, net):
    run('server', name='fixed', networks=['net'])
    for args, field in (({'image': 'cirros'}, 'image: '), ({'size': 'lab.large'}, 'size: '),
                        ({'networks': ['other']}, 'networks: ')):
        failed = run('server', name='fixed', **args)
        assert failed['failed'] and failed['msg'].startswith(field) and '\n' not in failed['msg']
    assert run('server', name='fixed', networks=['net'], image='lab-host')['changed'] is False


@pytest.mark.parametrize('args, message', [
    ({'name': 'x', 'networks': ['nowhere']}, "networks[0].name: network 'nowhere' does not exist"),
    ({'name': 'x', 'networks': ['net'], 'image': 'windows'}, "image: 'windows' is not in the lab catalog"),
    ({'name': 'x', 'networks': ['net'], 'size': 'huge'}, "size: 'huge' is not in the lab catalog"),
    ({'name': 'x' * 64, 'networks': ['net']}, 'name: '),
    ({'name': 'x', 'names': ['y'], 'networks': ['net']}, 'parameters are mutually exclusive: name|names'),
    ({'name': 'x', 'count': 0, 'networks': ['net']}, 'count: must be at least 1'),
    ({'name': 'x', 'networks': [{'subnet': 'net'}]}, 'networks[0].name: '),
    ({'name': 'x', 'networks': ['net'], 'security_groups': ['nope']}, "security_groups[0]: security group 'nope'"),
    ({'names': ['ok', 'x'], 'networks': ['net', {'name': 'net', 'fixed_ip': '10.91.0.1'}]}, 'networks[1].fixed_ip: '),
])
def test_bad_input_changes_nothing(run, net, args, message):
    for check in (True, False):
        failed = run('server', check=check, **args)
        assert failed.get('failed'), failed
        assert failed['msg'].startswith(message) and '\n' not in failed['msg'], failed['msg']
        assert 'Traceback' not in str(failed.get('exception', ''))
        assert run('server_info')['servers'] == []
        assert vm_namespaces() == []


def test_without_root_is_refused_and_makes_nothing(run, net, clouds_file):
    env = dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    argv = ['setpriv', '--bounding-set=-net_admin,-sys_admin',
            os.path.join(os.path.dirname(sys.executable), 'ansible'), 'localhost',
            '-m', 'cloudops.multicloud.server',
            '-a', 'cloud=%s clouds_file=%s name=noroot networks=net' % (LAB, clouds_file),
            '-e', 'ansible_python_interpreter=%s' % sys.executable]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode != 0
    assert '"msg": "the local lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)' in proc.stdout, proc.stdout
    assert 'Traceback' not in proc.stdout
    assert vm_namespaces() == []
    assert run('server_info', name='noroot')['servers'] == []
