"""Dashboard pages of the integrations app: connected stores, connecting one (our app's OAuth install, or
an existing custom app's token), and one store's page (status, jobs, doctor, listings, push rules).

Reads go through integrations.selectors, writes through integrations.services, as the API's do.
Credentials are never rendered: token fields are password inputs that do not re-fill, and no page
context carries the stored credentials (only the shop domain, which is not a secret).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.pagination import keyset_page
from core.parsing import parse_id
from integrations import selectors, services
from integrations.forms import InstallForm, ListingFilterForm, ListingMapForm, PushRulesForm, TokenConnectForm
from integrations.models import Integration
from integrations.registry import channel_packages
from inventory import selectors as inventory_selectors

logger = logging.getLogger(__name__)

LISTINGS_PAGE = 50
LOCATIONS_SESSION_KEY = "integrations.locations.{pk}"  # the last connection test's locations, for the rules form
OAUTH_SESSION_KEY = "integrations.shopify_oauth"
OAUTH_PENDING_SECONDS = 30 * 60  # an install started longer ago than this is started again
CHECKPOINT_LABELS = {
    "orders_updated_at": "Orders fetched up to",
    "orders_cursor": "Order page in progress",
    "listings_cursor": "Listing page in progress",
    "listings_synced_at": "Listings imported at",
    "backfill_started_at": "Backfill started at",
    "backfill_finished_at": "Backfill finished at",
}


def _error_text(exc: ApplicationError) -> str:
    """The message and the fields it names, as one line for a flash message."""
    fields = (exc.details or {}).get("fields") or {}
    parts = []
    for name, problems in fields.items():
        if isinstance(problems, dict):  # credentials nest their own fields
            parts += [f"{sub.replace('_', ' ')}: {' '.join(p)}" for sub, p in problems.items()]
        else:
            parts.append(f"{name.replace('_', ' ')}: {' '.join(problems)}")
    return f"{exc.message} {'; '.join(parts)}".strip()


def _package_or_404(channel: str):
    package = channel_packages.get(channel)
    if package is None:
        raise NotFound("No such channel.")
    return package


def _oauth_configured() -> bool:
    return bool(getattr(settings, "SHOPIFY_CLIENT_ID", "") and getattr(settings, "SHOPIFY_CLIENT_SECRET", ""))


def _sync_lag(integration: Integration) -> dict[str, Any]:
    """What the list and the page show as sync lag: the last order seen, else the last success."""
    seen = integration.last_order_seen_at or integration.last_success_at
    lagging = seen is not None and timezone.now() - seen > selectors.SYNC_LAG_WARNING
    return {"at": seen, "what": "last order" if integration.last_order_seen_at else "last success",
            "is_lagging": lagging}


def _status_badge(integration: Integration) -> str:
    return {Integration.Status.ACTIVE: "ok", Integration.Status.NEEDS_RECONNECT: "bad"}.get(integration.status, "")


def _checkpoints(integration: Integration) -> list[tuple[str, Any]]:
    rows = []
    for key, value in sorted((integration.checkpoints or {}).items()):
        label = CHECKPOINT_LABELS.get(key, key.replace("_", " ").capitalize())
        shown: Any = value
        if isinstance(value, str) and key.endswith("_at"):
            try:
                shown = datetime.fromisoformat(value)
            except ValueError:
                shown = value
        elif key.endswith("_cursor"):
            shown = "a page is in progress; the next run resumes there" if value else "—"
        elif key == "job" and isinstance(value, dict):
            steps = ", ".join(value.get("done") or []) or "none yet"
            shown = f"steps done: {steps}"
        elif key == "webhooks" and isinstance(value, dict):
            topics, missing = value.get("topics") or [], value.get("missing") or []
            shown = (f"{len(topics)} topic(s) registered" + (f", {len(missing)} missing" if missing else "")
                     + (f" ({value['reason']})" if value.get("reason") else ""))
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value) or "none"
        elif isinstance(value, dict):
            shown = ", ".join(f"{k}: {v}" for k, v in value.items() if not isinstance(v, dict | list)) or "—"
        elif isinstance(value, str) and len(value) > 60:
            shown = value[:60] + "…"
        rows.append((label, shown))
    return rows


def _our_locations(merchant) -> list[tuple[int, str]]:
    return [(loc.pk, loc.name) for loc in inventory_selectors.location_list(merchant=merchant)]


class IntegrationListView(MerchantRequiredMixin, TemplateView):
    """The merchant's connected stores, and a "connect" for each channel that has a client."""

    template_name = "integrations/list.html"

    def get_context_data(self, **kwargs):
        stores = list(selectors.integration_list(merchant=self.merchant))
        for store in stores:
            store.lag = _sync_lag(store)
            store.badge = _status_badge(store)
            store.channel_label = getattr(channel_packages.get(store.channel), "label", store.channel)
        # whether a channel can be connected is computed here: a template would call the adapter class
        channels = [{"package": p, "connectable": p.adapter is not None} for p in channel_packages.values()]
        return super().get_context_data(stores=stores, channels=channels, **kwargs)


