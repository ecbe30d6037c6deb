"""probe inside lab VMs: real outcomes across a router and a security group, responders, path MTU.

The topology is built with the collection's modules; the probes run inside the VMs through the
netns connection, as the validate role runs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from lab_helpers import LAB, purge_lab

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
CONNECTION = 'cloudops.multicloud.netns'
NO_ROUTE = '203.0.113.1'  # TEST-NET-3: the router has no default route to it
NO_HOST = '10.81.1.99'  # on the front subnet, but nobody has it

TOPOLOGY = r'''
- hosts: localhost
  gather_facts: false
  module_defaults:
    group/cloudops.multicloud.clouds: {cloud: "{{ lab }}", clouds_file: "{{ clouds_file }}"}
  tasks:
    - {name: front network, cloudops.multicloud.network: {name: front}}
    - {name: back network, cloudops.multicloud.network: {name: back, mtu: 1400}}
    - {name: front subnet, cloudops.multicloud.subnet: {name: front, network: front, cidr: 10.81.1.0/24}}
    - {name: back subnet, cloudops.multicloud.subnet: {name: back, network: back, cidr: 10.81.2.0/24}}
    - {name: router, cloudops.multicloud.router: {name: edge, interfaces: [front, back]}}
    - name: database group
      cloudops.multicloud.security_group:
        name: db
        rules:
          - {protocol: tcp, port: 5432, remote_cidr: 10.81.1.0/24}
          - {protocol: icmp, remote_cidr: 10.81.1.0/24}
    - {name: front servers, cloudops.multicloud.server: {names: [web, web2], networks: [front]}, register: front}
    - {name: database, cloudops.multicloud.server: {name: db, networks: [back], security_groups: [db]}, register: db}
    - {name: an open server, cloudops.multicloud.server: {name: app, networks: [back]}, register: app}
    - name: report
      ansible.builtin.copy:
        dest: "{{ workdir }}/servers.json"
        mode: "0600"
        content: "{{ (front.servers + [db.server, app.server]) | to_json }}"
'''


def ansible_playbook(workdir, playbook, inventory, extra_vars):
    (workdir / 'playbook.yml').write_text(playbook)
    (workdir / 'inventory.ini').write_text(inventory)
    command = [ANSIBLE_PLAYBOOK, '-i', str(workdir / 'inventory.ini'), '-e', json.dumps(dict(extra_vars, workdir=str(workdir))),
               str(workdir / 'playbook.yml')]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, cwd=str(workdir),
                          env=dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='false', ANSIBLE_RETRY_FILES_ENABLED='false',
                                   ANSIBLE_NOCOLOR='1'))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc


def build_lab(workdir, clouds_file, topology=TOPOLOGY):
    """Run a topology playbook on localhost; {name: server record}."""
    workdir.mkdir(exist_ok=True)
    ansible_playbook(workdir, topology, 'localhost ansible_connection=local\n',
                     {'lab': LAB, 'clouds_file': clouds_file})
    return {s['name']: s for s in json.loads((workdir / 'servers.json').read_text())}


def vm_inventory(servers):
    lines = ['[vms]'] + ['%s ansible_host=%s ansible_connection=%s ansible_python_interpreter=%s'
                         % (name, s['connection']['netns'], CONNECTION, sys.executable)
                         for name, s in sorted(servers.items())]
    return '\n'.join(lines) + '\n'


def run_in_vms(workdir, servers, playbook, **extra_vars):
    """Run ``playbook`` on the VMs; its last play saves every host's ``found`` with SAVE. -> {host: found}."""
    workdir.mkdir(exist_ok=True)
    ansible_playbook(workdir, playbook, vm_inventory(servers), extra_vars)
    return json.loads((workdir / 'found.json').read_text())


SAVE = r'''
    - name: save what every host of the play found
      run_once: true
      delegate_to: localhost
      ansible.builtin.copy:
        dest: "{{ workdir }}/found.json"
        mode: "0600"
        content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars, 'found'))) | to_json }}"
'''


