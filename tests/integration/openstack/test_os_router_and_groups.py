"""router and security_group on OpenStack (neutron); the openstack CLI confirms."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures('os_clean')


def router_subnets(osc, router_id):
    ports = osc('port', 'list', '--router', router_id, '--device-owner', 'network:router_interface', '--long')
    return sorted(ip['subnet_id'] for port in ports for ip in port['Fixed IP Addresses'])


def test_router_lifecycle(run, osc):
    run('network', name='front')
    run('network', name='back')
    front = run('subnet', name='front-s', network='front', cidr='10.1.1.0/24')['subnet']
    back = run('subnet', name='back-s', network='back', cidr='10.1.2.0/24')['subnet']
    args = {'name': 'edge', 'interfaces': ['front-s'], 'external_network': 'external', 'labels': {'run-id': 't-rt'}}
    checked = run('router', check=True, **args)
    assert checked['changed'] and checked['router']['interfaces'] == ['front-s']
    assert osc('router', 'list', '--name', 'edge') == []

    created = run('router', **args)
    router = created['router']
    assert created['changed'] and router['external_network'] == 'external' and router['external_address']
    shown = osc('router', 'show', router['id'])
    assert shown['external_gateway_info']['network_id'] == osc('network', 'show', 'public')['id']
    assert router_subnets(osc, router['id']) == [front['id']]
    assert run('router', **args)['changed'] is False

    grown = run('router', name='edge', interfaces=['front-s', 'back-s'], labels={'run-id': 't-rt'})
    assert grown['changed'] and grown['router']['interfaces'] == ['back-s', 'front-s']
    assert router_subnets(osc, router['id']) == sorted([front['id'], back['id']])
    shrunk = run('router', name='edge', interfaces=['back-s'], external_network='', labels={'run-id': 't-rt'})
    assert shrunk['changed'] and shrunk['router']['interfaces'] == ['back-s'] and shrunk['router']['external_network'] is None
    assert not osc('router', 'show', router['id'])['external_gateway_info']
    assert run('router', name='edge', interfaces=['back-s'], external_network='', labels={'run-id': 't-rt'})['changed'] is False

    taken = run('router', name='edge-2', interfaces=['back-s'])
    assert taken['failed'] and taken['msg'] == "interfaces[0]: subnet 'back-s' is already attached to router 'edge'"
    unknown = run('router', name='edge-2', external_network='nowhere')
    assert unknown['failed'] and unknown['msg'].startswith("external_network: network 'nowhere' does not exist")
    assert osc('router', 'list', '--name', 'edge-2') == []

    assert run('router', name='edge', state='absent')['changed']
    assert osc('router', 'list', '--name', 'edge') == []
    assert run('router', name='edge', state='absent')['changed'] is False


def group_rules(osc, group_id):
    return sorted((r['Direction'], r['IP Protocol'], r['Port Range'], r['IP Range'], r['Ethertype'])
                  for r in osc('security', 'group', 'rule', 'list', group_id, '--long'))


def test_security_group_rules_purge_and_egress(run, osc):
    rules = [{'protocol': 'tcp', 'port': 22, 'remote_cidr': '10.0.0.0/8'}, {'protocol': 'icmp'},
             {'protocol': 'tcp', 'port': '8000-8100', 'remote_group': 'web'}]
    args = {'name': 'web', 'description': 'web tier', 'rules': rules, 'labels': {'run-id': 't-sg'}}
    checked = run('security_group', check=True, **args)
    assert checked['changed'] and len(checked['security_group']['rules']) == 3
    assert osc('security', 'group', 'list', '--project', 'demo') == [] or \
        'web' not in [g['Name'] for g in osc('security', 'group', 'list')]

    created = run('security_group', **args)
    group = created['security_group']
    assert created['changed'] and group['description'] == 'web tier' and group['labels'] == {'run-id': 't-sg'}
    assert sorted(r['protocol'] for r in group['rules']) == ['icmp', 'tcp', 'tcp']
    seen = group_rules(osc, group['id'])
    assert ('ingress', 'tcp', '22:22', '10.0.0.0/8', 'IPv4') in seen
    assert ('egress', None, '', '0.0.0.0/0', 'IPv4') in seen or ('egress', 'any', '', '0.0.0.0/0', 'IPv4') in seen
    assert run('security_group', **args)['changed'] is False

    added = run('security_group', name='web', rules=[{'protocol': 'udp', 'port': 53}], purge_rules=False,
                labels={'run-id': 't-sg'})
    assert added['changed'] and len(added['security_group']['rules']) == 4

    egress = run('security_group', name='web', rules=[{'direction': 'egress', 'protocol': 'tcp', 'port': 443}],
                 labels={'run-id': 't-sg'})
    assert egress['changed'] and egress['security_group']['rules'] == [
        {'direction': 'egress', 'protocol': 'tcp', 'port_min': 443, 'port_max': 443, 'remote_cidr': '0.0.0.0/0',
         'remote_group': None}]
    assert [r[:3] for r in group_rules(osc, group['id'])] == [('egress', 'tcp', '443:443')], \
        'an egress rule replaces neutron\'s allow-all egress, IPv6 included'

    opened = run('security_group', name='web', rules=[], labels={'run-id': 't-sg'})
    assert opened['changed'] and opened['security_group']['rules'] == []
    assert sorted(r[4] for r in group_rules(osc, group['id'])) == ['IPv4', 'IPv6'], 'allow-all egress is back'
    assert run('security_group', name='web', rules=[], labels={'run-id': 't-sg'})['changed'] is False

    unknown = run('security_group', name='db', rules=[{'protocol': 'tcp', 'port': 5432, 'remote_group': 'nowhere'}])
    assert unknown['failed'] and unknown['msg'] == \
        "rules[0].remote_group: security group 'nowhere' does not exist on cloud openstack-local"

    assert run('security_group', name='web', state='absent')['changed']
    assert 'web' not in [g['Name'] for g in osc('security', 'group', 'list')]
    assert run('security_group', name='web', state='absent')['changed'] is False
