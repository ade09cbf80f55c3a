"""An honest loopback EasyPost: the v2 contract our client meets in production (reference §4), served on
127.0.0.1 for the official `easypost` SDK pointed at it by EASYPOST_API_BASE_URL.

What it keeps from the real API:
- auth: `Authorization: Bearer <key>` (the SDK) or HTTP Basic with the key as user name (curl); anything
  else is 401 with an error body;
- paths under /v2 (`/v2/shipments`, `/v2/shipments/{id}/buy`, `/refund`, `/v2/users`, `/v2/webhooks`),
  request bodies wrapped in the resource name (`{"shipment": {...}}`), 201 on create;
- units: parcel `weight` in ounces (required), `length`/`width`/`height` in inches; rates priced by
  the ounces received, so a test can see which units arrived;
- rates as strings; a carrier that cannot rate the address answers no rate and a `messages[]` entry;
- errors `{"error": {"code", "message", "errors": [...]}}` with 422/404/401 (the SDK's typed errors need
  that body); buying a bought shipment is 422 `SHIPMENT.POSTAGE.EXISTS`; refunding twice is refused;
- label files at an unauthenticated URL (EasyPost's are S3 links), PDF/PNG/ZPL by `options.label_format`;
- an international shipment (from and to countries differ) needs `customs_info` with items carrying a
  description, quantity, total value, total weight in ounces and origin country; refused at creation as a
  422 `PARAMETER.REQUIRED` naming the field (where EasyPost refuses it is ours: §4.2 only says "need").

Faults a test can script: `fail_next(path_suffix, status, retry_after=None)` answers the next matching
call with that status (after it is counted), `lose_next_buy_answer()` buys and then drops the connection
without an answer (the lost answer a retry must not turn into a second label).

Codes marked in reference §4 as unverified (the refund-twice code) are documented as ours here.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import ROUND_HALF_UP, Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

UNDELIVERABLE_ZIP = "00000"  # a destination no carrier of the fake can rate
RATE_TABLE = (  # (carrier, service, base, per ounce, delivery days)
    ("USPS", "GroundAdvantage", Decimal("5.00"), Decimal("0.10"), 5),
    ("USPS", "Priority", Decimal("8.00"), Decimal("0.15"), 2),
    ("UPS", "Ground", Decimal("9.00"), Decimal("0.12"), 4),
)


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF that any reader opens, carrying `text` (the tracking code) in its content stream."""
    stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 288 432] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class EasyPostFake:
    def __init__(self, api_keys: tuple[str, ...] = ("EZTK_fake_key",)) -> None:
        self.api_keys = set(api_keys)
        self.shipments: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}  # id -> {"url", "webhook_secret", ...}
        self.purchases: list[str] = []  # shipment ids, one entry per label actually bought
        self.refunds: list[str] = []
        self.requests: list[tuple[str, str, dict[str, Any] | None]] = []  # (method, path, body)
        self.auth_headers: list[str] = []
        self._faults: list[tuple[str, int, float | None]] = []
        self._lose_buy_answers = 0
        self._counter = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------ scripting
    def fail_next(self, path_suffix: str, status: int, retry_after: float | None = None) -> None:
        with self._lock:
            self._faults.append((path_suffix, status, retry_after))

    def lose_next_buy_answer(self) -> None:
        with self._lock:
            self._lose_buy_answers += 1

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v2"

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> EasyPostFake:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                fake._dispatch(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server's names

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="easypost-fake").start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # ------------------------------------------------------------ plumbing
    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._counter += 1
            return f"{prefix}_{self._counter:032x}"

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: Any, *, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(raw)

    @staticmethod
    def error(code: str, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
        return {"error": {"code": code, "message": message, "errors": errors or []}}

    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        value = handler.headers.get("Authorization", "")
        self.auth_headers.append(value.split(" ", 1)[0])
        if value.startswith("Bearer "):
            return value[7:] in self.api_keys
        if value.startswith("Basic "):
            try:
                user, _, _password = base64.b64decode(value[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            return user in self.api_keys
        return False

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        path = h.path.split("?", 1)[0]
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        if path.startswith("/files/"):  # label files: public S3-style links, no auth
            return self._file(h, path)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(h, 400, self.error("BAD_REQUEST", "The request body is not valid JSON."))
        with self._lock:
            self.requests.append((h.command, path, body))
        if not self._authorized(h):
            return self._send(h, 401, self.error("APIKEY.INACTIVE", "This api key is no longer active. Please "
                                                 "use a different api key or reactivate this key."))
        with self._lock:
            fault = next((f for f in self._faults if path.endswith(f[0])), None)
            if fault:
                self._faults.remove(fault)
        if fault:
            headers = {"Retry-After": str(fault[2])} if fault[2] is not None else {}
            return self._send(h, fault[1], self.error("INTERNAL_SERVER_ERROR" if fault[1] >= 500 else
                                                      "RATE_LIMITED", "Scripted failure."), headers=headers)
        routes = (
            ("POST", r"/v2/shipments", self._shipment_create),
            ("GET", r"/v2/shipments/(shp_\w+)", self._shipment_get),
            ("POST", r"/v2/shipments/(shp_\w+)/buy", self._shipment_buy),
            ("POST", r"/v2/shipments/(shp_\w+)/refund", self._shipment_refund),
            ("GET", r"/v2/users", self._me),
            ("POST", r"/v2/webhooks", self._webhook_create),
            ("GET", r"/v2/webhooks", self._webhook_list),
            ("DELETE", r"/v2/webhooks/(hook_\w+)", self._webhook_delete),
        )
        for method, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if match and method == h.command:
                return fn(h, body or {}, *match.groups())
        return self._send(h, 404, self.error("NOT_FOUND", "The requested resource could not be found."))

    def _file(self, h: BaseHTTPRequestHandler, path: str) -> None:
        match = re.fullmatch(r"/files/(shp_\w+)\.(pdf|png|zpl)", path)
        shipment = self.shipments.get(match.group(1)) if match else None
        if not shipment or not shipment.get("tracking_code"):
            return self._send(h, 404, b"<Error><Code>NoSuchKey</Code></Error>", content_type="application/xml")
        ext = match.group(2)
        if ext == "pdf":
            return self._send(h, 200, minimal_pdf(shipment["tracking_code"]), content_type="application/pdf")
        if ext == "zpl":
            return self._send(h, 200, f"^XA^FO50,50^FD{shipment['tracking_code']}^FS^XZ".encode(),
                              content_type="application/zpl")
        return self._send(h, 200, b"\x89PNG\r\n\x1a\n" + shipment["tracking_code"].encode(), content_type="image/png")

    # ------------------------------------------------------------ resources
    def _me(self, h, body) -> None:
        self._send(h, 200, {"id": "user_fake", "object": "User", "name": "Fake Shipper", "email": "ship@fake.test"})

    def _shipment_create(self, h, body) -> None:
        params = body.get("shipment")
        if not isinstance(params, dict) or not params:
            return self._send(h, 422, self.error("PARAMETER.REQUIRED", "Missing required parameter.",
                                                 [{"field": "shipment", "message": "cannot be blank"}]))
        parcel = params.get("parcel") or {}
        weight = parcel.get("weight")
        if not isinstance(weight, (int, float)) or weight <= 0:
            return self._send(h, 422, self.error("PARCEL.WEIGHT.INVALID", "Invalid parcel weight.",
                                                 [{"field": "weight", "message": "must be greater than 0"}]))
        for part in ("to_address", "from_address"):
            if not isinstance(params.get(part), dict) or not params[part].get("street1"):
                return self._send(h, 422, self.error("PARAMETER.REQUIRED", "Missing required parameter.",
                                                     [{"field": part, "message": "cannot be blank"}]))
        crosses = str(params["to_address"].get("country") or "US") != str(params["from_address"].get("country") or "US")
        if crosses:
            problem = self._customs_problem(params.get("customs_info"))
            if problem:
                return self._send(h, 422, self.error("PARAMETER.REQUIRED", "Missing required parameter.",
                                                     [{"field": problem[0], "message": problem[1]}]))
        shipment_id = self._next_id("shp")
        ounces = Decimal(str(weight))
        rates, messages = [], []
        if params["to_address"].get("zip") == UNDELIVERABLE_ZIP:
            messages = [{"carrier": carrier, "carrier_account_id": "ca_fake_usps", "type": "rate_error",
                         "message": f"{carrier}: Unable to retrieve rates for this address: the destination ZIP "
                                    f"code {UNDELIVERABLE_ZIP} does not exist."}
                        for carrier in ("USPS", "UPS")]
        else:
            for carrier, service, base, per_oz, days in RATE_TABLE:
                amount = (base + per_oz * ounces).quantize(Decimal("0.01"), ROUND_HALF_UP)
                rates.append({"id": self._next_id("rate"), "object": "Rate", "mode": "test", "carrier": carrier,
                              "service": service, "rate": str(amount), "currency": "USD",
                              "retail_rate": str(amount + Decimal("1.00")), "retail_currency": "USD",
                              "list_rate": str(amount), "list_currency": "USD", "delivery_days": days,
                              "est_delivery_days": days, "delivery_date": None, "delivery_date_guaranteed": False,
                              "billing_type": "easypost", "shipment_id": shipment_id,
                              "carrier_account_id": f"ca_fake_{carrier.lower()}"})
        shipment = {"id": shipment_id, "object": "Shipment", "mode": "test", "status": "unknown",
                    "reference": params.get("reference"), "tracking_code": None, "options": params.get("options") or {},
                    "to_address": {"id": self._next_id("adr"), "object": "Address", **params["to_address"]},
                    "from_address": {"id": self._next_id("adr"), "object": "Address", **params["from_address"]},
                    "parcel": {"id": self._next_id("prcl"), "object": "Parcel", **parcel},
                    "customs_info": params.get("customs_info"), "rates": rates, "messages": messages,
                    "selected_rate": None, "postage_label": None, "tracker": None, "refund_status": None,
                    "forms": [], "fees": []}
        with self._lock:
            self.shipments[shipment_id] = shipment
        self._send(h, 201, shipment, headers={"Location": f"/api/v2/shipments/{shipment_id}"})

    @staticmethod
    def _customs_problem(info: Any) -> tuple[str, str] | None:
        """(field, message) when an international shipment's customs_info falls short of §4.2: the
        items' description, quantity, value (total), weight (total ounces) and origin country."""
        if not isinstance(info, dict) or not info.get("customs_items"):
            return "customs_info", "is required for international shipments"
        if info.get("customs_certify") and not info.get("customs_signer"):
            return "customs_signer", "is required when customs_certify is true"
        for item in info["customs_items"]:
            for name in ("description", "origin_country"):
                if not isinstance(item, dict) or not str(item.get(name) or "").strip():
                    return f"customs_items.{name}", "cannot be blank"
            for name in ("quantity", "value", "weight"):
                if not isinstance(item.get(name), (int, float)) or item[name] <= 0:
                    return f"customs_items.{name}", "must be greater than zero"
        return None

    def _shipment_get(self, h, body, shipment_id) -> None:
        shipment = self.shipments.get(shipment_id)
        if shipment is None:
            return self._send(h, 404, self.error("NOT_FOUND", "The requested resource could not be found."))
        self._send(h, 200, shipment)

    def _shipment_buy(self, h, body, shipment_id) -> None:
        rate_id = (body.get("rate") or {}).get("id") if isinstance(body.get("rate"), dict) else None
        with self._lock:
            shipment = self.shipments.get(shipment_id)
            if shipment is None:
                return self._send(h, 404, self.error("NOT_FOUND", "The requested resource could not be found."))
            if shipment["postage_label"] is not None:
                return self._send(h, 422, self.error("SHIPMENT.POSTAGE.EXISTS",
                                                     "Postage already exists for this shipment."))
            rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if rate is None:
                return self._send(h, 422, self.error("SHIPMENT.RATE.INVALID", "Invalid rate.",
                                                     [{"field": "rate", "message": "not a rate of this shipment"}]))
            self._counter += 1
            tracking = f"9400{self._counter:018d}"
            fmt = str((shipment["options"] or {}).get("label_format") or "PNG").upper()
            ext = {"PDF": "pdf", "ZPL": "zpl"}.get(fmt, "png")
            label_url = f"http://127.0.0.1:{self._server.server_address[1]}/files/{shipment_id}.{ext}"
            shipment.update({
                "tracking_code": tracking, "selected_rate": rate, "status": "unknown",
                "postage_label": {"object": "PostageLabel", "id": f"pl_{self._counter:032x}", "label_resolution": 300,
                                  "label_size": "4x6", "label_file_type": {"pdf": "application/pdf",
                                                                           "zpl": "application/zpl"}.get(ext, "image/png"),
                                  "label_url": label_url,
                                  "label_pdf_url": label_url if ext == "pdf" else None,
                                  "label_zpl_url": label_url if ext == "zpl" else None, "label_epl2_url": None},
                "tracker": {"id": f"trk_{self._counter:032x}", "object": "Tracker", "tracking_code": tracking,
                            "status": "unknown", "carrier": rate["carrier"], "tracking_details": [],
                            "public_url": f"https://track.easypost.com/djE6{tracking}", "shipment_id": shipment_id},
            })
            self.purchases.append(shipment_id)
            lose = self._lose_buy_answers > 0
            if lose:
                self._lose_buy_answers -= 1
        if lose:  # bought, and the answer never arrives
            h.close_connection = True
            h.wfile.flush()
            h.connection.shutdown(2)
            return None
        self._send(h, 200, shipment)

    def _shipment_refund(self, h, body, shipment_id) -> None:
        with self._lock:
            shipment = self.shipments.get(shipment_id)
            if shipment is None:
                return self._send(h, 404, self.error("NOT_FOUND", "The requested resource could not be found."))
            if shipment["postage_label"] is None:
                return self._send(h, 422, self.error("SHIPMENT.REFUND.UNAVAILABLE",
                                                     "This shipment has no postage to refund."))
            if shipment["refund_status"] in ("submitted", "refunded"):
                return self._send(h, 422, self.error("SHIPMENT.REFUND.EXISTS",
                                                     "A refund has already been submitted for this shipment."))
            shipment["refund_status"] = "submitted"
            self.refunds.append(shipment_id)
        self._send(h, 200, shipment)

    def _webhook_create(self, h, body) -> None:
        params = body.get("webhook")
        if not isinstance(params, dict) or not params.get("url"):
            return self._send(h, 422, self.error("PARAMETER.REQUIRED", "Missing required parameter.",
                                                 [{"field": "url", "message": "cannot be blank"}]))
        hook_id = self._next_id("hook")
        with self._lock:
            self.webhooks[hook_id] = {"id": hook_id, "object": "Webhook", "mode": "test", "url": params["url"],
                                      "disabled_at": None, "webhook_secret": params.get("webhook_secret")}
        self._send(h, 201, self._webhook_public(self.webhooks[hook_id]))

    @staticmethod
    def _webhook_public(hook: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in hook.items() if k != "webhook_secret"}  # the secret is never echoed

    def _webhook_list(self, h, body) -> None:
        self._send(h, 200, {"webhooks": [self._webhook_public(w) for w in self.webhooks.values()]})

    def _webhook_delete(self, h, body, hook_id) -> None:
        with self._lock:
            self.webhooks.pop(hook_id, None)
        self._send(h, 204, b"")


@contextmanager
def running(api_keys: tuple[str, ...] = ("EZTK_fake_key",)) -> Iterator[EasyPostFake]:
    with EasyPostFake(api_keys) as fake:
        yield fake
