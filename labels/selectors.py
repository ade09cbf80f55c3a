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