def vm_processes(server, marker):
    """(pid inside the VM, command line) of the live processes in a VM's namespace whose command line has ``marker``."""
    netns = os.stat('/run/netns/' + server['connection']['netns'])
    found = []
    for entry in filter(str.isdigit, os.listdir('/proc')):
        try:
            ns = os.stat('/proc/%s/ns/net' % entry)
            if (ns.st_dev, ns.st_ino) != (netns.st_dev, netns.st_ino):
                continue
            with open('/proc/%s/cmdline' % entry, 'rb') as handle:
                argv = handle.read().decode().split('\0')
            with open('/proc/%s/status' % entry) as handle:
                status = dict(line.split(':', 1) for line in handle if ':' in line)
        except OSError:
            continue
        if marker in argv and not status['State'].strip().startswith('Z'):
            found.append((int(status['NSpid'].split()[-1]), ' '.join(argv)))
    return found


@pytest.fixture(scope='module')
def lab(clouds_file, tmp_path_factory):
    purge_lab(LAB)
    try:
        yield build_lab(tmp_path_factory.mktemp('probe-lab'), clouds_file)
    finally:
        purge_lab(LAB)


def ip_of(lab, name):
    return lab[name]['private_ip']


def by_name(results):
    return {(r['name'], r['proto'], r['port']): r for r in results}


PORTS = [{'proto': 'tcp', 'port': 5432}, {'proto': 'tcp', 'port': 5433}, {'proto': 'udp', 'port': 5432}]

PLAYBOOK = r"""
- hosts: db
  gather_facts: false
  tasks:
    - name: would start a responder
      cloudops.multicloud.probe: {listen: "{{ ports }}", listen_for: 120}
      check_mode: true
      register: checked
    - name: start it
      cloudops.multicloud.probe: {listen: "{{ ports }}", listen_for: 120}
      register: started
    - name: again
      cloudops.multicloud.probe: {listen: "{{ ports }}", listen_for: 120}
      register: again
    - name: collect
      ansible.builtin.set_fact:
        found: {checked: "{{ checked }}", started: "{{ started }}", again: "{{ again }}"}

- hosts: app
  gather_facts: false
  tasks:
    - name: a responder on one port
      cloudops.multicloud.probe: {listen: [{proto: tcp, port: 7000}], listen_for: 60}
      register: first
    - name: another port set replaces it
      cloudops.multicloud.probe: {listen: [{proto: tcp, port: 7000}, {proto: udp, port: 7000}], listen_for: 60}
      register: second
    - name: a port another program holds
      cloudops.multicloud.probe: {listen: [{proto: udp, port: 7000}, {proto: tcp, port: 7100}]}
      register: taken
      ignore_errors: true
    - name: while the running responder still answers
      cloudops.multicloud.probe:
        targets: [{address: 127.0.0.1, proto: udp, port: 7000}, {address: 127.0.0.1, proto: tcp, port: 7000}]
        count: 1
      register: still
    - name: collect
      ansible.builtin.set_fact:
        found:
          first: "{{ first }}"
          second: "{{ second }}"
          taken: "{{ taken.msg }}"
          still: "{{ still.results | map(attribute='outcome') }}"

- hosts: web
  gather_facts: false
  tasks:
    - name: probe the database, a closed port, a route and a host that do not exist
      cloudops.multicloud.probe:
        targets: "{{ targets }}"
        count: 3
        timeout: 0.5
        path_mtu: true
      register: probed
    - name: collect
      ansible.builtin.set_fact:
        found: {probed: "{{ probed }}"}

- hosts: vms
  gather_facts: false
  tasks:
    - name: the ICMP mesh, from every VM
      cloudops.multicloud.probe:
        targets: "{{ mesh | rejectattr('name', 'eq', inventory_hostname) }}"
        count: 3
        timeout: 0.5
      register: mesh_probed
    - name: collect
      ansible.builtin.set_fact:
        found: "{{ (found | default({})) | combine({'mesh': mesh_probed}) }}"
""" + SAVE


