"""Rates for a shipment from every carrier account at once, a label bought exactly once, and voids.

Rates: each active account is asked in its own thread with its own time-out (CARRIER_RATE_TIMEOUT; the
adapter retries a 429 or 5xx within it); the answers are shown together, and an account that failed or
a carrier that could not rate the address is reported beside them in its own words. The threads never
touch the database: they get a LabelRequest and return dataclasses.

Buying, exactly once whatever fails:
1. the purchase is recorded `intended` (its idempotency key derived from our rows) in a transaction of
   its own, before any carrier is called; a constraint allows one intended-or-bought label per
   shipment, so a double click or two workers make one row;
2. the purchase row is locked (`SELECT ... FOR UPDATE`: a second buyer waits here) and the carrier is
   called with the rate and key the row recorded (not the retry's); its answer, the label file (in
   Django storage) and the shipment shipped through orders' service commit together;
3. a lost answer (time-out, dropped connection, a crash before commit) leaves the row `intended`; the next
   attempt calls the carrier again for the same purchase, and the adapter turns "already bought"
   (EasyPost's SHIPMENT.POSTAGE.EXISTS) into the label it already has.
A carrier's refusal marks the purchase `failed` with its words, so another rate may be bought.
Holding the row lock across the carrier's call is deliberate: it is one row per shipment, the call has a
time-out, and it is what makes the second buyer wait instead of buying.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from accounts.models import Merchant
from accounts.services.audit import audit_record
from core.errors import (
    ApplicationError,
    Conflict,
    ExternalServiceUnavailable,
    NotFound,
    TransientConflict,
    ValidationFailed,
)
from core.http import AuthFailed, ExternalError, Rejected, Throttled
from core.metrics import LABEL_PURCHASES
from labels import selectors
from labels.carriers.base import LabelRequest, PurchasedLabel, Rate, RateQuote
from labels.models import CarrierAccount, Label, LabelRate
from labels.services.accounts import carrier_adapter, carrier_package
from labels.services.parcels import shipment_label_request
from labels.services.rules import rate_by_rule, rule_clean, shipping_rule_for
from orders import services as order_services
from orders.models import Shipment

logger = logging.getLogger("labels.purchase")

FILE_EXTENSIONS = {"PDF": "pdf", "PNG": "png", "ZPL": "zpl"}


@dataclass
class RatesResult:
    rates: list[LabelRate]
    errors: list[dict] = field(default_factory=list)  # {"carrier_account": id, "message": the carrier's words}


def _pending(shipment: Shipment) -> None:
    if shipment.status != Shipment.Status.PENDING:
        raise Conflict("This shipment has shipped already.", code="shipment_already_shipped",
                       details={"shipment": shipment.pk})


# ------------------------------------------------------------------ rates


def _rate_one(account_id: int, adapter, request: LabelRequest) -> tuple[int, RateQuote | ExternalError]:
    try:
        return account_id, adapter.rates(request)
    except ExternalError as exc:
        return account_id, exc


def shipment_rates(*, merchant: Merchant, shipment: Shipment, package_preset_id: int | None = None) -> RatesResult:
    """Ask every active carrier account at once for the parcel packed in `package_preset_id` (None: the
    products alone); keep the quotes (replacing the shipment's older ones)."""
    _pending(shipment)
    accounts = list(CarrierAccount.objects.filter(merchant=merchant, status=CarrierAccount.Status.ACTIVE)
                    .order_by("id"))
    if not accounts:
        raise Conflict("Connect a carrier account (Settings → Carrier accounts) to buy labels.",
                       code="no_carrier_account")
    # EasyPost fixes the label's format when the shipment is created: the merchant's, asked for here.
    request = shipment_label_request(merchant=merchant, shipment=shipment, package_preset_id=package_preset_id,
                                     label_format=merchant.label_format)
    timeout = float(settings.CARRIER_RATE_TIMEOUT)
    adapters, answers = {}, {}
    for a in accounts:
        try:
            adapters[a.pk] = carrier_adapter(a, timeout=timeout)
        except ExternalError as exc:  # its base URL refused (plain http://): that account's words, not a 500
            answers[a.pk] = exc
    by_pk = {a.pk: a for a in accounts}
    pool = ThreadPoolExecutor(max_workers=min(8, len(accounts)), thread_name_prefix="labels-rates")
    try:
        futures = [pool.submit(_rate_one, pk, adapter, request) for pk, adapter in adapters.items()]
        done, not_done = wait(futures, timeout=timeout) if futures else (set(), set())
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # an account past its time-out is not waited for
    answers.update(f.result() for f in done)
    rows: list[LabelRate] = []
    errors: list[dict] = []
    for account in accounts:
        answer = answers.get(account.pk)
        package = carrier_package(account.carrier)
        if answer is None:
            errors.append({"carrier_account": account.pk,
                           "message": f"{package.label} did not answer within {timeout:g} seconds."})
            continue
        if isinstance(answer, ExternalError):
            errors.append({"carrier_account": account.pk, "message": package.describe_error(answer)})
            continue
        errors += [{"carrier_account": account.pk, "message": m} for m in answer.messages]
        rows += [LabelRate(merchant=merchant, shipment=shipment, carrier_account=account,
                           package_preset_id=package_preset_id, external_id=r.external_id,
                           carrier=r.carrier, service=r.service, amount=r.amount, currency=r.currency,
                           delivery_days=r.delivery_days, carrier_data=dict(r.carrier_data)) for r in answer.rates]
    with transaction.atomic():
        LabelRate.objects.filter(merchant=merchant, shipment=shipment).delete()
        LabelRate.objects.bulk_create(rows)
    for row in rows:
        row.carrier_account = by_pk[row.carrier_account_id]
    return RatesResult(rates=sorted(rows, key=lambda r: (r.amount, r.pk)), errors=errors)


def _rate_pick(*, merchant: Merchant, shipment: Shipment, rate_id: int | None, rule: str | None,
               package_preset_id: int | None) -> LabelRate:
    if rate_id is not None:
        try:
            rate = selectors.label_rates(merchant=merchant, shipment=shipment).order_by().get(pk=rate_id)
        except LabelRate.DoesNotExist:
            raise NotFound("No such rate for this shipment; ask for rates again.", code="rate_not_found")
        if package_preset_id is not None and rate.package_preset_id != package_preset_id:
            raise ValidationFailed("That rate was quoted for another package; ask for rates in this one.",
                                   code="rate_package_mismatch",
                                   details={"fields": {"package_preset_id": "Not the package the rate was quoted for."}})
        return rate
    rule = rule_clean(rule) if rule is not None else shipping_rule_for(merchant=merchant, order=shipment.order)
    quotes = list(selectors.label_rates(merchant=merchant, shipment=shipment)
                  .filter(package_preset_id=package_preset_id))
    if not quotes:
        result = shipment_rates(merchant=merchant, shipment=shipment, package_preset_id=package_preset_id)
        quotes = result.rates
        if not quotes:
            words = "; ".join(e["message"] for e in result.errors)
            raise ValidationFailed("No carrier could rate this shipment" + (f": {words}" if words else "."),
                                   code="no_rates", details={"errors": result.errors})
    return rate_by_rule(quotes, rule)


# ------------------------------------------------------------------ buying


def _label_intend(*, merchant: Merchant, shipment: Shipment, rate: LabelRate) -> Label:
    """Record the purchase before the carrier hears of it. Two buyers race into the constraint (or the
    shared key) and both leave with the one row."""
    attempt = Label.objects.filter(merchant=merchant, shipment=shipment).count() + 1
    try:
        with transaction.atomic():
            return Label.objects.create(
                merchant=merchant, shipment=shipment, carrier_account=rate.carrier_account,
                idempotency_key=f"label-{shipment.pk}-{attempt}", rate_external_id=rate.external_id,
                carrier=rate.carrier, service=rate.service, cost_amount=rate.amount, currency=rate.currency,
                delivery_days=rate.delivery_days, carrier_data=rate.carrier_data,
                package_preset_id=rate.package_preset_id, label_format=merchant.label_format)
    except IntegrityError:
        live = selectors.label_live(merchant=merchant, shipment=shipment)
        if live is None:  # the other purchase failed meanwhile: a fresh attempt
            return _label_intend(merchant=merchant, shipment=shipment, rate=rate)
        return live


def purchased_label(label: Label) -> PurchasedLabel:
    """The stored label as its adapter knows it (to void it, or to ask where it is)."""
    return PurchasedLabel(external_id=label.external_id, tracking_number=label.tracking_number, carrier=label.carrier,
                          service=label.service, cost_amount=label.cost_amount, currency=label.currency,
                          label_url="", label_format=label.label_format, tracking_url=label.tracking_url,
                          carrier_data=label.carrier_data)


def label_buy(*, merchant: Merchant, actor, shipment: Shipment, rate_id: int | None = None,
              rule: str | None = None, package_preset_id: int | None = None) -> Shipment:
    """Buy the shipment's label (a quoted rate, or by rule for the parcel packed in `package_preset_id`;
    no rate and no rule: the merchant's shipping rule for the order) and ship the shipment. A rate keeps
    the package it was quoted for. Called again for a shipment whose
    purchase is under way or done, it finishes or returns that purchase: never a second."""
    live = selectors.label_live(merchant=merchant, shipment=shipment)
    if live is None:
        _pending(shipment)
        rate = _rate_pick(merchant=merchant, shipment=shipment, rate_id=rate_id, rule=rule,
                          package_preset_id=package_preset_id)
        live = _label_intend(merchant=merchant, shipment=shipment, rate=rate)
    refused = stopped = None
    written: list[str] = []  # files saved in storage by this attempt: removed again if it rolls back
    try:
        with transaction.atomic():
            label = Label.objects.select_for_update(of=("self",)).select_related("carrier_account").get(pk=live.pk)
            if label.status == Label.Status.BOUGHT:
                return Shipment.objects.get(merchant=merchant, pk=shipment.pk)
            if label.status != Label.Status.INTENDED:
                raise Conflict("That purchase was refused; choose a rate again.", code="label_failed",
                               details={"error": label.error})
            package = carrier_package(label.carrier_account.carrier)
            shipment = Shipment.objects.select_related("order").get(merchant=merchant, pk=shipment.pk)
            if shipment.status != Shipment.Status.PENDING:
                # Shipped another way (by hand, on the channel) or cancelled while this purchase waited on a
                # lost answer: never ask the carrier now. The purchase ends here, saying what to check.
                label.status = Label.Status.FAILED
                label.error = ("The shipment stopped waiting for a label before this purchase finished; if the "
                               f"carrier charged for an earlier attempt (key {label.idempotency_key}), void it there.")
                label.save(update_fields=["status", "error"])
                stopped = label.error
            else:
                shipped = _label_buy_locked(merchant=merchant, actor=actor, shipment=shipment, label=label,
                                            package=package, written=written)
                refused = None if isinstance(shipped, Shipment) else shipped
    except BaseException:
        _files_forget(written)
        raise
    if stopped is not None:
        raise Conflict(stopped, code="shipment_already_shipped", details={"shipment": shipment.pk})
    if refused is not None:
        raise ValidationFailed(refused, code="carrier_refused", details={"label": live.pk})
    return shipped


def _label_buy_locked(*, merchant: Merchant, actor, shipment: Shipment, label: Label, package, written: list[str]
                      ) -> Shipment | str:
    """The purchase itself, with the label row locked and the shipment still pending: the shipped shipment,
    or the carrier's words when it refused (the label recorded failed)."""
    refused: str | None = None
    request = shipment_label_request(merchant=merchant, shipment=shipment, label_format=label.label_format,
                                     package_preset_id=label.package_preset_id)
    rate = Rate(external_id=label.rate_external_id, carrier=label.carrier, service=label.service,
                amount=label.cost_amount, currency=label.currency, carrier_data=label.carrier_data)
    started = time.monotonic()
    try:
        adapter = carrier_adapter(label.carrier_account, timeout=float(settings.CARRIER_RATE_TIMEOUT) * 2)
        bought = adapter.buy(request, rate, idempotency_key=label.idempotency_key)
        content = adapter.label_file(bought)
    except (AuthFailed, Rejected) as exc:
        refused = package.describe_error(exc)
        LABEL_PURCHASES.labels(carrier=label.carrier_account.carrier, outcome="refused").inc()
        label.status, label.error = Label.Status.FAILED, refused
        label.save(update_fields=["status", "error"])
    except ExternalError as exc:
        LABEL_PURCHASES.labels(carrier=label.carrier_account.carrier, outcome="unanswered").inc()
        logger.warning("labels.purchase.unanswered label=%s key=%s error=%s", label.pk, label.idempotency_key,
                       type(exc).__name__)
        raise ExternalServiceUnavailable(
            f"{package.describe_error(exc)} The purchase is recorded: trying again never buys a second label.",
            code="carrier_unavailable", retry_after=exc.retry_after if isinstance(exc, Throttled) else 5)
    if refused is None:
        ext = FILE_EXTENSIONS.get(bought.label_format, "pdf")
        label.file.save(f"{label.idempotency_key}.{ext}", ContentFile(content), save=False)
        written.append(label.file.name)
        label.status, label.bought_at = Label.Status.BOUGHT, timezone.now()
        label.external_id, label.tracking_number = bought.external_id, bought.tracking_number
        label.tracking_url, label.label_format = bought.tracking_url[:500], bought.label_format
        label.carrier, label.service = bought.carrier or label.carrier, bought.service or label.service
        label.cost_amount, label.currency = bought.cost_amount, bought.currency
        label.carrier_data = {**label.carrier_data, **dict(bought.carrier_data)}
        label.save()
        # The quotes are spent: their carrier-side shipment is bought (EasyPost would answer any of
        # them with this label), so a re-ship after a void must ask for new ones.
        LabelRate.objects.filter(merchant=merchant, shipment=shipment).delete()
        audit_record(merchant=merchant, action="label.bought", actor=actor, obj=label,
                     object_repr=f"{label.carrier} {label.tracking_number} (order {shipment.order})",
                     changes={"cost": {"old": None, "new": f"{label.cost_amount} {label.currency}"},
                              "status": {"old": "intended", "new": "bought"}})
        shipped = order_services.shipment_mark_shipped(
            merchant=merchant, shipment=shipment, actor=actor, carrier=label.carrier,
            tracking_number=label.tracking_number, tracking_url=label.tracking_url, service=label.service,
            label_cost_amount=Decimal(label.cost_amount), delivery_days=label.delivery_days)
        # Counted inside the transaction: a rollback after this (rare) over-counts a purchase that the next
        # attempt finishes without buying again; the carrier did sell it.
        LABEL_PURCHASES.labels(carrier=label.carrier_account.carrier, outcome="bought").inc()
        logger.info("labels.purchase.bought label=%s key=%s duration_ms=%.1f", label.pk, label.idempotency_key,
                    (time.monotonic() - started) * 1000)
    return shipped if refused is None else refused


def _files_forget(names: list[str]) -> None:
    """The files of an attempt that rolled back: nothing refers to them, so they go (not orphaned)."""
    storage = Label._meta.get_field("file").storage
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # the rollback's own error is the one worth raising
            logger.exception("labels.purchase.orphan_file name=%s", name)


def _void_at_carrier(*, merchant: Merchant, actor, shipment: Shipment) -> Label:
    """Step 1 of a void, committed on its own: the refund asked of the carrier and, once accepted, the
    label recorded `voided` (its unship still to do) while its row is locked."""
    live = selectors.label_live(merchant=merchant, shipment=shipment)
    if live is None or live.status != Label.Status.BOUGHT:
        raise Conflict("This shipment has no bought label to void.", code="no_label",
                       details={"shipment": shipment.pk})
    with transaction.atomic():
        label = Label.objects.select_for_update(of=("self",)).select_related("carrier_account").get(pk=live.pk)
        if label.status != Label.Status.BOUGHT:
            raise Conflict("This label is no longer bought.", code="no_label", details={"shipment": shipment.pk})
        package = carrier_package(label.carrier_account.carrier)
        try:
            adapter = carrier_adapter(label.carrier_account, timeout=float(settings.CARRIER_RATE_TIMEOUT))
            result = adapter.void(purchased_label(label))
        except (AuthFailed, Rejected) as exc:
            raise Conflict(package.describe_error(exc), code="void_refused")
        except ExternalError as exc:
            raise ExternalServiceUnavailable(package.describe_error(exc), code="carrier_unavailable",
                                             retry_after=exc.retry_after if isinstance(exc, Throttled) else 5)
        if not result.is_accepted:
            raise Conflict(f"{package.label} did not accept the refund ({result.status}).", code="void_refused")
        label.status, label.void_status, label.voided_at = Label.Status.VOIDED, result.status, timezone.now()
        label.save(update_fields=["status", "void_status", "voided_at"])
        audit_record(merchant=merchant, action="label.voided", actor=actor, obj=label,
                     object_repr=f"{label.carrier} {label.tracking_number}",
                     changes={"status": {"old": "bought", "new": "voided"}, "refund": {"old": None, "new": result.status}})
    logger.info("labels.void.accepted label=%s status=%s", label.pk, result.status)
    return label


def label_void_finish(*, merchant: Merchant, actor, label: Label) -> Shipment:
    """Step 2 of a void: the shipment taken back through orders (stock restored, pending again). If that
    fails the label stays voided here as it is at the carrier, its `error` says what is left, and the
    next void call or the beat's sweep (labels_void_finish_due) tries again without asking the carrier."""
    try:
        with transaction.atomic():
            label = Label.objects.select_for_update(of=("self",)).select_related("shipment").get(pk=label.pk)
            shipment = label.shipment
            if label.unshipped_at is None and shipment.status == Shipment.Status.SHIPPED:
                shipment = order_services.shipment_unship(merchant=merchant, shipment=shipment, actor=actor,
                                                          reason=f"label {label.tracking_number} voided")
            label.unshipped_at, label.error = label.unshipped_at or timezone.now(), ""
            label.save(update_fields=["unshipped_at", "error"])
            return shipment
    except ApplicationError as exc:
        words = (f"{label.carrier} refunded the label, but the shipment could not be taken back here: "
                 f"{exc.message}")
        Label.objects.filter(merchant=merchant, pk=label.pk).update(error=words[:2000])
        logger.warning("labels.void.unship_failed label=%s code=%s", label.pk, exc.code)
        raise Conflict(words + " Void again once that is fixed: the carrier is not asked twice.",
                       code="void_unfinished", details={"label": label.pk, "reason": exc.code})
    except DatabaseError as exc:  # a lock time-out, a dropped connection: taken back by the sweep
        words = f"{label.carrier} refunded the label; taking the shipment back here is retried."
        Label.objects.filter(merchant=merchant, pk=label.pk).update(error=words)
        logger.warning("labels.void.unship_failed label=%s error=%s", label.pk, type(exc).__name__)
        raise TransientConflict(words, details={"label": label.pk}) from exc


def label_void(*, merchant: Merchant, actor, shipment: Shipment) -> Shipment:
    """Void the shipment's label: the carrier's refund first (recorded as soon as it is accepted), then
    the shipment back to pending with its stock on the shelf. A refused refund changes nothing and says
    why; a label voided earlier whose shipment was not taken back is finished, the carrier not asked."""
    unfinished = selectors.label_void_unfinished(merchant=merchant, shipment=shipment)
    label = unfinished or _void_at_carrier(merchant=merchant, actor=actor, shipment=shipment)
    return label_void_finish(merchant=merchant, actor=actor, label=label)


def labels_void_finish_due(*, merchant: Merchant) -> dict[str, int]:
    """The sweep: every voided label of the merchant whose shipment is still to be taken back."""
    done = failed = 0
    for label in selectors.labels_void_unfinished(merchant=merchant):
        try:
            label_void_finish(merchant=merchant, actor=None, label=label)
            done += 1
        except ApplicationError:  # recorded on the label; the next sweep tries again
            failed += 1
    return {"finished": done, "failed": failed}
