"""The seam: a channel is one ChannelPackage registered with one call, and nothing outside its folder
names it; the store's account_ref; what a package brings (beat entries, receiver, uninstall, words)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django import forms
from django.conf import settings as django_settings

from accounts.tenancy import tenant_scope
from core.http import AuthFailed, Rejected, Throttled, Transient
from core.receivers import WebhookReceiver, webhook_receivers
from integrations import services
from integrations.channels.base import ChannelAdapter
from integrations.forms import ConnectForm
from integrations.models import Integration
from integrations.registry import ChannelPackage, channel_package_register, channel_packages
from orders.channels import channels
from tests.integrations.helpers import make_integration

ROOT = Path(__file__).resolve().parents[2]
CHANNEL_NAMES = re.compile(r"shopify|woocommerce|amazon", re.IGNORECASE)
SCANNED = (".py", ".html", ".js", ".txt")
# What may name a channel outside integrations/channels/<slug>/, and why. Nothing else may.
ALLOWED = {
    # The one registration point: ready() imports each package and registers it with one call.
    "integrations/apps.py": "registers each channel's package, one call per channel",
    # The one module reading the environment: the variables a package's client reads (its base URL,
    # every outbound URL being overridable) and the API's one-line description.
    "config/settings.py": "environment variable names read for a package (SHOPIFY_API_BASE_URL, ...)",
    # Comments citing real schemes (Retry-After in decimal seconds, an HMAC header, a budget shared by
    # one seller's marketplaces) as examples; no code there names a channel.
    "core/http.py": "comments citing a channel's scheme as an example",
    "core/receivers.py": "comments citing a channel's scheme as an example",
    # ISO 3166-2 data: Brazil's state of Amazonas (BR-AM) matches the pattern; it names no channel.
    "core/iso_codes.py": "the Brazilian state Amazonas in the ISO 3166-2 region list",
}
# Whole trees that may: history and the places that drive a concrete channel on purpose.
ALLOWED_TREES = (
    "tests/",  # tests drive a concrete channel against its fake
    "bench/",  # benchmarks measure a concrete channel against its fake
    ".venv/", "var/", "node_modules/",
)


def _scanned_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        rel = path.relative_to(ROOT).as_posix()
        if not path.is_file() or path.suffix not in SCANNED or rel.startswith(".") or "/." in rel:
            continue
        if rel.startswith(ALLOWED_TREES) or "/migrations/" in rel:  # a migration is a fixed point in time
            continue
        if re.match(r"integrations/channels/[a-z0-9_]+/", rel):  # the package itself
            continue
        files.append(path)
    return files


def test_no_view_form_template_or_engine_module_outside_a_channels_folder_names_a_channel():
    offenders = []
    for path in _scanned_files():
        rel = path.relative_to(ROOT).as_posix()
        if rel in ALLOWED:
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if CHANNEL_NAMES.search(line):
                offenders.append(f"{rel}:{number}: {line.strip()[:100]}")

    assert offenders == []


def test_every_allowed_file_that_exists_still_needs_its_place_on_the_list():
    stale = [rel for rel in ALLOWED if (ROOT / rel).exists()
             and not CHANNEL_NAMES.search((ROOT / rel).read_text(errors="replace"))]

    assert stale == []


def test_the_scan_covers_views_forms_templates_and_the_engine():
    scanned = {p.relative_to(ROOT).as_posix() for p in _scanned_files()}

    assert {"integrations/views.py", "integrations/forms.py", "templates/integrations/connect.html",
            "integrations/sync/stock.py", "integrations/sync/connect.py", "integrations/services.py",
            "integrations/api.py", "integrations/tasks.py", "webhooks/views.py"} <= scanned
    assert not any(p.startswith("integrations/channels/shopify/") for p in scanned)


# --- one package, one call -------------------------------------------------------------------------------


class _Adapter(ChannelAdapter):
    """Never called: the registration tests only need a class."""


def _package(**extra) -> ChannelPackage:
    return ChannelPackage(slug="acme", label="Acme Market", colour="#123456", summary="Test channel.", **extra)


@pytest.fixture
def unregister_acme(settings):
    settings.CELERY_BEAT_SCHEDULE = dict(django_settings.CELERY_BEAT_SCHEDULE)
    yield
    channel_packages.unregister("acme")
    channels.unregister("acme")
    webhook_receivers.unregister("channel:acme")


def test_one_call_registers_the_display_the_receiver_and_the_beat_entries(unregister_acme, settings):
    receiver = WebhookReceiver(kind="channel", slug="acme", verify=lambda *a: True, identify=lambda *a: None)
    entry = {"task": "acme.feeds_poll", "schedule": 300.0}

    channel_package_register(_package(adapter=_Adapter, receiver=receiver, periodic_tasks={"acme.feeds_poll": entry}))

    assert channel_packages["acme"].label == "Acme Market"
    assert (channels["acme"].label, channels["acme"].tells_fulfillment) == ("Acme Market", True)
    assert webhook_receivers["channel:acme"] is receiver
    assert settings.CELERY_BEAT_SCHEDULE["acme.feeds_poll"] == entry


def test_a_beat_entry_taken_by_another_task_is_refused(unregister_acme, settings):
    with pytest.raises(ValueError, match="integrations.stock_push_fanout"):
        channel_package_register(_package(periodic_tasks={
            "integrations.stock_push_fanout": {"task": "acme.other", "schedule": 1.0}}))


def test_a_receiver_registered_under_another_slug_is_refused(unregister_acme):
    receiver = WebhookReceiver(kind="channel", slug="other", verify=lambda *a: True, identify=lambda *a: None)

    with pytest.raises(ValueError, match="acme"):
        channel_package_register(_package(receiver=receiver))
    assert "acme" not in channel_packages


def test_shopify_is_registered_as_one_whole_package():
    package = channel_packages["shopify"]

    assert package.can_connect and package.install is not None
    assert webhook_receivers["channel:shopify"] is package.receiver
    assert package.forget_on_uninstall == ("access_token", "refresh_token")
    assert channel_packages["amazon"].can_connect and channel_packages["amazon"].install is not None


def test_woocommerce_is_registered_as_one_whole_package():
    package = channel_packages["woocommerce"]

    assert package.can_connect and not package.has_locations
    assert package.install is not None and package.install.credentials_by_post
    assert webhook_receivers["channel:woocommerce"] is package.receiver
    assert package.receiver.is_handshake is not None


@pytest.mark.parametrize(("error", "words"), [
    (AuthFailed("POST /admin/api/graphql.json: 401 the channel refused the credentials", status=401),
     "Shopify refused the access token. Check that it was copied whole and that the app is still installed "
     "on the store."),
    (Throttled("429 Too Many Requests", status=429), "Shopify asked us to slow down; try again in a minute."),
    (Transient("POST /x: 503 server error", status=503), "Shopify did not answer in time; try again in a moment."),
    (Rejected("POST /x: 404 refused", status=404), "Shopify has no store at that domain."),
])
def test_shopify_says_what_went_wrong_in_words(error, words):
    assert channel_packages["shopify"].describe_error(error) == words


def test_a_package_without_words_of_its_own_gets_the_generic_ones():
    assert _package().describe_error(AuthFailed("401")) == "Acme Market refused the credentials."


# --- account_ref ---------------------------------------------------------------------------------------


def test_connecting_fills_the_account_ref_from_the_package(merchant_a):
    with tenant_scope(merchant_a.merchant):
        connecting = services.integration_create(
            merchant=merchant_a.merchant, actor=None, channel="shopify", name="Main",
            credentials={"shop_domain": "Demo-Store.myshopify.com", "access_token": "shpat_x", "client_secret": "s"})
        stored = Integration.objects.values_list("account_ref", flat=True).get(pk=connecting.integration.pk)

    assert stored == "demo-store.myshopify.com"


def test_reconnecting_keeps_the_account_ref_current(merchant_a):
    with tenant_scope(merchant_a.merchant):
        integration = make_integration(merchant_a.merchant)
        Integration.objects.filter(pk=integration.pk).update(account_ref="")
        services.integration_update(merchant=merchant_a.merchant, actor=None, integration=integration,
                                    credentials={"shop_domain": "test-shop.myshopify.com",
                                                 "access_token": "shpat_new", "client_secret": "s2"})
        integration.refresh_from_db()

    assert integration.account_ref == "test-shop.myshopify.com"


def test_the_api_shows_the_account_ref_and_each_listings_channel_ref(merchant_a):
    r = merchant_a.api.post("/api/v1/integrations/", {
        "channel": "shopify", "name": "Main", "credentials": {
            "shop_domain": "api-shop.myshopify.com", "access_token": "shpat_x", "client_secret": "s"}}, format="json")
    with tenant_scope(merchant_a.merchant):
        Integration.objects.get(pk=r.json()["id"]).listings.create(
            merchant=merchant_a.merchant, external_id="77", channel_ref="3001", sku="MUG-1")
    listings = merchant_a.api.get(f"/api/v1/integrations/{r.json()['id']}/listings/").json()

    assert r.status_code == 201 and r.json()["account_ref"] == "api-shop.myshopify.com"
    assert [(row["external_id"], row["channel_ref"]) for row in listings["results"]] == [("77", "3001")]
    assert "inventory_item_id" not in listings["results"][0]


class _AcmeForm(ConnectForm):
    account_field = "store_url"
    help_text = "In Acme: Settings → API keys."

    store_url = forms.CharField(label="Store address")
    api_key = forms.CharField(label="API key", widget=forms.PasswordInput)

    def credentials(self) -> dict:
        return {"store_url": self.cleaned_data["store_url"], "api_key": self.cleaned_data["api_key"]}


def test_the_connect_page_is_whatever_the_package_says(merchant_a, unregister_acme):
    # given a channel package with its own connect form and no install flow
    channel_package_register(_package(adapter=_Adapter, connect_form=_AcmeForm,
                                      credentials_validate=lambda credentials, **_: credentials))

    # when the merchant opens its connect page
    body = merchant_a.web.get("/integrations/connect/acme/").content.decode()

    # then the package's fields and help are there, and nothing of another channel
    assert "Connect a Acme Market store" in body and "In Acme: Settings → API keys." in body
    assert 'name="store_url"' in body and 'type="password" name="api_key"' in body
    assert "Install our app" not in body and not CHANNEL_NAMES.search(body.split("<main", 1)[1])