def targets_of(lab):
    db, app, web2 = ip_of(lab, 'db'), ip_of(lab, 'app'), ip_of(lab, 'web2')
    return [
        {'name': 'db', 'address': db, 'proto': 'icmp'},
        {'name': 'db', 'address': db, 'proto': 'tcp', 'port': 5432},  # allowed, and the responder listens
        {'name': 'db', 'address': db, 'proto': 'tcp', 'port': 5433},  # the responder listens; the group drops it
        {'name': 'db', 'address': db, 'proto': 'udp', 'port': 5432},  # the group allows tcp only
        {'name': 'app', 'address': app, 'proto': 'tcp', 'port': 5999},  # no group, nothing listens
        {'name': 'app', 'address': app, 'proto': 'udp', 'port': 5999},
        {'name': 'web2', 'address': web2, 'proto': 'icmp'},
        {'name': 'nowhere', 'address': NO_ROUTE, 'proto': 'icmp'},
        {'name': 'nowhere', 'address': NO_ROUTE, 'proto': 'tcp', 'port': 80},
        {'name': 'nobody', 'address': NO_HOST, 'proto': 'icmp'},
    ]


@pytest.fixture(scope='module')
def observed(lab, tmp_path_factory):
    """One run of PLAYBOOK, with another program holding tcp/7100 in app: {host: found}, and the
    responders running afterwards: {host: [(pid, command line)]}."""
    squatter = subprocess.Popen(
        ['nsenter', '-t', str(lab['app']['connection']['pid']), '-n', '--', sys.executable, '-c',
         'import socket, time; s = socket.socket(); s.bind(("0.0.0.0", 7100)); s.listen(); time.sleep(120)'])
    try:
        mesh = [{'name': name, 'address': ip_of(lab, name)} for name in sorted(lab)]
        found = run_in_vms(tmp_path_factory.mktemp('probe-run'), lab, PLAYBOOK, ports=PORTS, targets=targets_of(lab),
                           mesh=mesh)
        running = {name: vm_processes(lab[name], 'cloudops-multicloud-responder') for name in ('db', 'app')}
    finally:
        squatter.kill()
        squatter.wait()
    return found, running


def test_responder_starts_once(observed):
    found, running = observed
    responder = found['db']
    assert responder['checked']['changed'] and responder['checked']['responder']['pid'] is None
    started = responder['started']['responder']
    assert responder['started']['changed'] and started['listen'] == PORTS
    assert responder['again']['changed'] is False and responder['again']['responder'] == started, \
        'a second identical call must find the same responder, with its own end time'
    assert [pid for pid, _argv in running['db']] == [started['pid']]
    assert 'selectors' not in running['db'][0][1], 'the code stays off the command line, which ps shows'


def test_responder_is_replaced_and_a_port_in_use_is_named(observed):
    found, running = observed
    app = found['app']
    first, second = app['first']['responder'], app['second']['responder']
    assert app['first']['changed'] and app['second']['changed'] and first['pid'] != second['pid']
    assert [pid for pid, _argv in running['app']] == [second['pid']]
    assert app['taken'] == 'listen[1].port: tcp/7100 is already in use in this network namespace'
    assert app['still'] == ['connected', 'connected'], 'a failed replacement must not stop the running responder'