class ConnectView(MerchantRequiredMixin, TemplateView):
    """/integrations/connect/<channel>/: our app's install button (when configured) and the custom-app
    token form with "Test connection". `?reconnect=<id>` prefills the shop of a store to reconnect."""

    template_name = "integrations/connect.html"

    def _reconnecting(self) -> Integration | None:
        raw = self.request.GET.get("reconnect") or self.request.POST.get("reconnect") or ""
        if not raw:
            return None
        integration = selectors.integration_get(merchant=self.merchant, pk=parse_id(raw, field="reconnect"))
        if integration.channel != self.kwargs["channel"]:
            raise NotFound("No such integration.")
        return integration

    def get_context_data(self, **kwargs):
        package = _package_or_404(self.kwargs["channel"])
        reconnect = kwargs.pop("reconnect", None) or self._reconnecting()
        initial = {}
        if reconnect is not None:
            initial = {"shop_domain": reconnect.credentials.get("shop_domain", ""), "name": reconnect.name}
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            package=package, reconnect=reconnect,
            can_connect=package.adapter is not None and package.slug == "shopify",
            oauth_enabled=package.slug == "shopify" and _oauth_configured(),
            install_form=kwargs.get("install_form") or InstallForm(initial=initial),
            token_form=kwargs.get("token_form") or TokenConnectForm(initial=initial),
        )
        return ctx


class ConnectTokenView(ConnectView):
    """POST of the custom-app form: "Test connection" (nothing stored) or "Save and connect" (tested
    first; refused credentials are not stored)."""

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(reverse("integration-connect", args=[kwargs["channel"]]))

    def post(self, request, channel: str):
        _package_or_404(channel)
        reconnect = self._reconnecting()
        form = TokenConnectForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Check the highlighted fields.")
            return self._render(form, reconnect, status=400)
        try:
            result = services.credentials_test(merchant=self.merchant, channel=channel, credentials=form.credentials())
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
            return self._render(form, reconnect, status=400)
        if request.POST.get("action") != "save" or not result.ok:
            if result.ok:
                messages.success(request, f"Connected to {result.shop_name}. Enter the token and secret again "
                                          "and choose \"Save and connect\" to keep it.")
            else:
                messages.error(request, f"The store refused the connection: {result.error}")
            return self._render(form, reconnect, test=result, status=200 if result.ok else 400)
        if reconnect is not None and form.cleaned_data["shop_domain"] != reconnect.credentials.get("shop_domain"):
            messages.error(request, f"{reconnect.name} is {reconnect.credentials.get('shop_domain')}; "
                                    "to connect another shop, connect a new store.")
            return self._render(form, reconnect, status=400)
        try:
            if reconnect is not None:
                integration = services.integration_update(merchant=self.merchant, actor=request.user,
                                                          integration=reconnect, credentials=form.credentials())
            else:
                integration = services.integration_create(merchant=self.merchant, actor=request.user,
                                                          channel=channel, name=form.store_name(),
                                                          credentials=form.credentials()).integration
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
            return self._render(form, reconnect, status=400)
        messages.success(request, f"{integration.name} is connected; listings and orders are being imported.")
        if result.missing_scopes:
            messages.warning(request, f"The token lacks: {', '.join(result.missing_scopes)}.")
        return HttpResponseRedirect(reverse("integration-detail", args=[integration.pk]))

    def _render(self, form, reconnect, *, test=None, status: int = 200):
        # The bound form shows the name, the shop and the errors; its password inputs never re-fill.
        ctx = self.get_context_data(token_form=form, reconnect=reconnect, test=test)
        return self.render_to_response(ctx, status=status)


