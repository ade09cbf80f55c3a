"""EasyPost's CarrierAdapter: a shipment is created per rate request (its rates are priced for it), a
rate is bought on its own shipment, a bought shipment is refunded to void it.

Exactly once: EasyPost buys a shipment at most once and answers a second buy with
`SHIPMENT.POSTAGE.EXISTS`; after a lost answer (ours or a retried task's) the adapter reads that code and
takes the label the shipment already has. Our idempotency key names the purchase in our logs; the
shipment id the rate belongs to is what makes the carrier's side idempotent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from core.http import Budget, HttpClient
from labels.carriers.base import (
    CarrierAdapter,
    ConnectionInfo,
    LabelRequest,
    PurchasedLabel,
    Rate,
    RateQuote,
    VoidResult,
)
from labels.carriers.easypost import mapping
from labels.carriers.easypost.client import EasyPostClient, EasyPostRejected

logger = logging.getLogger("labels.easypost")
POSTAGE_EXISTS = "SHIPMENT.POSTAGE.EXISTS"
REFUND_EXISTS = "SHIPMENT.REFUND.EXISTS"  # the fake's code; unverified in reference §4


class EasyPostAdapter(CarrierAdapter):
    def __init__(self, credentials: dict[str, Any], *, budget_key: str, timeout: float | None = None) -> None:
        super().__init__(credentials, budget_key=budget_key, timeout=timeout)
        self.client = EasyPostClient(self.credentials["api_key"], timeout=timeout or 30.0)

    def _deadline(self) -> float | None:
        return time.monotonic() + self.timeout if self.timeout else None

    def test_connection(self) -> ConnectionInfo:
        me = self.client.as_dict(self.client.call("user", self.client.sdk.user.retrieve_me))
        return ConnectionInfo(account_name=str(me.get("name") or me.get("email") or me.get("id") or ""))

    def rates(self, request: LabelRequest) -> RateQuote:
        shipment = self.client.call("shipment.create", self.client.sdk.shipment.create,
                                    deadline=self._deadline(), **mapping.shipment_params(request))
        return mapping.rates_from_shipment(self.client.as_dict(shipment))

    def buy(self, request: LabelRequest, rate: Rate, *, idempotency_key: str) -> PurchasedLabel:
        shipment_id = str(rate.carrier_data.get("shipment_id") or "")
        logger.info("labels.easypost.buy key=%s shipment=%s", idempotency_key, shipment_id)
        try:
            shipment = self.client.call("shipment.buy", self.client.sdk.shipment.buy, shipment_id,
                                        rate={"id": rate.external_id})
        except EasyPostRejected as exc:
            if exc.code != POSTAGE_EXISTS:
                raise
            logger.info("labels.easypost.postage_exists key=%s shipment=%s", idempotency_key, shipment_id)
            shipment = self.client.call("shipment.retrieve", self.client.sdk.shipment.retrieve, shipment_id)
        return mapping.label_from_shipment(self.client.as_dict(shipment))

    def void(self, label: PurchasedLabel) -> VoidResult:
        """A refund already submitted (our earlier call whose answer was lost) is that refund: read it."""
        try:
            shipment = self.client.as_dict(self.client.call("shipment.refund", self.client.sdk.shipment.refund,
                                                            label.external_id, retry=False))
        except EasyPostRejected as exc:
            if exc.code != REFUND_EXISTS:
                raise
            shipment = self.client.as_dict(self.client.call("shipment.retrieve", self.client.sdk.shipment.retrieve,
                                                            label.external_id))
        status = str(shipment.get("refund_status") or "")
        return VoidResult(is_accepted=status in ("submitted", "refunded"), status=status)

    def label_file(self, label: PurchasedLabel) -> bytes:
        """EasyPost's label URLs are public S3 links: fetched through core.http (its checks and time-outs)."""
        http = HttpClient(budget_key=self.budget_key, budget=Budget(rate=10, burst=20))
        return http.request("GET", label.label_url, operation="label_file").content

    def webhooks_ensure(self, url: str | None, *, secret: str) -> None:
        """One webhook at `url`, signed with `secret`; EasyPost never echoes a secret back, so a webhook
        already at our URL is kept as it is (a new secret means a new address: the endpoint's token)."""
        hooks = self.client.as_dict(self.client.call("webhook.all", self.client.sdk.webhook.all)).get("webhooks") or []
        ours = [h for h in hooks if isinstance(h, dict)]
        if url is None:
            return
        if any(h.get("url") == url for h in ours):
            return
        self.client.call("webhook.create", self.client.sdk.webhook.create, url=url, webhook_secret=secret, retry=False)
