"""A loopback endpoint that records what the fake store POSTs to it (pings, deliveries, granted keys) and
answers with the status the test chooses, for the fake's own tests. `tls=True` listens with a self-signed
certificate (`ca_bundle`), as the key delivery's callback must be https."""

from __future__ import annotations

import ssl
import tempfile
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from .server import _self_signed  # the fake store's own certificate maker


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self, status: int = 200, *, tls: bool = False) -> None:
        self.status = status
        self.tls = tls
        self.ca_bundle: str | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None
        self.received: list[Received] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body))
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if tls:
            self._tmp = tempfile.TemporaryDirectory(prefix="woo-receiver-tls-")
            cert, key = _self_signed(Path(self._tmp.name))
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(cert, key)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
            self.ca_bundle = str(cert)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}/hooks/woocommerce"

    def deliveries(self) -> list[Received]:
        """What came in with a topic header (not the pings)."""
        with self.lock:
            return [r for r in self.received if "X-WC-Webhook-Topic" in r.headers]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._tmp is not None:
            self._tmp.cleanup()