class ShopifyInstallView(MerchantRequiredMixin, View):
    """"Install our app": a state nonce in the session, then Shopify's authorize page."""

    def post(self, request):
        from integrations.channels.shopify.client import authorize_url, new_state

        back = reverse("integration-connect", args=["shopify"])
        if not _oauth_configured():
            messages.error(request, "Installing our Shopify app is not set up on this server; "
                                    "use an existing custom app's token instead.")
            return HttpResponseRedirect(back)
        form = InstallForm(request.POST)
        if not form.is_valid():
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, problem)
            return HttpResponseRedirect(back)
        shop = form.cleaned_data["shop_domain"]
        reconnect_id = None
        if request.POST.get("reconnect"):
            reconnect = selectors.integration_get(merchant=self.merchant,
                                                  pk=parse_id(request.POST["reconnect"], field="reconnect"))
            if reconnect.channel != "shopify":
                raise NotFound("No such integration.")
            if shop != reconnect.credentials.get("shop_domain"):
                messages.error(request, f"{reconnect.name} is {reconnect.credentials.get('shop_domain')}; "
                                        "to connect another shop, connect a new store.")
                return HttpResponseRedirect(f"{back}?reconnect={reconnect.pk}")
            reconnect_id = reconnect.pk
        state = new_state()
        request.session[OAUTH_SESSION_KEY] = {
            "state": state, "shop": shop, "name": form.cleaned_data["name"].strip() or shop,
            "reconnect": reconnect_id, "started_at": time.time(),
        }
        scopes = channel_packages["shopify"].adapter.required_scopes
        url = authorize_url(shop=shop, client_id=settings.SHOPIFY_CLIENT_ID, scopes=scopes, state=state,
                            redirect_uri=request.build_absolute_uri(reverse("integration-shopify-callback")))
        return HttpResponseRedirect(url)


class ShopifyCallbackView(MerchantRequiredMixin, View):
    """Shopify sends the merchant back here after approving. The state is taken from the session once
    (a replay finds none); the HMAC, shop, state and timestamp are checked before the code is exchanged."""

    def get(self, request):
        from integrations.channels.shopify.client import OAuthRefused, exchange_code, verify_callback
        from integrations.http import ChannelError

        back = reverse("integration-connect", args=["shopify"])
        pending = request.session.pop(OAUTH_SESSION_KEY, None)

        def refuse(reason: str) -> HttpResponseRedirect:
            logger.warning("integrations.oauth.refused", extra={"merchant_id": self.merchant.pk, "reason": reason})
            messages.error(request, f"The Shopify install was refused: {reason}. Start the install again.")
            return HttpResponseRedirect(back)

        if not _oauth_configured():
            return refuse("our Shopify app is not set up on this server")
        if not isinstance(pending, dict) or not pending.get("state"):
            return refuse("no install was started from this session, or it was already finished")
        if time.time() - float(pending.get("started_at") or 0) > OAUTH_PENDING_SECONDS:
            return refuse("the install took too long")
        if any(len(values) > 1 for _, values in request.GET.lists()):
            return refuse("the callback repeats a parameter")
        params = {key: value for key, value in request.GET.items()}
        try:
            shop = verify_callback(params, client_secret=settings.SHOPIFY_CLIENT_SECRET,
                                   expected_state=str(pending["state"]))
        except OAuthRefused as exc:
            return refuse(str(exc))
        if shop != pending.get("shop"):
            return refuse(f"the callback names {shop}, not the store you started installing")
        code = params.get("code") or ""
        if not code:
            return refuse("the callback carries no authorization code")
        try:
            grant = exchange_code(shop=shop, code=code, client_id=settings.SHOPIFY_CLIENT_ID,
                                  client_secret=settings.SHOPIFY_CLIENT_SECRET,
                                  budget_key=f"merchant:{self.merchant.pk}:oauth")
        except ChannelError as exc:
            return refuse(f"Shopify did not exchange the code ({exc.__class__.__name__})")
        try:
            if pending.get("reconnect"):
                integration = selectors.integration_get(merchant=self.merchant, pk=int(pending["reconnect"]))
                integration = services.integration_update(merchant=self.merchant, actor=request.user,
                                                          integration=integration, credentials=grant, from_oauth=True)
            else:
                integration = services.integration_create(merchant=self.merchant, actor=request.user,
                                                          channel="shopify", name=str(pending.get("name") or shop),
                                                          credentials=grant, from_oauth=True).integration
        except ApplicationError as exc:
            return refuse(_error_text(exc))
        messages.success(request, f"{integration.name} is connected; listings and orders are being imported.")
        return HttpResponseRedirect(reverse("integration-detail", args=[integration.pk]))


