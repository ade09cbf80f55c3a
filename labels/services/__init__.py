"""Labels' services: carrier accounts (accounts.py), rates and purchases (purchase.py)."""

from labels.services.accounts import (
    carrier_account_create,
    carrier_account_disconnect,
    carrier_account_test,
    carrier_account_update,
)
from labels.services.batches import label_batch_create, label_batch_run
from labels.services.purchase import (
    RatesResult,
    label_buy,
    label_void,
    labels_void_finish_due,
    shipment_label_request,
    shipment_rates,
)

__all__ = ["RatesResult", "carrier_account_create", "label_batch_create", "label_batch_run", "carrier_account_disconnect", "carrier_account_test",
           "carrier_account_update", "label_buy", "label_void", "labels_void_finish_due", "shipment_label_request", "shipment_rates"]
