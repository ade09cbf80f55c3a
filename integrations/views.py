"""Dashboard pages of the integrations app: connected stores, connecting one (the channel package's
install flow, or its connect form), and one store's page (status, jobs, doctor, listings, push rules).

Reads go through integrations.selectors, writes through integrations.services, as the API's do.
Credentials are never rendered: secret fields are password inputs that do not re-fill, and no page
context carries the stored credentials (only the store's account_ref, which is not a secret). No page
names a channel: what differs between channels comes from its ChannelPackage.
"""

from __future__ import annotations

import logging
import secrets
import time
from datetime import datetime
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import ngettext
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from accounts.views import MerchantRequiredMixin
from core.api import error_body
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.fields import decrypt, encrypt
from core.pagination import keyset_page
from core.parsing import parse_id
from integrations import installs, selectors, services
from integrations.forms import ListingFilterForm, ListingMapForm, PushRulesForm
from integrations.models import Integration
from integrations.registry import InstallRefused, channel_packages
from inventory import selectors as inventory_selectors

logger = logging.getLogger(__name__)

LISTINGS_PAGE = 50
LOCATIONS_SESSION_KEY = "integrations.locations.{pk}"  # the last connection test's locations, for the rules form
INSTALL_SESSION_KEY = "integrations.install"  # the one install in progress: channel, state, the form's data
INSTALL_PENDING_SECONDS = 30 * 60  # an install started longer ago than this is started again
KEYS_MAX_BODY = 64 * 1024  # a channel's delivery of one store's credentials
TESTED_SESSION_KEY = "integrations.tested.{channel}"  # a successful test's secrets, encrypted
CHECKPOINT_LABELS = {
    "orders_updated_at": "Orders fetched up to",
    "orders_cursor": "Order page in progress",
    "listings_cursor": "Listing page in progress",
    "listings_synced_at": "Listings imported at",
    "backfill_started_at": "Backfill started at",
    "backfill_finished_at": "Backfill finished at",
}


