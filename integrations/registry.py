"""What a channel is: one `ChannelPackage`, made by the channel's folder (integrations/channels/<slug>/)
and registered with one call, `channel_package_register`, from IntegrationsConfig.ready().

The package carries everything the rest of the code may know about a channel: its adapter (the sync
engine's interface), its connect form and credential validator (the generic connect page and the API),
an optional install flow (the generic install/callback pair), its webhook receiver (the inbox), its
periodic tasks (merged into the beat schedule), what a store's credentials lose on uninstall, and the
words a merchant reads when the channel refuses us. Registering it also hands the display part (slug,
label, colour) to orders' channel registry, the lowest app that shows channels. No view, form, template
or engine module names a channel: they ask this registry.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from celery import current_app
from django import forms
from django.conf import settings

from core.http import ExternalError, failure_words
from core.receivers import WebhookReceiver, webhook_receiver_register
from core.registry import Registry
from orders.channels import channel_register

if TYPE_CHECKING:
    from integrations.channels.base import ChannelAdapter
    from integrations.forms import ConnectForm


class InstallRefused(Exception):
    """An install callback we must not trust or could not finish; the message is shown to the merchant."""


class InstallFlow(ABC):
    """A channel's own install (OAuth) flow: the merchant types what `form_class` asks (a shop domain),
    is sent to `authorize_url`, approves there, and comes back to the generic callback, which hands the
    query to `complete` for the credentials to store. `data` is the form's cleaned data, kept in the
    session between the two (JSON-safe values only).

    A flow whose channel delivers the credentials server to server (`credentials_by_post`: the store
    POSTs an API key, with no session) gets a pending-install row instead (integrations.installs): its
    random id is the `state` handed to `authorize_url` with our `post_url`; the delivery names it
    (`posted_state`) and `complete_posted` turns the body into credentials; the merchant's browser then
    comes back to the callback carrying the id in `state_param`, and `returned_refused` says whether the
    merchant declined there."""

    do_not_call_in_templates: ClassVar[bool] = True  # the connect page reads the class's texts
    form_class: ClassVar[type[forms.Form]]
    help_text: ClassVar[str] = ""  # one line above the install button
    action_text: ClassVar[str] = "Install our app"  # the install panel's title and button
    not_configured_text: ClassVar[str] = ""  # shown instead of the button when is_configured() is False
    credentials_by_post: ClassVar[bool] = False
    state_param: ClassVar[str] = "state"  # the callback's query parameter naming the install

    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = dict(data)

    @classmethod
    @abstractmethod
    def is_configured(cls) -> bool:
        """Whether this server holds what the flow needs (our app's client id and secret)."""

    @abstractmethod
    def authorize_url(self, state: str, redirect_uri: str, *, post_url: str = "") -> str:
        """Where to send the merchant; `state` comes back on the callback and is checked there.
        `post_url`: where a `credentials_by_post` channel delivers the credentials."""

    def complete(self, params: Mapping[str, str], *, state: str, budget_key: str) -> dict[str, Any]:
        """The credentials to store from the callback's query; raises InstallRefused (with the reason)."""
        raise NotImplementedError

    @classmethod
    def posted_state(cls, body: bytes, content_type: str) -> str:
        """The install id a server-to-server delivery names; InstallRefused when the body is unreadable."""
        raise NotImplementedError

    def complete_posted(self, body: bytes, content_type: str) -> dict[str, Any]:
        """The credentials to store from a server-to-server delivery; InstallRefused with the reason."""
        raise NotImplementedError

    def returned_refused(self, params: Mapping[str, str]) -> str:
        """Why the install did not happen, from the returning browser's query ("" when approved)."""
        return ""


def _no_account(credentials: Mapping[str, Any]) -> str:
    return ""


def error_words_default(label: str) -> Callable[[ExternalError], str]:
    """The sentence a merchant reads for a failed call, for a package that has no words of its own."""
    return lambda exc: failure_words(label, exc)


@dataclass(frozen=True)
class ChannelPackage:
    slug: str  # stored on orders as Order.channel; at most 16 lower-case characters
    label: str
    colour: str  # CSS colour in order lists and charts
    summary: str  # one line on the connect page: how orders arrive and stock leaves
    # the ChannelAdapter subclass (integrations/channels/base.py); None while a channel has no client yet
    adapter: type[ChannelAdapter] | None = None
    # the form a merchant fills to connect a store (a ConnectForm), and the check of a credentials dict
    # (the API's and the form's): (credentials, from_install=False) -> cleaned, or ValidationFailed with
    # details={"fields": {...}}
    connect_form: type[ConnectForm] | None = None
    credentials_validate: Callable[..., dict[str, Any]] | None = None
    # the store's account id (Integration.account_ref) from its cleaned credentials
    account_ref: Callable[[Mapping[str, Any]], str] = _no_account
    install: type[InstallFlow] | None = None
    receiver: WebhookReceiver | None = None
    # beat entries this channel needs beyond the engine's own ({name: {"task", "schedule", ...}})
    periodic_tasks: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    # credential keys a store loses when it uninstalls our app (the tokens it revoked)
    forget_on_uninstall: tuple[str, ...] = ()
    # the words for a failed call ("<label> refused the access token"), never an HTTP status line
    error_words: Callable[[ExternalError], str] | None = None
    # the connection doctor's findings only this channel can tell from our tables:
    # (integration, its listings queryset) -> [(code, severity, message, fix)], shown before the generic ones
    doctor: Callable[[Any, Any], list[tuple[str, str, str, str]]] | None = None
    # whose request limits a store draws on, from its account_ref, when they belong to an account wider
    # than one store (one seller's plan shared by its marketplaces); None: each store its own
    budget_account: Callable[[str], str] | None = None

    @property
    def can_connect(self) -> bool:
        return self.adapter is not None and self.connect_form is not None and self.credentials_validate is not None

    @property
    def has_locations(self) -> bool:
        """Whether a push names one of the store's locations (the adapter says; no adapter: nothing to push)."""
        return self.adapter is not None and self.adapter.has_locations

    def budget_key(self, *, integration_id: int, account_ref: str = "") -> str:
        """The name of the request budget a store's adapter draws on (core.http's bucket key): the
        package's account (`budget_account`) when it names one, else the store's own."""
        account = self.budget_account(account_ref) if self.budget_account is not None and account_ref else ""
        return f"{self.slug}:{account}" if account else f"integration:{integration_id}"

    def describe_error(self, exc: ExternalError) -> str:
        return (self.error_words or error_words_default(self.label))(exc)


channel_packages: Registry[ChannelPackage] = Registry("integrations.channel_packages")


def beat_schedule_merge(entries: Mapping[str, dict[str, Any]]) -> None:
    """Add a package's periodic tasks to the beat schedule (settings and, when Celery has read its
    configuration already, Celery's copy); a name already taken by another entry is a programming error."""
    schedule: dict[str, dict[str, Any]] = settings.CELERY_BEAT_SCHEDULE
    for name, entry in entries.items():
        if name in schedule and schedule[name] != entry:
            raise ValueError(f"beat entry {name!r} is already scheduled")
        schedule[name] = dict(entry)
    # The Celery app reads CELERY_* lazily; once it has, its copy must learn the new entries too.
    if current_app.configured:
        current_app.conf.beat_schedule.update({name: dict(entry) for name, entry in entries.items()})


def channel_package_register(package: ChannelPackage) -> ChannelPackage:
    """The one call a channel needs: the package, its display, its webhook receiver, its beat entries."""
    # The tracking consumer turns every shipped parcel into a fulfillment through the adapter; no adapter
    # cancels on its channel yet (a cancellation here stays here).
    channel_register(slug=package.slug, label=package.label, colour=package.colour,
                     tells_fulfillment=package.adapter is not None, tells_cancellation=False)
    if package.receiver is not None:
        if (package.receiver.kind, package.receiver.slug) != ("channel", package.slug):
            raise ValueError(f"{package.slug}'s receiver is registered as {package.receiver.key!r}")
        webhook_receiver_register(package.receiver)
    if package.periodic_tasks:
        beat_schedule_merge(package.periodic_tasks)
    return channel_packages.register(package.slug, package)
