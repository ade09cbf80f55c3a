"""ShipStation API V2's CarrierAdapter.

Rates ask every carrier the account has connected (`GET /v2/carriers`; a 207 keeps the carriers that
answered and reports the one that did not, in its words). Buying is `POST /v2/labels/rates/{rate_id}`,
which buys again on every call (V2 has no idempotency key, §5.3.10), so it is sent once, never retried
blindly: before buying, and after a lost answer, the label is looked up by its rate id
(`GET /v2/labels?rate_id=`) and a label not voided is adopted instead of buying a second.
"""

from __future__ import annotations

import logging
from typing import Any

from core.http import Throttled, Transient
from labels.carriers.base import (
    CarrierAdapter,
    ConnectionInfo,
    LabelRequest,
    PurchasedLabel,
    Rate,
    RateQuote,
    TrackingInfo,
    VoidResult,
)
from labels.carriers.shipstation import mapping
from labels.carriers.shipstation.client import ShipStationClient, ShipStationRejected

logger = logging.getLogger("labels.shipstation")


class ShipStationAdapter(CarrierAdapter):
    def __init__(self, credentials: dict[str, Any], *, budget_key: str, timeout: float | None = None) -> None:
        super().__init__(credentials, budget_key=budget_key, timeout=timeout)
        self.client = ShipStationClient(self.credentials["api_key"], budget_key=budget_key, timeout=timeout)

    def _carriers(self) -> tuple[list[dict[str, Any]], list[str]]:
        return mapping.carriers_in(self.client.get("/v2/carriers", operation="carriers"))

    def test_connection(self) -> ConnectionInfo:
        carriers, _failed = self._carriers()
        names = [str(c.get("nickname") or c.get("friendly_name") or c["carrier_id"]) for c in carriers]
        return ConnectionInfo(account_name=", ".join(names), carriers=names)

    def rates(self, request: LabelRequest) -> RateQuote:
        carriers, failed = self._carriers()
        if not carriers:
            return RateQuote(rates=[], messages=failed or ["No carrier is connected to this ShipStation account."])
        body = {"rate_options": {"carrier_ids": [c["carrier_id"] for c in carriers]},
                "shipment": mapping.shipment_out(request)}
        quote = mapping.rates_in(self.client.post("/v2/rates", body, operation="rates"))
        return RateQuote(rates=quote.rates, messages=[*failed, *quote.messages])

    def _bought(self, rate: Rate) -> PurchasedLabel | None:
        found = self.client.get("/v2/labels", operation="labels", query={"rate_id": rate.external_id})
        for label in found.get("labels") or []:
            if isinstance(label, dict) and not label.get("voided"):
                return mapping.label_in(label, carrier=rate.carrier, service=rate.service)
        return None

    def buy(self, request: LabelRequest, rate: Rate, *, idempotency_key: str) -> PurchasedLabel:
        existing = self._bought(rate)
        if existing is not None:
            logger.info("labels.shipstation.adopted key=%s label=%s", idempotency_key, existing.external_id)
            return existing
        try:
            payload = self.client.post(f"/v2/labels/rates/{rate.external_id}",
                                       {"label_format": request.label_format.lower(), "label_layout": "4x6",
                                        "label_download_type": "url"}, operation="label_buy", once=True)
        except (Transient, Throttled):  # 5xx, time-out, dropped connection: the label may have been bought
            found = self._bought(rate)  # the answer was lost: did the label get bought?
            if found is not None:
                logger.info("labels.shipstation.adopted_after_loss key=%s label=%s", idempotency_key, found.external_id)
                return found
            raise
        return mapping.label_in(payload, carrier=rate.carrier, service=rate.service)

    def void(self, label: PurchasedLabel) -> VoidResult:
        """`label_already_voided` is our earlier void whose answer was lost: the label is voided."""
        answer = self.client.put(f"/v2/labels/{label.external_id}/void", operation="label_void")
        if answer.get("reason_code") == "label_already_voided":
            return VoidResult(is_accepted=True, status="already_voided", message=str(answer.get("message") or ""))
        if not answer.get("approved"):
            raise ShipStationRejected(str(answer.get("message") or "ShipStation did not void the label."),
                                      code=str(answer.get("reason_code") or ""))
        return VoidResult(is_accepted=True, status="approved", message=str(answer.get("message") or ""))

    def label_file(self, label: PurchasedLabel) -> bytes:
        return self.client.download(label.label_url)

    def track(self, label: PurchasedLabel) -> TrackingInfo:
        return mapping.tracking_in(self.client.get(f"/v2/labels/{label.external_id}/track", operation="track"))
