from __future__ import annotations

import shutil
import subprocess

import pytest

from ansible_collections.cloudops.multicloud.plugins.module_utils.providers.local.nftables import nat_ruleset, security_ruleset
from ansible_collections.cloudops.multicloud.plugins.module_utils.rules import normalize_rules


def nft_accepts(ruleset):
    """nft's own parser in check mode, in a throwaway network namespace."""
    proc = subprocess.run(['unshare', '--net', 'nft', '-c', '-f', '-'], input=ruleset, text=True,
                          capture_output=True, check=False)
    return proc.returncode == 0, proc.stderr


needs_nft = pytest.mark.skipif(not shutil.which('nft') or not shutil.which('unshare'),
                               reason='nft or unshare missing')


def test_ingress_denied_unless_allowed_egress_open():
    rules = normalize_rules([{'protocol': 'tcp', 'port': 5432, 'remote_cidr': '10.10.1.0/24'},
                             {'protocol': 'icmp'}])
    text = security_ruleset(rules, {})
    assert 'hook input priority filter; policy drop;' in text
    assert 'ip saddr 10.10.1.0/24 tcp dport 5432 accept' in text
    assert 'meta l4proto icmp accept' in text
    assert 'hook output priority filter; policy accept;' in text


def test_egress_rules_close_egress_and_groups_expand_to_members():
    rules = normalize_rules([{'protocol': 'tcp', 'port': '80-81', 'remote_group': 'web'},
                             {'direction': 'egress', 'protocol': 'udp', 'port': 53},
                             {'protocol': 'tcp', 'remote_group': 'empty'}])
    text = security_ruleset(rules, {'web': ['10.0.0.3', '10.0.0.2']})
    assert 'ip saddr { 10.0.0.2, 10.0.0.3 } tcp dport 80-81 accept' in text
    assert 'policy drop;' in text.split('chain egress')[1]
    assert 'udp dport 53 accept' in text.split('chain egress')[1]
    assert 'empty' not in text and text.count('meta l4proto tcp') == 0


def test_no_groups_removes_the_table():
    assert security_ruleset(None, {}) == 'table inet cloudops_sg\ndelete table inet cloudops_sg\n'


def test_nat_snat_and_floating():
    text = nat_ruleset('qg-1234abcd', '198.18.0.2', ['10.10.1.0/24'], [('198.18.0.10', '10.10.1.2')])
    assert 'ip daddr 198.18.0.10 dnat to 10.10.1.2' in text
    assert 'oifname "qg-1234abcd" ip saddr 10.10.1.2 snat to 198.18.0.10' in text
    assert 'oifname "qg-1234abcd" ip saddr { 10.10.1.0/24 } snat to 198.18.0.2' in text


@needs_nft
def test_rulesets_parse_in_nft():
    rules = normalize_rules([{'protocol': 'tcp', 'port': '80-81', 'remote_group': 'web'},
                             {'protocol': 'any', 'remote_cidr': '10.0.0.0/8'},
                             {'direction': 'egress', 'protocol': 'udp', 'port': 53}, {'protocol': 'icmp'}])
    for ruleset in (security_ruleset(rules, {'web': ['10.0.0.2']}), security_ruleset(None, {}),
                    nat_ruleset('qg-1', '198.18.0.2', ['10.1.0.0/24'], [('198.18.0.9', '10.1.0.5')]),
                    nat_ruleset(None, None, [], [])):
        ok, error = nft_accepts(ruleset)
        assert ok, error
