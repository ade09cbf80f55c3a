"""An honest loopback ShipStation API V2 (reference §5.3): what our client meets in production.

Kept from the contract: the `API-Key` header (any casing) on every call, label downloads included; paths
under /v2; money as `{"currency": "usd", "amount": <JSON number>}`; ids `se-<digits>`; 200 on creates;
weights in any of the singular units (`ounce`, `gram`, `pound`, `kilogram`), priced by the ounces they
make, dimensions in `inch` or `centimeter`; a ship-from without a phone refused (the spec marks it required);
an international shipment without `customs` (contents, non_delivery, customs_items with description,
quantity, value as money per unit, country_of_origin) refused with a 400; errors as `{"request_id", "errors": [{"error_source", "error_type", "error_code", "message"}]}`;
`GET /v2/carriers` answering 207 with the carriers that work when one fails (`failing_carrier`);
rates per carrier with a failed carrier in `invalid_rates[]` with its `error_messages`; a label bought on
**every** `POST /v2/labels/rates/{rate_id}` (V2 has no idempotency key), found again by
`GET /v2/labels?rate_id=`; a second void `approved: false` with `label_already_voided`; 429 with
`Retry-After` and `rate_limit_exceeded`.

Faults: `fail_next(path_suffix, status, retry_after=None)`, `lose_next_buy_answer()` (buys, then drops the
connection: the lost answer of §5.3.10); `track_as(label_id, status_code, ...)` adds a tracking event
(`GET /v2/labels/{id}/track` answers the latest, §5.3.7).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.easypost.server import minimal_pdf

UNDELIVERABLE_POSTCODE = "00000"
OUNCES_PER = {"ounce": Decimal(1), "pound": Decimal(16), "gram": Decimal(1) / Decimal("28.349523125"),
              "kilogram": Decimal(1000) / Decimal("28.349523125")}
CARRIERS = {
    "se-1000001": {"carrier_code": "stamps_com", "friendly_name": "Stamps.com", "nickname": "USPS main",
                   "services": [("usps_ground_advantage", "USPS Ground Advantage", Decimal("4.80"), Decimal("0.09"), 5),
                                ("usps_priority_mail", "USPS Priority Mail", Decimal("7.90"), Decimal("0.14"), 2)]},
    "se-1000002": {"carrier_code": "ups", "friendly_name": "UPS", "nickname": "UPS main",
                   "services": [("ups_ground", "UPS® Ground", Decimal("8.75"), Decimal("0.11"), 4)]},
}


def money(amount: Decimal) -> dict[str, Any]:
    return {"currency": "usd", "amount": float(amount)}


class ShipStationFake:
    def __init__(self, api_keys: tuple[str, ...] = ("TEST_fake_key",)) -> None:
        self.api_keys = set(api_keys)
        self.failing_carrier: str | None = None  # a carrier id GET /v2/carriers reports as failing (207)
        self.rates: dict[str, dict[str, Any]] = {}
        self.labels: dict[str, dict[str, Any]] = {}
        self.purchases: list[str] = []  # label ids, one per label bought
        self.voids: list[str] = []
        self.tracking: dict[str, list[dict[str, Any]]] = {}  # label id -> its tracking events, oldest first
        self.requests: list[tuple[str, str, Any]] = []
        self._faults: list[tuple[str, int, float | None]] = []
        self._lose = 0
        self._counter = 2000000
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def fail_next(self, path_suffix: str, status: int, retry_after: float | None = None) -> None:
        with self._lock:
            self._faults.append((path_suffix, status, retry_after))

    def track_as(self, label_id: str, status_code: str, description: str, *, occurred_at: str,
                 exception_description: str | None = None) -> None:
        """The carrier scanned the parcel: one more event (V2's long status codes, §5.3.7)."""
        with self._lock:
            self.tracking.setdefault(label_id, []).append({
                "occurred_at": occurred_at, "carrier_occurred_at": occurred_at.rstrip("Z"),
                "description": description, "city_locality": "SPRINGFIELD", "state_province": "OR",
                "postal_code": "97477", "country_code": "US", "company_name": None, "signer": None,
                "event_code": "", "status_code": status_code, "status_detail_code": status_code,
                "status_description": description, "carrier_status_code": "10", "carrier_detail_code": "",
                "carrier_status_description": description, "latitude": None, "longitude": None,
                "exception_description": exception_description})

    def lose_next_buy_answer(self) -> None:
        with self._lock:
            self._lose += 1

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ShipStationFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = _handle  # noqa: N815 - http.server's names

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="shipstation-fake").start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------ plumbing
    def _id(self) -> str:
        with self._lock:
            self._counter += 1
            return f"se-{self._counter}"

    @staticmethod
    def _send(h: BaseHTTPRequestHandler, status: int, body: Any, *, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", content_type)
        h.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(raw)

    @staticmethod
    def error(code: str, message: str, *, source: str = "ShipStation", kind: str = "validation") -> dict[str, Any]:
        return {"request_id": str(uuid.uuid4()),
                "errors": [{"error_source": source, "error_type": kind, "error_code": code, "message": message}]}

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path, query = parts.path, parse_qs(parts.query)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(h, 400, self.error("request_body_required", "The request body is not valid JSON."))
        with self._lock:
            self.requests.append((h.command, path, body))
        if h.headers.get("api-key") not in self.api_keys:  # http.server's headers are case-insensitive
            return self._send(h, 401, self.error("unauthorized", "The API key is invalid.", kind="security"))
        with self._lock:
            fault = next((f for f in self._faults if path.endswith(f[0])), None)
            if fault:
                self._faults.remove(fault)
        if fault:
            if fault[1] == 429:
                return self._send(h, 429, self.error("rate_limit_exceeded", "You have exceeded the rate limit.",
                                                     kind="system"),
                                  headers={"Retry-After": str(fault[2] if fault[2] is not None else 1)})
            return self._send(h, fault[1], b"", content_type="text/plain")  # 5xx: an empty body, per the spec
        routes = (
            ("GET", r"/v2/carriers", self._carriers),
            ("POST", r"/v2/rates", self._rates),
            ("POST", r"/v2/labels/rates/(se-\d+)", self._buy),
            ("GET", r"/v2/labels", self._label_list),
            ("GET", r"/v2/labels/(se-\d+)", self._label_get),
            ("PUT", r"/v2/labels/(se-\d+)/void", self._void),
            ("GET", r"/v2/labels/(se-\d+)/track", self._track),
            ("GET", r"/v2/downloads/\d+/\w+/label-(se-\d+)\.(pdf|png|zpl)", self._download),
        )
        for method, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if match and method == h.command:
                return fn(h, body or {}, query, *match.groups())
        return self._send(h, 404, self.error("invalid_identifier", "The requested resource could not be found."))

    # ------------------------------------------------------------ resources
    def _carriers(self, h, body, query) -> None:
        carriers, errors = [], []
        for carrier_id, c in CARRIERS.items():
            if carrier_id == self.failing_carrier:
                errors.append({"error_source": "carrier", "error_type": "integrations", "error_code": "unspecified",
                               "message": f"{c['friendly_name']} could not be reached: the carrier connection "
                                          f"timed out.", "carrier_id": carrier_id})
                continue
            carriers.append({"carrier_id": carrier_id, "carrier_code": c["carrier_code"], "nickname": c["nickname"],
                             "friendly_name": c["friendly_name"], "primary": carrier_id == "se-1000001",
                             "services": [{"carrier_id": carrier_id, "carrier_code": c["carrier_code"],
                                           "service_code": s[0], "name": s[1], "domestic": True,
                                           "international": False} for s in c["services"]],
                             "packages": [], "options": []})
        self._send(h, 207 if errors else 200, {"carriers": carriers, "request_id": str(uuid.uuid4()),
                                               "errors": errors})

    def _rates(self, h, body, query) -> None:
        options, shipment = body.get("rate_options") or {}, body.get("shipment")
        carrier_ids = options.get("carrier_ids")
        if not isinstance(carrier_ids, list) or not carrier_ids:
            return self._send(h, 400, self.error("field_value_required", "rate_options.carrier_ids is required."))
        if not isinstance(shipment, dict) or not shipment.get("packages"):
            return self._send(h, 400, self.error("field_value_required", "shipment.packages is required."))
        ship_from = shipment.get("ship_from") or {}
        if not str(ship_from.get("phone") or "").strip():  # the spec marks an address's phone required
            return self._send(h, 400, self.error("field_value_required", "ship_from.phone is required."))
        ship_to = shipment.get("ship_to") or {}
        if str(ship_to.get("country_code") or "") != str(ship_from.get("country_code") or ""):
            problem = self._customs_problem(shipment.get("customs"))
            if problem:
                return self._send(h, 400, self.error("field_value_required", problem))
        ounces = Decimal(0)
        for package in shipment["packages"]:
            dimensions = (package or {}).get("dimensions")
            if dimensions is not None and str(dimensions.get("unit") or "") not in ("inch", "centimeter"):
                return self._send(h, 400, self.error("invalid_field_value", "packages[].dimensions.unit is not valid."))
            weight = (package or {}).get("weight") or {}
            unit = str(weight.get("unit") or "").lower()
            if unit not in OUNCES_PER or not isinstance(weight.get("value"), (int, float)) or weight["value"] <= 0:
                return self._send(h, 400, self.error("invalid_field_value", "packages[].weight is not valid."))
            ounces += Decimal(str(weight["value"])) * OUNCES_PER[unit]
        shipment_id = self._id()
        postcode = str((shipment.get("ship_to") or {}).get("postal_code") or "")
        rates, invalid, errors = [], [], []
        for carrier_id in carrier_ids:
            carrier = CARRIERS.get(carrier_id)
            if carrier is None:
                errors.append({"error_source": "ShipStation", "error_type": "validation",
                               "error_code": "carrier_not_connected", "message": f"Carrier {carrier_id} is not connected.",
                               "carrier_id": carrier_id})
                continue
            for code, name, base, per_oz, days in carrier["services"]:
                rate_id = self._id()
                if postcode == UNDELIVERABLE_POSTCODE:
                    message = f"{carrier['friendly_name']}: the ship-to postal code {postcode} is not valid."
                    invalid.append({"rate_id": rate_id, "carrier_id": carrier_id, "service_code": code,
                                    "error_messages": [message]})
                    continue
                amount = (base + per_oz * ounces).quantize(Decimal("0.01"), ROUND_HALF_UP)
                rate = {"rate_id": rate_id, "rate_type": "shipment", "carrier_id": carrier_id,
                        "carrier_code": carrier["carrier_code"], "carrier_nickname": carrier["nickname"],
                        "carrier_friendly_name": carrier["friendly_name"], "service_type": name, "service_code": code,
                        "package_type": "package", "shipping_amount": money(amount),
                        "insurance_amount": money(Decimal(0)), "confirmation_amount": money(Decimal(0)),
                        "other_amount": money(Decimal("0.55")), "delivery_days": days, "trackable": True,
                        "validation_status": "valid", "warning_messages": [], "error_messages": []}
                rates.append(rate)
                with self._lock:
                    self.rates[rate_id] = {**rate, "shipment_id": shipment_id, "label_format": None}
        # one message per failing carrier, as carriers answer for all their services at once
        seen, unique_invalid = set(), []
        for item in invalid:
            if item["carrier_id"] not in seen:
                seen.add(item["carrier_id"])
                unique_invalid.append(item)
        status = "completed" if not (unique_invalid or errors) else ("partial" if rates else "error")
        self._send(h, 200, {"shipment_id": shipment_id, "shipment_status": "pending",
                            "rate_response": {"rate_request_id": self._id(), "shipment_id": shipment_id,
                                              "status": status, "errors": errors, "rates": rates,
                                              "invalid_rates": unique_invalid}})

    @staticmethod
    def _customs_problem(customs: Any) -> str | None:
        """V2's international_shipment_options: contents, non_delivery and items with a description,
        quantity, value (money per unit) and country of origin."""
        if not isinstance(customs, dict) or not customs.get("customs_items"):
            return "shipment.customs is required for international shipments."
        if customs.get("contents") not in ("merchandise", "documents", "gift", "returned_goods", "sample", "other"):
            return "shipment.customs.contents is not valid."
        if customs.get("non_delivery") not in ("return_to_sender", "treat_as_abandoned"):
            return "shipment.customs.non_delivery is not valid."
        for item in customs["customs_items"]:
            value = (item or {}).get("value") or {}
            if not str(item.get("description") or "").strip() or not str(item.get("country_of_origin") or "").strip():
                return "customs_items[].description and country_of_origin are required."
            if not isinstance(item.get("quantity"), int) or item["quantity"] <= 0 \
                    or not isinstance(value.get("amount"), (int, float)) or not value.get("currency"):
                return "customs_items[].quantity and value are not valid."
        return None

    def _buy(self, h, body, query, rate_id) -> None:
        with self._lock:
            rate = self.rates.get(rate_id)
        if rate is None:
            return self._send(h, 404, self.error("invalid_identifier", f"Rate {rate_id} was not found."))
        fmt = str(body.get("label_format") or "pdf")
        if fmt not in ("pdf", "png", "zpl"):
            return self._send(h, 400, self.error("invalid_field_value", "label_format must be pdf, png or zpl."))
        label_id = self._id()
        tracking = f"94055{int(label_id[3:]):017d}"
        href = f"{self.base_url}/v2/downloads/10/aB3dE/label-{label_id}.{fmt}"
        label = {"label_id": label_id, "status": "completed", "shipment_id": rate["shipment_id"], "rate_id": rate_id,
                 "shipment_cost": rate["shipping_amount"],
                 "insurance_cost": money(Decimal(str(rate["other_amount"]["amount"]))),
                 "tracking_number": tracking, "carrier_id": rate["carrier_id"], "carrier_code": rate["carrier_code"],
                 "service_code": rate["service_code"], "voided": False, "voided_at": None, "label_format": fmt,
                 "label_layout": "4x6", "trackable": True, "tracking_status": "unknown",
                 "label_download": {"href": href, fmt: href},
                 "tracking_url": f"https://tools.usps.com/go/TrackConfirmAction?tLabels={tracking}"}
        with self._lock:
            self.labels[label_id] = label
            self.purchases.append(label_id)
            lose = self._lose > 0
            if lose:
                self._lose -= 1
        if lose:
            h.close_connection = True
            h.connection.shutdown(2)
            return None
        self._send(h, 200, label)

    def _label_list(self, h, body, query) -> None:
        wanted = {k: v[0] for k, v in query.items() if k in ("rate_id", "shipment_id", "tracking_number")}
        found = [lb for lb in self.labels.values() if all(lb.get(k) == v for k, v in wanted.items())]
        self._send(h, 200, {"labels": found, "total": len(found), "page": 1, "pages": 1,
                            "links": {"first": {"href": "/v2/labels?page=1"}, "last": {"href": "/v2/labels?page=1"},
                                      "prev": None, "next": None}})

    def _label_get(self, h, body, query, label_id) -> None:
        label = self.labels.get(label_id)
        if label is None:
            return self._send(h, 404, self.error("invalid_identifier", f"Label {label_id} was not found."))
        self._send(h, 200, label)

    def _void(self, h, body, query, label_id) -> None:
        with self._lock:
            label = self.labels.get(label_id)
            if label is None:
                return self._send(h, 404, self.error("invalid_identifier", f"Label {label_id} was not found."))
            if label["voided"]:
                return self._send(h, 200, {"approved": False, "message": "This label has already been voided.",
                                           "reason_code": "label_already_voided"})
            label.update(voided=True, status="voided", voided_at="2026-12-07T10:00:00Z")
            self.voids.append(label_id)
        self._send(h, 200, {"approved": True, "message": "Label voided; refund requested."})

    def _track(self, h, body, query, label_id) -> None:
        """The label's tracking: its latest event's status, every event newest first; a label not yet
        scanned is IN_TRANSIT with no events (as the fake always answered)."""
        with self._lock:
            label = self.labels.get(label_id)
            events = list(self.tracking.get(label_id, []))
        if label is None:
            return self._send(h, 404, self.error("invalid_identifier", f"Label {label_id} was not found."))
        latest = events[-1] if events else {"status_code": "IN_TRANSIT", "status_description": "In Transit",
                                            "carrier_status_code": "10", "exception_description": None}
        self._send(h, 200, {
            "tracking_number": label["tracking_number"], "tracking_url": label["tracking_url"],
            "status_code": latest["status_code"], "status_detail_code": latest["status_code"],
            "status_description": latest["status_description"], "carrier_code": label["carrier_code"],
            "carrier_id": int(label["carrier_id"][3:]), "carrier_status_code": latest["carrier_status_code"],
            "carrier_detail_code": "", "carrier_status_description": latest["status_description"],
            "ship_date": None, "estimated_delivery_date": None,
            "actual_delivery_date": latest.get("occurred_at") if latest["status_code"] == "DELIVERED" else None,
            "exception_description": latest.get("exception_description"),
            "events": [{k: v for k, v in e.items() if k != "exception_description"} for e in reversed(events)]})

    def _download(self, h, body, query, label_id, ext) -> None:
        label = self.labels.get(label_id)
        if label is None:
            return self._send(h, 404, self.error("invalid_identifier", "No such file."))
        content_type = {"pdf": "application/pdf", "png": "image/png", "zpl": "application/zpl"}[ext]
        tracking = label["tracking_number"]
        body = {"pdf": minimal_pdf(tracking), "png": b"\x89PNG\r\n\x1a\n" + tracking.encode(),
                "zpl": f"^XA^FO50,50^FD{tracking}^FS^XZ".encode()}[ext]
        self._send(h, 200, body, content_type=content_type)
