"""Factories for the tenant-isolation guard test: one per model a labels API endpoint serves."""

from jobs.services import job_create
from labels.models import CarrierAccount, LabelBatch, PackagePreset, ShippingRule
from tests.factories import object_factory


@object_factory(CarrierAccount)
def carrier_account(tenant):
    return CarrierAccount.objects.create(merchant=tenant.merchant, carrier="easypost", name="Guard account",
                                         credentials={"api_key": "EZTK_guard"})


@object_factory(LabelBatch)
def label_batch(tenant):
    job = job_create(merchant=tenant.merchant, kind="labels.label_batch", total=1)
    return LabelBatch.objects.create(merchant=tenant.merchant, job=job, order_ids=[1])


@object_factory(PackagePreset)
def package_preset(tenant):
    return PackagePreset.objects.create(merchant=tenant.merchant, name="Guard box", length_mm=300, width_mm=200,
                                        height_mm=100, empty_weight_grams=150)


@object_factory(ShippingRule)
def shipping_rule(tenant):
    return ShippingRule.objects.create(merchant=tenant.merchant, channel="", country="GB", rule="fastest")