def test_outcomes_seen_from_inside_the_vms(lab, observed):
    found, _running = observed
    probed = found['web']['probed']
    assert probed['changed'] is False
    results = by_name(probed['results'])
    assert [r['name'] for r in probed['results']] == [t['name'] for t in targets_of(lab)]
    outcomes = {key: r['outcome'] for key, r in results.items()}
    assert outcomes == {
        ('db', 'icmp', None): 'connected',
        ('db', 'tcp', 5432): 'connected',
        ('db', 'tcp', 5433): 'timeout',
        ('db', 'udp', 5432): 'timeout',
        ('app', 'tcp', 5999): 'refused',
        ('app', 'udp', 5999): 'refused',
        ('web2', 'icmp', None): 'connected',
        ('nowhere', 'icmp', None): 'unreachable',
        ('nowhere', 'tcp', 80): 'unreachable',
        # ARP gives up after 3 s, well after the probe's 0.5 s: no "Destination Host Unreachable" yet.
        ('nobody', 'icmp', None): 'timeout',
    }, json.dumps(probed['results'], indent=1)

    connected = results[('db', 'tcp', 5432)]
    assert connected['sent'] == connected['received'] == 3 and len(connected['rtt_ms']) == 3
    assert connected['stats']['count'] == 3 and 0 < connected['stats']['max'] < 100
    assert results[('db', 'icmp', None)]['stats']['p50'] < 10
    assert 'Destination Net Unreachable' in results[('nowhere', 'icmp', None)]['detail']
    assert results[('nowhere', 'tcp', 80)]['detail'].startswith('Network is unreachable')
    assert results[('nowhere', 'tcp', 80)]['sent'] == 1, 'an ICMP unreachable ends the attempts'
    assert results[('app', 'tcp', 5999)]['detail'] == 'Connection refused'
    assert results[('db', 'tcp', 5433)]['seconds'] >= 1.5  # 3 attempts of 0.5 s

    # Path MTU: front to front is the bridge's 1500; across the router into back, back's 1400.
    assert results[('web2', 'icmp', None)]['path_mtu'] == 1500
    assert results[('db', 'icmp', None)]['path_mtu'] == 1400
    assert results[('nowhere', 'icmp', None)]['path_mtu'] is None


def test_icmp_mesh_follows_the_security_group(lab, observed):
    found, _running = observed
    # The database answers only the front network, as its group says.
    for source in sorted(lab):
        mesh_results = {r['name']: r for r in found[source]['mesh']['results']}
        assert sorted(mesh_results) == sorted(set(lab) - {source})
        for target, result in mesh_results.items():
            blocked = target == 'db' and source == 'app'
            assert result['outcome'] == ('timeout' if blocked else 'connected'), (source, target, result)


PMTU_PLAYBOOK = r'''
- hosts: web, web2
  gather_facts: false
  tasks:
    - name: path MTU to every other VM
      cloudops.multicloud.probe:
        targets: "{{ targets | rejectattr('name', 'eq', inventory_hostname) }}"
        count: 1
        timeout: 0.3
        path_mtu: true
      register: probed
    - name: collect
      ansible.builtin.set_fact:
        found: "{{ probed }}"
''' + SAVE


def test_path_mtu_lowered_behind_the_collections_back(lab, tmp_path):
    netns = lab['web2']['connection']['netns']
    subprocess.run(['ip', '-n', netns, 'link', 'set', 'dev', 'eth0', 'mtu', '1400'], check=True)
    try:
        targets = [{'name': name, 'address': ip_of(lab, name)} for name in ('web', 'web2', 'db', 'app')]
        found = run_in_vms(tmp_path, lab, PMTU_PLAYBOOK, targets=targets)
    finally:
        subprocess.run(['ip', '-n', netns, 'link', 'set', 'dev', 'eth0', 'mtu', '1500'], check=True)
    from_web = {r['name']: r for r in found['web']['results']}
    from_web2 = {r['name']: r for r in found['web2']['results']}
    # From web2, its own smaller MTU: ping is told "message too long, mtu=1400" at once.
    assert {name: r['path_mtu'] for name, r in from_web2.items()} == {'web': 1400, 'db': 1400, 'app': 1400}
    # Towards web2, the bridge and web2's veth drop larger packets without a word, so the search
    # bisects on timeouts. A veth takes 4 bytes beyond its MTU (room for a VLAN tag), which the
    # search sees: packets of 1404 bytes still reach web2 (and its reply comes back fragmented).
    assert from_web['web2']['path_mtu'] == 1404
    assert from_web['web2']['seconds'] < 5, from_web['web2']
    # db and app are behind the router, which answers "Frag needed (mtu = 1400)": found at once.
    assert from_web['db']['path_mtu'] == from_web['app']['path_mtu'] == 1400
    assert from_web['db']['seconds'] < 1


