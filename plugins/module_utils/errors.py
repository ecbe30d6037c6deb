# -*- coding: utf-8 -*-
# Copyright: cloudops.multicloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one exception type the collection raises; modules turn it into fail_json."""

from __future__ import annotations


class CloudError(Exception):
    """A failure worth one clear line to a person: what, on which field or object, and why.

    ``details`` carries structured context (never secrets) that modules return beside ``msg``.
    """

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def __str__(self):
        return self.message


class NotFound(CloudError):
    """A referenced object (network, image, security group...) does not exist."""


class InUse(CloudError):
    """An object cannot be deleted or changed because others depend on it."""


def redact(message, secrets):
    """``message`` with every secret of four or more characters masked."""
    for secret in secrets:
        if secret and len(str(secret)) >= 4:
            message = message.replace(str(secret), '********')
    return message
