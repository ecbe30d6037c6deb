# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: clouds
short_description: One inventory of the servers of every cloud in the clouds file
description:
  - Lists the servers of every cloud of the clouds file (or of the clouds the source names) as
    inventory hosts, fetching all clouds at once.
  - Every host carries one variable, O(hostvar), with the same fields on every provider; see
    the C(docs/inventory.md) file of the collection for the schema.
  - Hosts join groups by cloud (C(cloud_<name>)), provider (C(provider_<family>)), region
    (C(region_<region>)), state (C(state_active), C(state_shutoff), ...) and network
    (C(network_<name>)), with characters other than letters, digits and C(_) turned into C(_).
  - A cloud that cannot be listed does not stop the others. Each failure is one entry of the
    variable C(_inventory_errors) of the C(all) group (C(cloud), C(error); C(stale_since) when
    O(stale_on_error) served older data) and a warning.
  - Everything read from a cloud is marked unsafe, so no template a server name or label may
    hold is ever rendered.
  - The source file name must end in C(.clouds.yml) or C(.clouds.yaml).
author:
  - cloudops.multicloud maintainers (@cloudops)
version_added: 0.1.0
extends_documentation_fragment:
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks the file as a source of this plugin.
    required: true
    type: str
    choices: [cloudops.multicloud.clouds]
  clouds_file:
    description:
      - Path of the clouds file.
      - When not set, C(./clouds.multicloud.yml), C(~/.config/cloudops/clouds.yml) and
        C(/etc/cloudops/clouds.yml) are tried in turn. With none of them, the one cloud is the
        local lab C(local).
    type: path
    env:
      - name: CLOUDOPS_CLOUDS_FILE
  clouds:
    description:
      - The clouds to list, each a cloud name or a mapping with C(name) and any of the keys of
        O(filters), which then replace O(filters) for that cloud.
      - When not set, every cloud the clouds file defines. The local lab V(local), which modules
        accept without a clouds file entry, is listed only when named here.
    type: list
    elements: raw
  filters:
    description: Which servers become hosts, on every cloud that sets no filters of its own.
    type: dict
    default: {}
    suboptions:
      states:
        description: Only servers in one of these states, such as V(ACTIVE) or V(SHUTOFF).
        type: list
        elements: str
      labels:
        description: Only servers that carry all of these labels, with these values.
        type: dict
      names:
        description: Only servers whose name matches one of these shell patterns, such as V(web-*).
        type: list
        elements: str
  concurrency:
    description: How many clouds are fetched at once.
    type: int
    default: 8
    env:
      - name: CLOUDOPS_INVENTORY_CONCURRENCY
  timeout:
    description:
      - Seconds one cloud may take to list its servers, every page included. A cloud that takes
        longer is reported in C(_inventory_errors) and left out.
      - The cloud's own calls are given a few seconds more, so this deadline is the one that ends a listing.
    type: int
    default: 60
    env:
      - name: CLOUDOPS_INVENTORY_TIMEOUT
  api_retries:
    description: How many times a listing call is retried, with backoff, after a server error, throttling or a timeout.
    type: int
    default: 3
    env:
      - name: CLOUDOPS_API_RETRIES
  fail_on_errors:
    description: Fail the whole inventory when any cloud cannot be listed, instead of loading the others.
    type: bool
    default: false
    env:
      - name: CLOUDOPS_INVENTORY_FAIL_ON_ERRORS
  stale_on_error:
    description:
      - With O(cache), serve the last data a cloud gave, however old, when listing it fails now.
        The failure is still reported, with C(stale_since).
      - C(--flush-cache) turns it off for that run.
    type: bool
    default: false
    env:
      - name: CLOUDOPS_INVENTORY_STALE_ON_ERROR
  hostnames:
    description:
      - What names a host. V(name) is the server's name, V(id) its cloud identifier.
      - A name that more than one server carries never makes them one host. Shared across clouds,
        each gets C(.<cloud>) (C(web-1.aws-east)); shared within a cloud, C(.<id>) (C(db.i-0a1b));
        should such a name meet another, C(.<cloud>.<id>), then a number.
    type: str
    default: name
    choices: [name, id]
  address_preference:
    description: Which address becomes C(ansible_host), the first kind a server has.
    type: list
    elements: str
    choices: [public, private]
    default: [public, private]
  hostvar:
    description: Name of the variable that holds each host's record.
    type: str
    default: cloudops
  default_groups:
    description: Add hosts to the groups by cloud, provider, region, state and network.
    type: bool
    default: true
