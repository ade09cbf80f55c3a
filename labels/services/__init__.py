"""Labels' services: carrier accounts (accounts.py), packages (packages.py), the parcel (parcels.py),
rates and purchases (purchase.py), batches (batches.py)."""

from labels.services.accounts import (
    carrier_account_create,
    carrier_account_disconnect,
    carrier_account_test,
    carrier_account_update,
)
from labels.services.batches import label_batch_create, label_batch_run
from labels.services.packages import package_preset_create, package_preset_delete, package_preset_update
from labels.services.parcels import shipment_customs, shipment_label_request, shipment_parcel
from labels.services.purchase import (
    RatesResult,
    label_buy,
    label_void,
    labels_void_finish_due,
    shipment_rates,
)
from labels.services.rules import (
    shipping_rule_create,
    shipping_rule_delete,
    shipping_rule_for,
    shipping_rule_update,
)

__all__ = ["RatesResult", "carrier_account_create", "carrier_account_disconnect", "carrier_account_test",
           "carrier_account_update", "label_batch_create", "label_batch_run", "label_buy", "label_void",
           "labels_void_finish_due", "package_preset_create", "package_preset_delete", "package_preset_update",
           "shipment_customs", "shipment_label_request", "shipment_parcel", "shipment_rates", "shipping_rule_create",
           "shipping_rule_delete", "shipping_rule_for", "shipping_rule_update"]