IDENTITY_PORTS = [{'proto': 'tcp', 'port': 7300}, {'proto': 'udp', 'port': 7300}]

IDENTITY_PLAYBOOK = r'''
- hosts: web2
  gather_facts: false
  tasks:
    - name: a responder that names its server
      cloudops.multicloud.probe: {listen: "{{ ports }}", identity: {name: web2, id: "{{ ids.web2 }}"}, listen_for: 120}
      register: named
    - name: the same ports and identity again
      cloudops.multicloud.probe: {listen: "{{ ports }}", identity: {name: web2, id: "{{ ids.web2 }}"}, listen_for: 120}
      register: same
    - name: collect
      ansible.builtin.set_fact:
        found: {named: "{{ named }}", same: "{{ same }}"}

- hosts: app
  gather_facts: false
  tasks:
    - name: a responder without identity
      cloudops.multicloud.probe: {listen: "{{ ports }}", listen_for: 120}
      register: anonymous
    - name: the same ports with an identity replace it
      cloudops.multicloud.probe: {listen: "{{ ports }}", identity: {name: app, id: "{{ ids.app }}"}, listen_for: 120}
      register: renamed
    - name: collect
      ansible.builtin.set_fact:
        found: {anonymous: "{{ anonymous }}", renamed: "{{ renamed }}"}

- hosts: web
  gather_facts: false
  tasks:
    - name: probe both, expecting the server that answers and the other one
      cloudops.multicloud.probe:
        targets: "{{ targets }}"
        count: 2
        timeout: 0.5
      register: probed
    - name: collect
      ansible.builtin.set_fact:
        found: {probed: "{{ probed }}"}

- hosts: web, web2, app
  gather_facts: false
  tasks:
''' + SAVE


def test_responders_say_which_server_answered(lab, tmp_path):
    ids = {name: lab[name]['id'] for name in ('web2', 'app')}
    targets = [{'name': '%s %s expects %s' % (dst, proto, expect), 'address': ip_of(lab, dst), 'proto': proto, 'port': 7300,
                'expect': expect}
               for dst in ('web2', 'app') for proto in ('tcp', 'udp') for expect in ('web2', 'app')]
    found = run_in_vms(tmp_path, lab, IDENTITY_PLAYBOOK, ports=IDENTITY_PORTS, ids=ids, targets=targets)

    named, same = found['web2']['named'], found['web2']['same']
    assert named['changed'] and named['responder']['identity'] == {'name': 'web2', 'id': ids['web2']}
    assert same['changed'] is False and same['responder'] == named['responder'], 'same ports and identity: unchanged'
    anonymous, renamed = found['app']['anonymous'], found['app']['renamed']
    assert anonymous['responder']['identity'] is None
    assert renamed['changed'] and renamed['responder']['pid'] != anonymous['responder']['pid'], 'another identity: restarted'
    [(pid, argv)] = vm_processes(lab['web2'], 'cloudops-multicloud-responder')
    assert pid == named['responder']['pid'] and 'cloudops-multicloud web2 %s' % ids['web2'] in argv

    results = {r['name']: r for r in found['web']['probed']['results']}
    for dst in ('web2', 'app'):
        for proto in ('tcp', 'udp'):
            for expect in ('web2', 'app'):
                result = results['%s %s expects %s' % (dst, proto, expect)]
                assert result['outcome'] == 'connected', result
                assert result['answered_by'] == {'name': dst, 'id': ids[dst]}, result
                assert result['wrong_server'] is (expect != dst), result
                if expect != dst:
                    assert result['detail'] == 'answered by %s' % dst
                else:
                    assert result['received'] == 2