notes:
  - Lab VMs get C(ansible_connection=cloudops.multicloud.netns) and C(cloudops_netns), so tasks
    run inside them, with the controller's own Python as C(ansible_python_interpreter) (a lab VM
    shares the controller's filesystem); the lab needs root on the controller.
  - Servers of other clouds get C(ansible_connection=ssh) and C(ansible_user), the clouds file's
    C(ssh_user) or the well-known user of their image (C(ubuntu), C(debian), C(ec2-user), ...,
    else C(root)); a server without a public address is reached through the clouds file's
    C(jump_host) (C(ProxyJump) in C(ansible_ssh_common_args)).
  - With O(cache), C(cache_timeout) is how long a cloud's hosts are served without asking the
    cloud. The cache key covers the source file's path and the clouds and filters it selects,
    so a changed source never gets another source's data; each cloud's data is also tied to its
    settings and the credentials it signs in with, so another clouds file or other keys start
    that cloud afresh.
'''

EXAMPLES = r'''
# fleet.clouds.yml: every cloud of the clouds file
plugin: cloudops.multicloud.clouds

---
# running.clouds.yml: two clouds, running servers of one run, grouped by tier
plugin: cloudops.multicloud.clouds
clouds_file: ~/clouds.multicloud.yml
clouds:
  - lab
  - name: aws-east
    states: [ACTIVE]
    labels: {run-id: demo-1}
keyed_groups:
  - key: cloudops.labels.tier | default('none')
    prefix: tier
compose:
  ansible_user: "'ec2-user' if cloudops.provider == 'libcloud' else 'root'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/cloudops-inventory