class IntegrationDetailView(MerchantRequiredMixin, TemplateView):
    template_name = "integrations/detail.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        m = self.merchant
        integration = selectors.integration_get(merchant=m, pk=self.kwargs["pk"])
        filter_form = ListingFilterForm(self.request.GET or None)
        matched = filter_form.matched_value()
        qs = selectors.listing_list(merchant=m, integration=integration, matched=matched)
        try:
            page = keyset_page(qs, order=["id"], after=self.request.GET.get("after", ""), size=LISTINGS_PAGE)
        except ValidationFailed as exc:
            messages.error(self.request, f"{exc.message} Showing the first page.")
            page = keyset_page(qs, order=["id"], size=LISTINGS_PAGE)
        rules = integration.settings or {}
        ctx.update(
            integration=integration, badge=_status_badge(integration), lag=_sync_lag(integration),
            package=channel_packages.get(integration.channel), checkpoints=_checkpoints(integration),
            jobs=selectors.integration_jobs(merchant=m, integration=integration),
            findings=selectors.integration_doctor(merchant=m, integration=integration),
            first_push_changes=selectors.listing_first_push_changes(merchant=m, integration=integration),
            listings=page.rows, next_cursor=page.next_cursor, is_first_page=not self.request.GET.get("after"),
            filter_form=filter_form, matched=self.request.GET.get("matched", ""),
            rules_form=kwargs.get("rules_form") or PushRulesForm(
                initial={key: rules.get(key) for key in PushRulesForm.base_fields},
                locations=self.request.session.get(LOCATIONS_SESSION_KEY.format(pk=integration.pk)),
                our_locations=_our_locations(m)),
            shop_domain=integration.credentials.get("shop_domain", ""),
            is_disconnected=integration.status == Integration.Status.DISCONNECTED,
        )
        ctx["has_running"] = any(not job.is_finished for job in ctx["jobs"])
        return ctx


class IntegrationActionView(MerchantRequiredMixin, View):
    """POST /integrations/<pk>/<action>/: sync, test, rules."""

    def post(self, request, pk: int, action: str):
        m, user = self.merchant, request.user
        integration = selectors.integration_get(merchant=m, pk=pk)
        if action not in ("sync", "test", "rules"):
            raise NotFound("No such action.")
        back = reverse("integration-detail", args=[integration.pk])
        try:
            if action == "sync":
                job = services.integration_sync(merchant=m, actor=user, integration=integration)
                messages.success(request, f"Sync started (job {job.pk}).")
            elif action == "test":
                result = services.integration_test_connection(merchant=m, integration=integration)
                if result.ok:
                    request.session[LOCATIONS_SESSION_KEY.format(pk=integration.pk)] = result.locations
                    missing = f" Missing scopes: {', '.join(result.missing_scopes)}." if result.missing_scopes else ""
                    messages.success(request, f"Connected to {result.shop_name}.{missing}")
                else:
                    messages.error(request, f"The store refused the connection: {result.error}")
            else:
                form = PushRulesForm(request.POST,
                                     locations=request.session.get(LOCATIONS_SESSION_KEY.format(pk=integration.pk)),
                                     our_locations=_our_locations(m))
                if not form.is_valid():
                    messages.error(request, "The push rules are whole numbers and locations from the list.")
                    return HttpResponseRedirect(back + "#push-rules")
                services.integration_update(merchant=m, actor=user, integration=integration,
                                            settings=form.settings_changes())
                messages.success(request, "Push rules saved; the next push uses them.")
                return HttpResponseRedirect(back + "#push-rules")
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
        return HttpResponseRedirect(back)


