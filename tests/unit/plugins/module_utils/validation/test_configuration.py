from __future__ import annotations

import copy

from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import normalize_rule
from ansible_collections.cloudops.multicloud.plugins.module_utils.validation.configuration import Configuration

# The default topology as the lab lists it once provisioned, with the run's SSH group on db.
RECORDS = {
    'network': [{'name': 'front', 'mtu': 1500}, {'name': 'back', 'mtu': 1400}],
    'subnet': [{'name': 'front', 'network': 'front'}, {'name': 'back', 'network': 'back'}],
    'router': [{'name': 'edge', 'interfaces': ['back', 'front'], 'external_network': 'external'}],
    'security_group': [
        {'name': 'db', 'rules': [normalize_rule({'protocol': 'tcp', 'port': '5432', 'remote_cidr': '10.10.1.0/24'}),
                                 normalize_rule({'protocol': 'icmp'})]},
        {'name': 'r1-ssh', 'rules': [normalize_rule({'protocol': 'tcp', 'port': '22', 'remote_cidr': '198.18.0.1/32'})]},
    ],
    'server': [
        {'name': 'web', 'id': 'w1', 'networks': [{'network': 'front', 'subnet': 'front', 'address': '10.10.1.2'}],
         'security_groups': []},
        {'name': 'cache', 'id': 'c1', 'networks': [{'network': 'front', 'subnet': 'front', 'address': '10.10.1.3'}],
         'security_groups': []},
        {'name': 'db', 'id': 'd1', 'networks': [{'network': 'back', 'subnet': 'back', 'address': '10.10.2.2'}],
         'security_groups': ['db', 'r1-ssh']},
    ],
    'floating_ip': [{'address': '198.18.0.3', 'server': 'web', 'fixed_address': '10.10.1.2'}],
}


def configuration(change=None, **options):
    records = copy.deepcopy(RECORDS)
    if change:
        change(records)
    return Configuration(records, outside_address='198.18.0.1', **options)


def test_a_declared_flow_is_allowed_and_says_by_which_rule():
    finding = configuration().flow('web', 'db', 'tcp', 5432)
    assert finding.verdict == 'allow'
    assert 'router edge joins front and back' in finding.evidence
    assert 'security group db of db admits ingress tcp/5432 from web (10.10.1.2) by rule tcp/5432 from 10.10.1.0/24' \
        in finding.evidence


def test_a_missing_rule_names_the_groups_and_what_they_hold():
    finding = configuration().flow('web', 'db', 'tcp', 22)
    assert finding.verdict == 'deny'
    assert finding.evidence[-1] == ('no security group of db admits ingress tcp/22 from web (10.10.1.2) '
                                    '(db: tcp/5432 from 10.10.1.0/24, icmp from 0.0.0.0/0; r1-ssh: tcp/22 from 198.18.0.1/32)')


def test_a_router_without_the_interface_cuts_the_networks_apart():
    def drop_back(records):
        records['router'][0]['interfaces'] = ['front']
    finding = configuration(drop_back).flow('web', 'db', 'icmp')
    assert finding.verdict == 'deny'
    assert finding.evidence == ['no router joins web (front) and db (back): routers edge on front']


def test_a_floating_ip_on_another_server():
    def move(records):
        records['floating_ip'][0].update(server='cache', fixed_address='10.10.1.3')
    finding = configuration(move).flow('outside', 'web', 'icmp')
    assert finding.verdict == 'deny'
    assert finding.evidence == ['web has no floating IP; its floating IPs are with cache (198.18.0.3)']
    allowed = configuration().flow('outside', 'web', 'icmp')
    assert allowed.verdict == 'allow' and allowed.path_mtu == 1500
    assert 'floating IP 198.18.0.3 is associated with web (10.10.1.2)' in allowed.evidence


def test_outside_needs_an_external_gateway_and_an_admitting_rule():
    def no_gateway(records):
        records['router'][0]['external_network'] = None
    assert configuration(no_gateway).flow('outside', 'web', 'icmp').verdict == 'deny'

    # db's groups admit tcp/22 from the outside vantage, and nothing else from it.
    def with_fip(records):
        records['floating_ip'].append({'address': '198.18.0.4', 'server': 'db', 'fixed_address': '10.10.2.2'})
    assert configuration(with_fip).flow('outside', 'db', 'tcp', 22).verdict == 'allow'
    assert configuration(with_fip).flow('outside', 'db', 'tcp', 5432).verdict == 'deny'


def test_path_mtu_is_the_smallest_hop():
    assert configuration().flow('web', 'db', 'icmp').path_mtu == 1400
    assert 'path MTU 1400: front (1500) -> back (1400)' in configuration().flow('web', 'db', 'icmp').evidence
    assert configuration().flow('web', 'cache', 'icmp').path_mtu == 1500


def test_remote_groups_and_groupless_servers():
    def by_group(records):
        records['security_group'].append({'name': 'web', 'rules': []})
        records['server'][0]['security_groups'] = ['web']
        records['security_group'][0]['rules'] = [normalize_rule({'protocol': 'tcp', 'port': '5432',
                                                                 'remote_group': 'web'})]
    assert configuration(by_group).flow('web', 'db', 'tcp', 5432).verdict == 'allow'
    assert configuration(by_group).flow('cache', 'db', 'tcp', 5432).verdict == 'deny'
    assert configuration().flow('db', 'web', 'tcp', 80).verdict == 'allow'
    closed = configuration(groupless_open=False).flow('db', 'web', 'tcp', 80)
    assert closed.verdict == 'deny' and 'web has no security group, and groupless servers are closed here' \
        in closed.evidence


def test_an_egress_rule_restricts_the_sender():
    def egress_only_dns(records):
        records['security_group'][0]['rules'].append(normalize_rule({'protocol': 'udp', 'port': '53',
                                                                     'direction': 'egress'}))
    finding = configuration(egress_only_dns).flow('db', 'web', 'tcp', 80)
    assert finding.verdict == 'deny'
    assert finding.evidence[-1].startswith('no security group of db admits egress tcp/80 to web (10.10.1.2)')


def test_servers_that_do_not_exist():
    assert configuration().flow('web', 'ghost', 'icmp').evidence == ['ghost does not exist on the cloud']
    assert configuration().flow('ghost', 'web', 'icmp').verdict == 'deny'
