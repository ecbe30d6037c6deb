"""Reading what ansible-inventory --list prints for the clouds inventory."""

from __future__ import annotations


def plain(value):
    """Variables as ansible-inventory prints them, with cloud data's unsafe marks taken off."""
    if isinstance(value, dict):
        if set(value) == {'__ansible_unsafe'}:
            return value['__ansible_unsafe']
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
