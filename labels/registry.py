"""What a carrier is: one `CarrierPackage`, made by its folder (labels/carriers/<slug>/) and registered
with one call, `carrier_package_register`, from LabelsConfig.ready() (as integrations' channels are).

The package carries everything the rest of labels may know about a carrier: its adapter (rates, buy,
void, track, webhooks_ensure), the connect form and the credential check the API shares with it, its
webhook receiver for the inbox (kind "carrier"), and the words a merchant reads when it refuses a call.
Labels sits below integrations and never imports it; both stand on core.http and core.receivers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django import forms

from core.errors import ValidationFailed
from core.http import ExternalError, failure_words
from core.receivers import WebhookReceiver, webhook_receiver_register
from core.registry import Registry
from labels.carriers.base import CarrierAdapter


class ApiKeyForm(forms.Form):
    """The connect form of a carrier that takes one API key (EasyPost, ShipStation V2)."""

    name = forms.CharField(max_length=120)
    api_key = forms.CharField(label="API key", max_length=200, widget=forms.PasswordInput(render_value=False),
                              strip=True)

    def credentials(self) -> dict[str, Any]:
        return {"api_key": self.cleaned_data["api_key"]}


def api_key_validate(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """The API's check of `credentials` for an API-key carrier: exactly {"api_key": non-empty text}."""
    if not isinstance(credentials, Mapping):
        raise ValidationFailed("credentials must be an object.", details={"fields": {"credentials": "Not an object."}})
    key = credentials.get("api_key")
    fields: dict[str, str] = {}
    if not isinstance(key, str) or not key.strip():
        fields["api_key"] = "Required."
    elif len(key.strip()) > 200 or not key.strip().isascii() or not key.strip().isprintable() or " " in key.strip():
        # API keys are printable ASCII tokens; anything else cannot even travel in a header.
        fields["api_key"] = "Not a valid API key."
    unknown = sorted(set(credentials) - {"api_key"})
    for name in unknown:
        fields[str(name)[:64]] = "Unknown field."
    if fields:
        raise ValidationFailed("The credentials are not valid.", details={"fields": {"credentials": fields}})
    return {"api_key": key.strip()}


def error_words_default(label: str) -> Callable[[ExternalError], str]:
    return lambda exc: failure_words(label, exc, refused="the API key", rejection_detail=True)


@dataclass(frozen=True)
class CarrierPackage:
    slug: str  # stored on CarrierAccount.carrier; at most 16 lower-case characters
    label: str
    adapter: type[CarrierAdapter]
    connect_form: type[ApiKeyForm] = ApiKeyForm
    # (credentials) -> cleaned credentials, or ValidationFailed with details={"fields": {...}}
    credentials_validate: Callable[[Mapping[str, Any]], dict[str, Any]] = api_key_validate
    receiver: WebhookReceiver | None = None
    # True when tracking is asked for (labels.services.tracking's poll) rather than pushed to us.
    polls_tracking: bool = False
    error_words: Callable[[ExternalError], str] | None = None

    def describe_error(self, exc: ExternalError) -> str:
        return (self.error_words or error_words_default(self.label))(exc)


carrier_packages: Registry[CarrierPackage] = Registry("labels.carrier_packages")


def carrier_package_register(package: CarrierPackage) -> CarrierPackage:
    """The one call a carrier needs: the package and its webhook receiver (kind "carrier")."""
    if package.receiver is not None:
        if (package.receiver.kind, package.receiver.slug) != ("carrier", package.slug):
            raise ValueError(f"{package.slug}'s receiver is registered as {package.receiver.key!r}")
        webhook_receiver_register(package.receiver)
    return carrier_packages.register(package.slug, package)


def carrier_package_get(slug: str) -> CarrierPackage | None:
    return carrier_packages.get(slug)