cache_timeout: 300
stale_on_error: true
'''

import json
import os
import sys
import time
from datetime import datetime, timezone

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable, get_cache_plugin

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud import credentials_in_use, provider_for
from ansible_collections.cloudops.multicloud.plugins.module_utils.clouds import defined_clouds, find_clouds_file, with_local
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError
from ansible_collections.cloudops.multicloud.plugins.module_utils.fetch_clouds import fetch_all
from ansible_collections.cloudops.multicloud.plugins.module_utils.inventory_hosts import (
    address_for, cache_keys, connection_vars, default_groups, failure_line, fingerprint, group_name, host_names,
    host_record, secrets_of, select_clouds, server_matches,
)
from ansible_collections.cloudops.multicloud.plugins.module_utils.processes import Commands
from ansible_collections.cloudops.multicloud.plugins.plugin_utils.commands import run_command

SUFFIXES = ('.clouds.yml', '.clouds.yaml')
# The cloud's own calls get this much longer than the plugin's timeout, so the plugin's deadline decides.
CALL_MARGIN = 5


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'cloudops.multicloud.clouds'
    # Nothing a cloud answers is trusted as a template: a name or label stays the text it is.
    trusted_by_default = False

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        try:
            clouds_file = find_clouds_file(self.get_option('clouds_file'))
            defined = defined_clouds(clouds_file)
            known = with_local(defined)
            selection = select_clouds(self.get_option('clouds'), self.get_option('filters'), known, clouds_file,
                                      every=defined)
        except CloudError as exc:
            raise AnsibleParserError('%s: %s' % (path, exc))
        clouds = [cloud for cloud, filters in selection]
        prints = {c: fingerprint(known[c], credentials_in_use(known[c])) for c in clouds}

        use_cache = self.get_option('cache')
        keys = cache_keys(os.path.abspath(path), selection, prints)
        stored = {}
        if use_cache:
            self.open_cache()
            stored = {c: entry for c, entry in ((c, self._cache.get(keys[c])) for c in clouds) if entry}
        now = time.time()
        ttl = self.get_option('cache_timeout')
        fresh = {c for c in clouds if cache and c in stored and (ttl == 0 or now - stored[c]['fetched'] < ttl)}
        outcomes = fetch_all({c: self.fetcher(c, known[c], f) for c, f in selection if c not in fresh},
                             self.get_option('concurrency'), self.get_option('timeout'))
        hosts, errors, kept = self.collect(clouds, known, outcomes, stored, fresh, cache, now)

        if errors and self.get_option('fail_on_errors'):
            failures = '; '.join('cloud %s: %s' % (e['cloud'], e['error']) for e in errors)
            raise AnsibleParserError('%s: %s' % (path, failures))
        for entry in errors:
            self.display.warning('cloudops.multicloud.clouds: cloud %s was not listed: %s%s' % (
                entry['cloud'], entry['error'],
                ' (serving its hosts as of %s)' % entry['stale_since'] if entry.get('stale_since') else ''))
        if use_cache:
            for cloud, entry in kept.items():
                self._cache[keys[cloud]] = entry
        self.populate(clouds, hosts, errors)

    def open_cache(self):
        """The cache plugin, keeping data for as long as stale_on_error may serve it: the plugin
        judges each cloud's age itself."""
        options = {o: self.get_option(n) for o, n in (('_uri', 'cache_connection'), ('_prefix', 'cache_prefix'))
                   if self.get_option(n) is not None}
        options['_timeout'] = 0 if self.get_option('stale_on_error') else self.get_option('cache_timeout')
        self._cache = get_cache_plugin(self.get_option('cache_plugin'), **options)

    def collect(self, clouds, known, outcomes, stored, fresh, cache, now):
        """(hosts, errors, what to cache) from fresh cached data, new listings and failures. A failed
        cloud's last good data stays in the cache, served only with stale_on_error."""
        hosts, errors, kept = [], [], {}
        for cloud in clouds:
            if cloud in fresh:
                hosts += json.loads(stored[cloud]['hosts'])
                kept[cloud] = stored[cloud]
                continue
            listed, error = outcomes[cloud]
            if error is None:
                hosts += listed
                # One JSON text per cloud: the cache plugin then decodes one value, not every field.
                kept[cloud] = {'fetched': now, 'hosts': json.dumps(listed)}
                continue
            secrets = secrets_of(known[cloud]) + credentials_in_use(known[cloud])
            entry = {'cloud': cloud, 'error': failure_line(error, secrets)}
            if cloud in stored:
                kept[cloud] = stored[cloud]
                if cache and self.get_option('stale_on_error'):
                    hosts += json.loads(stored[cloud]['hosts'])
                    entry['stale_since'] = datetime.fromtimestamp(stored[cloud]['fetched'], timezone.utc).strftime(
                        '%Y-%m-%dT%H:%M:%SZ')
            errors.append(entry)
        return hosts, errors, kept

    def fetcher(self, cloud, settings, filters):
        timeout, retries = self.get_option('timeout'), self.get_option('api_retries')

        def fetch():
            provider = provider_for(cloud, settings, timeout=timeout + CALL_MARGIN, api_retries=retries,
                                    commands=Commands(run_command))
            listed = []
            for server in provider.list('server'):
                server = server.to_dict()
                if server_matches(server, filters):
                    listed.append({'record': host_record(server, cloud, provider.family, provider.region),
                                   'vars': connection_vars(server, settings, sys.executable)})
            return listed
        return fetch

    def populate(self, clouds, hosts, errors):
        hosts = sorted(hosts, key=lambda h: (h['record']['cloud'], h['record']['name'], h['record']['id']))
        names = host_names([h['record'] for h in hosts], self.get_option('hostnames'))
        strict = self.get_option('strict')
        grouped = self.get_option('default_groups')
        if grouped:
            for cloud in clouds:
                self.inventory.add_group(group_name('cloud', cloud))
        for name, host in zip(names, hosts):
            record = host['record']
            self.inventory.add_host(name)
            variables = {self.get_option('hostvar'): record}
            address = address_for(record, self.get_option('address_preference'))
            if address:
                variables['ansible_host'] = address
            variables.update(host['vars'])
            for var, value in variables.items():
                self.inventory.set_variable(name, var, value)
            if grouped:
                for group in default_groups(record):
                    self.inventory.add_child(self.inventory.add_group(group), name)
            self._set_composite_vars(self.get_option('compose'), variables, name, strict=strict)
            self._add_host_to_composed_groups(self.get_option('groups'), variables, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option('keyed_groups'), variables, name, strict=strict)
        # Each source adds its failures to those of the sources parsed before it.
        earlier = self.inventory.groups['all'].get_vars().get('_inventory_errors', [])
        self.inventory.set_variable('all', '_inventory_errors', list(earlier) + errors)