def _package_or_404(channel: str):
    package = channel_packages.get(channel)
    if package is None:
        raise NotFound("No such channel.")
    return package


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
            shown = (ngettext("%(n)s topic registered", "%(n)s topics registered", len(topics)) % {"n": len(topics)} + (f", {len(missing)} missing" if missing else "")
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
        channels = [{"package": p, "connectable": p.can_connect} for p in channel_packages.values()]
        return super().get_context_data(stores=stores, channels=channels, **kwargs)


def _secret_fields(form: forms.Form) -> list[str]:
    """The fields a page never renders back: those with a password input."""
    return [name for name, field in form.fields.items() if isinstance(field.widget, forms.PasswordInput)]


class ConnectView(MerchantRequiredMixin, TemplateView):
    """/integrations/connect/<channel>/: the package's install button (when it has an install flow and
    this server is configured for it) and its connect form with "Test connection". `?reconnect=<id>`
    prefills the account of a store to reconnect. Nothing here names a channel: the package says."""

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
        initial: dict[str, Any] = {}
        if reconnect is not None and package.connect_form is not None:
            initial = {package.connect_form.account_field: reconnect.account_ref, "name": reconnect.name}
        install = package.install
        connect_form = kwargs.get("connect_form")
        if connect_form is None and package.connect_form is not None:
            connect_form = package.connect_form(initial=initial)
        ctx = super().get_context_data(**kwargs)
        ctx.update(
            package=package, reconnect=reconnect, can_connect=package.can_connect,
            install=install, install_enabled=install is not None and install.is_configured(),
            install_form=kwargs.get("install_form") or (install.form_class(initial=initial) if install else None),
            connect_form=connect_form,
            kept_secrets=kwargs.get("kept_secrets", ()),
        )
        return ctx


class ConnectTokenView(ConnectView):
    """POST of the connect form: "Test connection" (nothing stored in the integration) or "Save and
    connect" (tested first; refused credentials are not stored). A successful test keeps what was typed:
    the secrets, encrypted, in the session for this channel and account, so "Save and connect" right
    after needs nothing typed again; they are never rendered back."""

    def get(self, request, *args, **kwargs):
        return HttpResponseRedirect(reverse("integration-connect", args=[kwargs["channel"]]))

    def _kept_key(self, channel: str) -> str:
        return TESTED_SESSION_KEY.format(channel=channel)

    def _with_kept_secrets(self, form_class, channel: str):
        """The POST with each empty secret field filled from a successful test of the same account."""
        data = self.request.POST.copy()
        kept = self.request.session.get(self._kept_key(channel)) or {}
        account_field = form_class.account_field
        typed = (data.get(account_field) or "").strip().lower() if account_field else ""
        if kept and kept.get("account") == typed:
            for name, token in (kept.get("secrets") or {}).items():
                if not data.get(name):
                    data[name] = decrypt(token)
        return data

    def post(self, request, channel: str):
        package = _package_or_404(channel)
        if not package.can_connect:
            raise NotFound("This channel cannot be connected yet.")
        reconnect = self._reconnecting()
        form = package.connect_form(self._with_kept_secrets(package.connect_form, channel))
        if not form.is_valid():
            messages.error(request, "Check the highlighted fields.")
            return self._render(form, reconnect, status=400)
        try:
            result = services.credentials_test(merchant=self.merchant, channel=channel, credentials=form.credentials())
        except ApplicationError as exc:
            messages.error(request, services.error_text(exc))
            return self._render(form, reconnect, status=400)
        if not result.ok:
            request.session.pop(self._kept_key(channel), None)
            messages.error(request, f"The store refused the connection: {result.error}")
            return self._render(form, reconnect, test=result, status=400)
        if request.POST.get("action") != "save":
            secret_names = _secret_fields(form)
            account_field = package.connect_form.account_field
            request.session[self._kept_key(channel)] = {
                "account": (request.POST.get(account_field) or "").strip().lower() if account_field else "",
                "secrets": {name: encrypt(str(form.cleaned_data[name]))
                            for name in secret_names if form.cleaned_data.get(name)}}
            messages.success(request, f"Connected to {result.shop_name}. Choose \"Save and connect\" to keep it.")
            return self._render(form, reconnect, test=result, status=200, kept_secrets=secret_names)
        if reconnect is not None and form.account() != reconnect.account_ref:
            messages.error(request, f"{reconnect.name} is {reconnect.account_ref}; "
                                    "to connect another store, connect a new one.")
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
            messages.error(request, services.error_text(exc))
            return self._render(form, reconnect, status=400)
        request.session.pop(self._kept_key(channel), None)
        messages.success(request, f"{integration.name} is connected; listings and orders are being imported.")
        if result.missing_scopes:
            messages.warning(request, f"The credentials lack: {', '.join(result.missing_scopes)}.")
        return HttpResponseRedirect(reverse("integration-detail", args=[integration.pk]))

    def _render(self, form, reconnect, *, test=None, status: int = 200, kept_secrets=()):
        # The bound form shows the name, the account and the errors; its password inputs never re-fill.
        # A secret kept from a successful test may be left empty, so the browser must not demand it
        # (its `required` attribute blocked "Save and connect" after a test: the first-hour walk found it).
        for name in kept_secrets:
            form.fields[name].required = False
        ctx = self.get_context_data(connect_form=form, reconnect=reconnect, test=test, kept_secrets=kept_secrets)
        return self.render_to_response(ctx, status=status)


class InstallView(MerchantRequiredMixin, View):
    """POST /integrations/connect/<channel>/install/: the package's install form checked, a state nonce
    and the form's data kept in the session, then the channel's authorize page."""

    def post(self, request, channel: str):
        package = _package_or_404(channel)
        if package.install is None:
            raise NotFound("This channel has no install flow.")
        back = reverse("integration-connect", args=[channel])
        if not package.install.is_configured():
            messages.error(request, f"Installing our {package.label} app is not set up on this server; "
                                    "use the connect form instead.")
            return HttpResponseRedirect(back)
        form = package.install.form_class(request.POST)
        if not form.is_valid():
            for problems in form.errors.values():
                for problem in problems:
                    messages.error(request, problem)
            return HttpResponseRedirect(back)
        account = str(form.cleaned_data.get(form.account_field) or "")
        reconnect_id = None
        if request.POST.get("reconnect"):
            reconnect = selectors.integration_get(merchant=self.merchant,
                                                  pk=parse_id(request.POST["reconnect"], field="reconnect"))
            if reconnect.channel != channel:
                raise NotFound("No such integration.")
            if account != reconnect.account_ref:
                messages.error(request, f"{reconnect.name} is {reconnect.account_ref}; "
                                        "to connect another store, connect a new one.")
                return HttpResponseRedirect(f"{back}?reconnect={reconnect.pk}")
            reconnect_id = reconnect.pk
        data = {key: value for key, value in form.cleaned_data.items() if key != "name"}
        name = (form.cleaned_data.get("name") or "").strip() or account
        redirect_uri = request.build_absolute_uri(reverse("integration-install-callback", args=[channel]))
        if package.install.credentials_by_post:
            # The channel delivers the credentials server to server, with no session: a pending install row.
            token = installs.install_pending_start(merchant=self.merchant, user=request.user, channel=channel,
                                                   data=data, name=name, reconnect_id=reconnect_id)
            post_url = settings.WEBHOOK_BASE_URL.rstrip("/") + reverse("integration-install-keys", args=[channel])
            return HttpResponseRedirect(package.install(data).authorize_url(token, redirect_uri, post_url=post_url))
        state = secrets.token_urlsafe(24)
        request.session[INSTALL_SESSION_KEY] = {
            "channel": channel, "state": state, "data": data,
            "name": name, "reconnect": reconnect_id, "started_at": time.time(),
        }
        return HttpResponseRedirect(package.install(data).authorize_url(state, redirect_uri))


class InstallCallbackView(MerchantRequiredMixin, View):
    """GET /integrations/connect/<channel>/callback/: the channel sends the merchant back here after
    approving. The pending install is taken from the session once (a replay finds none) and must be for
    this channel; the package's flow checks the query and hands back the credentials to store."""

    def get(self, request, channel: str):
        package = _package_or_404(channel)
        if package.install is None:
            raise NotFound("This channel has no install flow.")
        back = reverse("integration-connect", args=[channel])

        def refuse(reason: str) -> HttpResponseRedirect:
            logger.warning("integrations.install.refused", extra={"merchant_id": self.merchant.pk,
                                                                  "channel": channel, "reason": reason})
            messages.error(request, f"The {package.label} install was refused: {reason}. Start the install again.")
            return HttpResponseRedirect(back)

        if package.install.credentials_by_post:
            return self._returned(request, package, refuse)
        pending = request.session.pop(INSTALL_SESSION_KEY, None)

        if not package.install.is_configured():
            return refuse(f"our {package.label} app is not set up on this server")
        if not isinstance(pending, dict) or not pending.get("state") or pending.get("channel") != channel:
            return refuse("no install was started from this session, or it was already finished")
        if time.time() - float(pending.get("started_at") or 0) > INSTALL_PENDING_SECONDS:
            return refuse("the install took too long")
        if any(len(values) > 1 for _, values in request.GET.lists()):
            return refuse("the callback repeats a parameter")
        params = {key: value for key, value in request.GET.items()}
        try:
            credentials = package.install(pending.get("data") or {}).complete(
                params, state=str(pending["state"]), budget_key=f"merchant:{self.merchant.pk}:install")
        except InstallRefused as exc:
            return refuse(str(exc))
        try:
            if pending.get("reconnect"):
                integration = selectors.integration_get(merchant=self.merchant, pk=int(pending["reconnect"]))
                integration = services.integration_update(merchant=self.merchant, actor=request.user,
                                                          integration=integration, credentials=credentials,
                                                          from_install=True)
            else:
                integration = services.integration_create(merchant=self.merchant, actor=request.user,
                                                          channel=channel, name=str(pending.get("name") or channel),
                                                          credentials=credentials, from_install=True).integration
        except ApplicationError as exc:
            return refuse(services.error_text(exc))
        messages.success(request, f"{integration.name} is connected; listings and orders are being imported.")
        return HttpResponseRedirect(reverse("integration-detail", args=[integration.pk]))


    def _returned(self, request, package, refuse) -> HttpResponseRedirect:
        """The browser back from a channel that delivered (or not) the credentials server to server: the
        pending install it names, this merchant's only, says what came of it."""
        params = {key: value for key, value in request.GET.items()}
        declined = package.install({}).returned_refused(params)
        try:
            returned = installs.install_pending_returned(merchant=self.merchant, channel=package.slug,
                                                         token=params.get(package.install.state_param, ""))
        except NotFound:
            return refuse("no install was started with this id from your account")
        if returned.integration is not None:
            messages.success(request, f"{returned.integration.name} is connected; listings and orders are "
                                      "being imported.")
            return HttpResponseRedirect(reverse("integration-detail", args=[returned.integration.pk]))
        return refuse(declined or returned.error)


@method_decorator(csrf_exempt, name="dispatch")
class InstallKeysView(View):
    """POST /webhooks/install/<channel>/keys/: a channel's server-to-server delivery of the credentials
    for a pending install (no session, no login, no CSRF token: the install's random id in the body is
    the proof). Answered 200 when stored; otherwise the refusal in the common error shape, nothing stored."""

    http_method_names = ["post"]

    def post(self, request, channel: str) -> JsonResponse:
        if len(request.body) > KEYS_MAX_BODY:
            return JsonResponse(error_body("payload_too_large", "The body is too large."), status=413)
        try:
            integration = installs.install_credentials_receive(channel=channel, body=request.body,
                                                               content_type=request.content_type or "")
        except ApplicationError as exc:
            return JsonResponse(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        return JsonResponse({"ok": True, "integration": integration.pk}, status=200)


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
            account_ref=integration.account_ref,
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
                    for found in result.findings:
                        messages.warning(request, f"{found['message']} {found['fix']}")
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
            messages.error(request, services.error_text(exc))
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
            messages.error(request, services.error_text(exc))
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
        parts.append(" " + ngettext("%(n)s waiting order matched and reserved.",
                                     "%(n)s waiting orders matched and reserved.", matched.orders) % {"n": matched.orders})
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
            messages.error(request, services.error_text(exc))
        else:
            messages.success(request, ngettext("Importing %(n)s listing as a product (job %(job)s).",
                                               "Importing %(n)s listings as products (job %(job)s).",
                                               job.progress_total) % {"n": job.progress_total, "job": job.pk})
        return HttpResponseRedirect(back + "#listings")


class ListingActionView(MerchantRequiredMixin, View):
    """POST /integrations/<pk>/listings/<listing_id>/<action>/: map (to a product by SKU), create-product,
    retry-push (send a refused quantity again)."""

    def post(self, request, pk: int, listing_id: int, action: str):
        m = self.merchant
        integration = selectors.integration_get(merchant=m, pk=pk)
        listing = selectors.listing_get(merchant=m, integration=integration, pk=listing_id)
        if action not in ("map", "create-product", "retry-push"):
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
            elif action == "retry-push":
                services.listing_push_retry(merchant=m, actor=request.user, listing=listing)
                messages.success(request, f"{listing.sku or listing.external_id} will be pushed again shortly.")
                return HttpResponseRedirect(back)
            else:
                matched = services.listing_create_product(merchant=m, actor=request.user, listing=listing)
                done = f"Product {matched.listing.product.sku} created and mapped."
            messages.success(request, done + _matched_text(matched))
        except ApplicationError as exc:
            messages.error(request, services.error_text(exc))
        return HttpResponseRedirect(back)
