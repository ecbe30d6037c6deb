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
      - When not set, every cloud the clouds file defines.
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
      - A name that more than one server carries is followed by C(_<id>) (for V(id), preceded
        by C(<cloud>_)) on each of them, so two servers never become one host.
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
    run inside them; the lab needs root on the controller.
  - With O(cache), C(cache_timeout) is how long a cloud's hosts are served without asking the
    cloud; the cache key covers the source file's path and content and the clouds file's, so
    a changed source never gets another source's data.
'''

EXAMPLES = r'''
# fleet.clouds.yml: every cloud of the clouds file
plugin: cloudops.multicloud.clouds

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
  ansible_user: "'ec2-user' if cloudops.provider == 'libcloud' else omit"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/cloudops-inventory
cache_timeout: 300
stale_on_error: true
'''

import hashlib
import json
import os
import time
from datetime import datetime, timezone

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable, get_cache_plugin

from ansible_collections.cloudops.multicloud.plugins.module_utils.cloud import provider_for
from ansible_collections.cloudops.multicloud.plugins.module_utils.clouds import defined_clouds, find_clouds_file
from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError, redact
from ansible_collections.cloudops.multicloud.plugins.module_utils.fetch_clouds import fetch_all
from ansible_collections.cloudops.multicloud.plugins.module_utils.inventory_hosts import (
    address_for, connection_vars, default_groups, group_name, host_names, host_record, secrets_of,
    select_clouds, server_matches,
)

SUFFIXES = ('.clouds.yml', '.clouds.yaml')
# Cache settings do not change what a source lists, so its cache key leaves them out.
CACHE_OPTIONS = ('cache', 'cache_plugin', 'cache_connection', 'cache_prefix', 'cache_timeout')


def one_line(exc, secrets):
    """A cloud's failure as one line without its credentials; an unforeseen one says its type."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ''
    if not isinstance(exc, CloudError):
        text = '%s: %s' % (type(exc).__name__, text) if text else type(exc).__name__
    return redact(text, secrets)


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = 'cloudops.multicloud.clouds'
    # Nothing a cloud answers is trusted as a template: a name or label stays the text it is.
    trusted_by_default = False

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        try:
            clouds_file = find_clouds_file(self.get_option('clouds_file'))
            known = defined_clouds(clouds_file)
            selection = select_clouds(self.get_option('clouds'), self.get_option('filters'), known, clouds_file)
        except CloudError as exc:
            raise AnsibleParserError('%s: %s' % (path, exc))

        use_cache = self.get_option('cache')
        key = self.source_key(path, config, clouds_file)
        stored = {}
        if use_cache:
            # The plugin keeps every cloud's data and judges its age itself, so that a failing
            # cloud's last good data outlives cache_timeout.
            self._cache = get_cache_plugin(self.get_option('cache_plugin'), _timeout=0, **{
                o: self.get_option(n) for o, n in (('_uri', 'cache_connection'), ('_prefix', 'cache_prefix'))
                if self.get_option(n) is not None})
            stored = self._cache.get(key) or {}
        clouds = [cloud for cloud, filters in selection]
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
                ' (serving its hosts as of %s)' % entry['stale_since'] if 'stale_since' in entry else ''))
        if use_cache:
            self._cache[key] = kept
        self.populate(clouds, hosts, errors)

    def collect(self, clouds, known, outcomes, stored, fresh, cache, now):
        """(hosts, errors, what to cache) from fresh cached data, new listings and failures."""
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
            entry = {'cloud': cloud, 'error': one_line(error, secrets_of(known[cloud]))}
            if cache and self.get_option('stale_on_error') and cloud in stored:
                hosts += json.loads(stored[cloud]['hosts'])
                kept[cloud] = stored[cloud]
                entry['stale_since'] = datetime.fromtimestamp(stored[cloud]['fetched'], timezone.utc).strftime(
                    '%Y-%m-%dT%H:%M:%SZ')
            errors.append(entry)
        return hosts, errors, kept

    def source_key(self, path, config, clouds_file):
        """A cache key of this source: its path and content, and the clouds file's path and content."""
        digest = hashlib.sha256()
        content = {k: v for k, v in config.items() if k not in CACHE_OPTIONS}
        digest.update(json.dumps([os.path.abspath(path), content], sort_keys=True, default=str).encode())
        if clouds_file:
            digest.update(os.path.abspath(clouds_file).encode())
            with open(clouds_file, 'rb') as handle:
                digest.update(handle.read())
        return 'cloudops_multicloud_clouds_%s' % digest.hexdigest()[:32]

    def fetcher(self, cloud, settings, filters):
        timeout, retries = self.get_option('timeout'), self.get_option('api_retries')

        def fetch():
            provider = provider_for(cloud, settings, timeout=timeout, api_retries=retries)
            listed = []
            for server in provider.list('server'):
                server = server.to_dict()
                if server_matches(server, filters):
                    listed.append({'record': host_record(server, cloud, provider.family, provider.region),
                                   'vars': connection_vars(server)})
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
        self.inventory.set_variable('all', '_inventory_errors', errors)
