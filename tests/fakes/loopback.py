"""A bare loopback HTTP server for core.http's own tests: it answers each path with a scripted status and
headers, and counts every TCP connection it accepts (so a test can prove that a refused call never
reached it, not even for a TLS handshake)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer:
    """`with LoopbackServer({"/moved": (302, {"Location": "/there"})}) as server: server.url("/moved")`;
    an unscripted path answers 200 with `{}`."""

    def __init__(self, routes: dict[str, tuple[int, dict[str, str]]] | None = None) -> None:
        self.routes = dict(routes or {})
        self.connections = 0
        self.paths: list[str] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def __enter__(self) -> LoopbackServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                with fake._lock:
                    fake.paths.append(self.path)
                status, headers = fake.routes.get(self.path, (200, {}))
                body = b"{}"
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815 - http.server's names

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address) -> bool:  # every accepted connection
                with fake._lock:
                    fake.connections += 1
                return True

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True,
                         name="loopback-fake").start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, path: str = "/", *, host: str = "127.0.0.1", scheme: str = "http") -> str:
        return f"{scheme}://{host}:{self.port}{path}"