class IntegrationDisconnectView(MerchantRequiredMixin, TemplateView):
    """GET: the confirm step; POST: disconnect (syncing stops; orders and listings stay)."""

    template_name = "integrations/disconnect.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["integration"] = selectors.integration_get(merchant=self.merchant, pk=self.kwargs["pk"])
        return ctx

    def post(self, request, pk: int):
        integration = selectors.integration_get(merchant=self.merchant, pk=pk)
        try:
            services.integration_disconnect(merchant=self.merchant, actor=request.user, integration=integration)
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"{integration.name} is disconnected. Its orders stay in your list.")
        return HttpResponseRedirect(reverse("integration-detail", args=[integration.pk]))


def _matched_text(matched: services.Matched) -> str:
    """What mapping did besides the mapping, in words."""
    parts = []
    if matched.opened:
        parts.append(f" Opening stock: {matched.opened} (the store's quantity and its open orders).")
    if matched.alias:
        parts.append(f" {matched.listing.sku} is remembered for this store's orders.")
    if matched.orders:
        parts.append(f" {matched.orders} waiting order(s) matched and reserved.")
    return "".join(parts)


class ListingImportView(MerchantRequiredMixin, View):
    """POST /integrations/<pk>/listings/import/: "Import unmatched listings as products" (all, or the
    listings ticked), a job."""

    def post(self, request, pk: int):
        m = self.merchant
        integration = selectors.integration_get(merchant=m, pk=pk)
        back = reverse("integration-detail", args=[integration.pk])
        chosen = request.POST.getlist("listing_ids")
        try:
            if request.POST.get("all_unmatched"):
                job = services.listings_import_start(merchant=m, actor=request.user, integration=integration,
                                                     all_unmatched=True)
            else:
                ids = [int(i) for i in chosen if i.isascii() and i.isdigit()]
                if len(ids) != len(chosen):
                    raise ValidationFailed("Choose listings from the list.")
                job = services.listings_import_start(merchant=m, actor=request.user, integration=integration,
                                                     listing_ids=ids)
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"Importing {job.progress_total} listing(s) as products (job {job.pk}).")
        return HttpResponseRedirect(back + "#listings")


class ListingActionView(MerchantRequiredMixin, View):
    """POST /integrations/<pk>/listings/<listing_id>/<action>/: map (to a product by SKU), create-product."""

    def post(self, request, pk: int, listing_id: int, action: str):
        m = self.merchant
        integration = selectors.integration_get(merchant=m, pk=pk)
        listing = selectors.listing_get(merchant=m, integration=integration, pk=listing_id)
        if action not in ("map", "create-product"):
            raise NotFound("No such action.")
        back = request.POST.get("next", "")
        if not back.startswith(reverse("integration-detail", args=[integration.pk])):
            back = reverse("integration-detail", args=[integration.pk])
        try:
            if action == "map":
                form = ListingMapForm(request.POST)
                if not form.is_valid():
                    raise ValidationFailed("Give one of your products' SKUs.")
                matched = services.listing_map(merchant=m, actor=request.user, listing=listing,
                                               sku=form.cleaned_data["sku"])
                done = f"{listing.title or listing.external_id} is mapped to {matched.listing.product.sku}."
            else:
                matched = services.listing_create_product(merchant=m, actor=request.user, listing=listing)
                done = f"Product {matched.listing.product.sku} created and mapped."
            messages.success(request, done + _matched_text(matched))
        except ApplicationError as exc:
            messages.error(request, _error_text(exc))
        return HttpResponseRedirect(back)
