"""Per-channel credential forms: each channel package registers the function that checks what a
merchant typed before anything is stored or any call is made.

A validator takes the submitted dict and returns the cleaned dict to store, or raises
ValidationFailed with `details={"fields": {name: [message]}}` (the API's field-error shape). It checks
form only; whether the store accepts the credentials is the connect job's test.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.registry import Registry

CredentialValidator = Callable[[dict[str, Any]], dict[str, Any]]

credential_validators: Registry[CredentialValidator] = Registry("integrations.credential_validators")


def credential_validator_register(channel: str, validator: CredentialValidator) -> CredentialValidator:
    return credential_validators.register(channel, validator)
