# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Labels on OpenStack: neutron tags "key=value" on network objects, metadata on servers.

The collection keeps a few facts of its own in tags under the prefix ``cloudops.multicloud/``
(a network's range, the external network's name as a task gave it); those are not labels.
"""

from __future__ import annotations

from ansible_collections.cloudops.multicloud.plugins.module_utils.errors import CloudError

OWN_PREFIX = 'cloudops.multicloud/'
CIDR_TAG = OWN_PREFIX + 'cidr'
EXTERNAL_TAG = OWN_PREFIX + 'external-network'
TAG_MAX = 255  # neutron's limit on one tag
METADATA_MAX = 255  # nova's limit on a metadata key and on its value


def check_labels(labels, field='labels', metadata=False):
    """Labels a neutron tag or a nova metadata item can hold, or one line naming the bad one."""
    labels = labels or {}
    if not isinstance(labels, dict):
        raise CloudError('%s: must be a dict of strings, got %r' % (field, labels))
    for key, value in labels.items():
        where = '%s.%s' % (field, key)
        if not isinstance(value, str):
            raise CloudError('%s: label values are strings, got %r' % (where, value))
        if str(key).startswith(OWN_PREFIX):
            raise CloudError('%s: keys starting with %s are kept by the collection' % (where, OWN_PREFIX))
        if metadata:
            if len(key) > METADATA_MAX or len(value) > METADATA_MAX:
                raise CloudError('%s: nova keeps metadata keys and values of at most %d characters'
                                 % (where, METADATA_MAX))
            continue
        if '=' in key:
            raise CloudError('%s: a label key may not contain "=", which separates it from its value in '
                             'the neutron tag' % where)
        if ',' in key or ',' in value:
            raise CloudError('%s: neutron tags may not contain ","' % where)
        if len(key) + 1 + len(value) > TAG_MAX:
            raise CloudError('%s: the neutron tag "key=value" is at most %d characters' % (where, TAG_MAX))
    return dict(labels)


def labels_of(tags):
    """The labels a list of neutron tags holds; tags of another kind are not labels."""
    labels = {}
    for tag in tags or []:
        key, sep, value = tag.partition('=')
        if sep and not key.startswith(OWN_PREFIX):
            labels[key] = value
    return labels


def own_tag(tags, key):
    """The value of one of the collection's own tags, or None."""
    for tag in tags or []:
        name, sep, value = tag.partition('=')
        if sep and name == key:
            return value
    return None


def tags_for(labels, own=None, keep=None):
    """The tag list of an object: ``labels``, the collection's ``own`` facts, and the tags in ``keep``
    that are neither (put there by someone else)."""
    foreign = [tag for tag in keep or [] if '=' not in tag]
    tags = ['%s=%s' % (key, value) for key, value in sorted((labels or {}).items())]
    tags += ['%s=%s' % (key, value) for key, value in sorted((own or {}).items()) if value is not None]
    return sorted(set(tags + foreign))


def own_tags(tags):
    """{key: value} of the collection's own tags in a tag list."""
    found = {}
    for tag in tags or []:
        key, sep, value = tag.partition('=')
        if sep and key.startswith(OWN_PREFIX):
            found[key] = value
    return found


def tag_filter(labels):
    """The neutron ``tags`` filter of objects carrying every label."""
    return ','.join(tags_for(labels))
