"""Factories for the tenant-isolation guard test: one per model a labels API endpoint serves."""

from labels.models import CarrierAccount
from tests.factories import object_factory


@object_factory(CarrierAccount)
def carrier_account(tenant):
    return CarrierAccount.objects.create(merchant=tenant.merchant, carrier="easypost", name="Guard account",
                                         credentials={"api_key": "EZTK_guard"})
