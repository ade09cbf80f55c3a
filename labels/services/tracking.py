"""Tracking news from carriers: a tracker event (EasyPost's webhook) or a poll (ShipStation, which has no
tracking webhooks for our labels) moves the label's shipment through orders, with the same e-mail rules.

The poll, within a budget: a merchant's run asks about at most LABEL_TRACKING_POLL_BATCH labels, those
asked least recently first (a label not asked within LABEL_TRACKING_POLL_MINUTES), only shipments still
on their way (not delivered or returned) and bought in the last LABEL_TRACKING_POLL_DAYS; each account's
calls also go through its client's rate budget. A carrier that fails for one label is that label's
failure (asked again next run); one that refuses the account's key stops that account's run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import Merchant
from core.http import AuthFailed, ExternalError
from labels.models import CarrierAccount, Label
from labels.registry import carrier_package_get, carrier_packages
from labels.services.accounts import carrier_adapter
from labels.services.purchase import purchased_label
from orders import services as order_services
from orders.models import Shipment

logger = logging.getLogger("labels.tracking")
FINAL = (Shipment.TrackingStatus.DELIVERED, Shipment.TrackingStatus.RETURNED)


def _source_words(account: CarrierAccount) -> str:
    """The carrier as the order's tracking history names it ("EasyPost"), not its slug."""
    package = carrier_package_get(account.carrier)
    return package.label if package else account.carrier


def label_tracking_event(*, merchant: Merchant, account: CarrierAccount, tracking_number: str, status: str,
                         description: str = "", occurred_at: datetime | None = None) -> dict[str, Any]:
    """Find the bought label of `account` with this tracking number and record where its parcel is. A
    tracking number we did not buy (a tracker made elsewhere in the same EasyPost account) is ignored."""
    rows = list(Label.objects.filter(merchant=merchant, carrier_account=account, tracking_number=tracking_number,
                                     status=Label.Status.BOUGHT).select_related("shipment").order_by("-id")[:1])
    if not rows:
        return {"action": "ignored", "reason": "no label of ours has this tracking number"}
    changed = order_services.shipment_tracking_update(merchant=merchant, shipment=rows[0].shipment, status=status,
                                                      description=description, occurred_at=occurred_at,
                                                      source=_source_words(account))
    return {"action": "updated" if changed else "unchanged", "shipment": rows[0].shipment_id, "status": status}


def polled_carriers() -> list[str]:
    return [slug for slug, package in carrier_packages.items() if package.polls_tracking]


def labels_to_poll(*, merchant: Merchant | None = None, now: datetime | None = None) -> QuerySet[Label]:
    """Bought labels of polled carriers' active accounts whose parcel is still on its way and that were
    not asked about lately, least recently asked first."""
    now = now or timezone.now()
    qs = Label.objects.filter(
        status=Label.Status.BOUGHT, carrier_account__carrier__in=polled_carriers(),
        carrier_account__status=CarrierAccount.Status.ACTIVE, shipment__status=Shipment.Status.SHIPPED,
        bought_at__gte=now - timedelta(days=int(settings.LABEL_TRACKING_POLL_DAYS)),
    ).exclude(shipment__tracking_status__in=FINAL).filter(
        Q(tracking_polled_at__isnull=True)
        | Q(tracking_polled_at__lt=now - timedelta(minutes=float(settings.LABEL_TRACKING_POLL_MINUTES))))
    if merchant is not None:
        qs = qs.filter(merchant=merchant)
    return qs.order_by(F("tracking_polled_at").asc(nulls_first=True), "id")


def labels_tracking_poll(*, merchant: Merchant) -> dict[str, int]:
    """One run of the poll for one merchant (the beat's task): see the module's docstring."""
    labels = list(labels_to_poll(merchant=merchant).select_related("carrier_account", "shipment")
                  [: int(settings.LABEL_TRACKING_POLL_BATCH)])
    adapters: dict[int, Any] = {}
    refused: set[int] = set()
    counts = {"asked": 0, "changed": 0, "failed": 0}
    for label in labels:
        account = label.carrier_account
        if account.pk in refused:
            continue
        counts["asked"] += 1
        try:
            if account.pk not in adapters:  # a refused base URL is this account's failure, not the whole run's
                adapters[account.pk] = carrier_adapter(account, timeout=float(settings.CARRIER_RATE_TIMEOUT))
            info = adapters[account.pk].track(purchased_label(label))
        except AuthFailed:
            refused.add(account.pk)
            counts["failed"] += 1
            logger.warning("labels.tracking.poll_refused account=%s", account.pk)
            continue
        except ExternalError as exc:
            counts["failed"] += 1
            logger.info("labels.tracking.poll_failed label=%s error=%s", label.pk, type(exc).__name__)
            continue
        with transaction.atomic():
            Label.objects.filter(merchant=merchant, pk=label.pk).update(tracking_polled_at=timezone.now())
            if info.status:
                counts["changed"] += order_services.shipment_tracking_update(
                    merchant=merchant, shipment=label.shipment, status=info.status, description=info.description,
                    occurred_at=info.occurred_at, source=_source_words(account))
    return counts


def merchants_to_poll() -> list[int]:
    """For the beat's fan-out (called unscoped): the merchants with a label to ask about now."""
    return sorted(set(labels_to_poll().order_by().values_list("merchant_id", flat=True).distinct()))
