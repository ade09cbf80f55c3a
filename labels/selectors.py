"""Reads worth naming: a merchant's carrier accounts, a shipment's quotes and its live label, packages."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Merchant
from core.errors import NotFound
from labels.models import CarrierAccount, Label, LabelBatch, LabelRate, PackagePreset, ShippingRule
from orders.models import Shipment


def carrier_account_list(*, merchant: Merchant) -> QuerySet[CarrierAccount]:
    return CarrierAccount.objects.filter(merchant=merchant).exclude(
        status=CarrierAccount.Status.DISCONNECTED).order_by("id")


def carrier_account_get(*, merchant: Merchant, pk: int | str) -> CarrierAccount:
    try:
        return carrier_account_list(merchant=merchant).order_by().get(pk=int(pk))
    except (CarrierAccount.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such carrier account.")


def label_rates(*, merchant: Merchant, shipment: Shipment) -> QuerySet[LabelRate]:
    return LabelRate.objects.filter(merchant=merchant, shipment=shipment).select_related("carrier_account")


def label_live(*, merchant: Merchant, shipment: Shipment) -> Label | None:
    """The shipment's label being bought or bought (at most one: a constraint), or None."""
    rows = list(Label.objects.filter(merchant=merchant, shipment=shipment,
                                     status__in=[Label.Status.INTENDED, Label.Status.BOUGHT]).order_by()[:1])
    return rows[0] if rows else None


def labels_void_unfinished(*, merchant: Merchant) -> QuerySet[Label]:
    """Labels refunded at the carrier whose shipment was not taken back here yet (void's second step)."""
    return Label.objects.filter(merchant=merchant, status=Label.Status.VOIDED, unshipped_at__isnull=True).order_by("id")


def merchants_with_unfinished_voids() -> list[int]:
    """For the beat's fan-out (called unscoped)."""
    return sorted(set(Label.objects.filter(status=Label.Status.VOIDED, unshipped_at__isnull=True)
                      .values_list("merchant_id", flat=True).distinct()))


def label_void_unfinished(*, merchant: Merchant, shipment: Shipment) -> Label | None:
    return labels_void_unfinished(merchant=merchant).filter(shipment=shipment).first()


def label_bought(*, merchant: Merchant, shipment: Shipment) -> Label:
    label = label_live(merchant=merchant, shipment=shipment)
    if label is None or label.status != Label.Status.BOUGHT or not label.file:
        raise NotFound("This shipment has no label.")
    return label


def label_batch_list(*, merchant: Merchant) -> QuerySet[LabelBatch]:
    return LabelBatch.objects.filter(merchant=merchant).select_related("job").order_by("-id")


def label_batch_get(*, merchant: Merchant, pk: int | str) -> LabelBatch:
    try:
        return label_batch_list(merchant=merchant).order_by().get(pk=int(pk))
    except (LabelBatch.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such label batch.")


def labels_by_shipment(*, merchant: Merchant, shipment_ids: list[int]) -> dict[int, Label]:
    """Each shipment's label as the pages show it: the live one (being bought or bought), else the last
    voided or failed one. One query for a page of shipments."""
    found: dict[int, Label] = {}
    rank = {Label.Status.BOUGHT: 0, Label.Status.INTENDED: 1}
    for label in (Label.objects.filter(merchant=merchant, shipment_id__in=shipment_ids)
                  .select_related("carrier_account").order_by("id")):
        current = found.get(label.shipment_id)
        if current is None or rank.get(label.status, 2) <= rank.get(current.status, 2):
            found[label.shipment_id] = label
    return found


def shipment_carriers(*, merchant: Merchant) -> list[str]:
    """The carriers the merchant's shipments name, for the shipments list's filter."""
    return sorted(c for c in Shipment.objects.filter(merchant=merchant).exclude(carrier="").order_by()
                  .values_list("carrier", flat=True).distinct())


def package_preset_list(*, merchant: Merchant) -> QuerySet[PackagePreset]:
    return PackagePreset.objects.filter(merchant=merchant).order_by("name", "id")


def package_preset_get(*, merchant: Merchant, pk: int | str) -> PackagePreset:
    try:
        return package_preset_list(merchant=merchant).order_by().get(pk=int(pk))
    except (PackagePreset.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such package.")


def shipping_rule_list(*, merchant: Merchant) -> QuerySet[ShippingRule]:
    return ShippingRule.objects.filter(merchant=merchant).order_by("channel", "country", "id")


def shipping_rule_get(*, merchant: Merchant, pk: int | str) -> ShippingRule:
    try:
        return shipping_rule_list(merchant=merchant).order_by().get(pk=int(pk))
    except (ShippingRule.DoesNotExist, ValueError, TypeError):
        raise NotFound("No such shipping rule.")


def has_carrier_account(merchant) -> bool:
    """Setup checklist fact: a carrier account is added and not disconnected, so labels can be bought."""
    return CarrierAccount.objects.filter(merchant=merchant).exclude(status=CarrierAccount.Status.DISCONNECTED).exists()
