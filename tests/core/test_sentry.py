"""Sentry (core.sentry) when SENTRY_DSN is set: an error in a view and in a task arrive at the ingest with
the environment, the request id of the log lines, and none of the secrets planted in locals, headers,
cookies, query string and body. The ingest is a loopback HTTP server that keeps what it is sent."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
PLANTED = "planted-secret-value-7c41"


class Ingest(BaseHTTPRequestHandler):
    received: list[str] = []

    def do_POST(self):  # noqa: N802 - http.server's name
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.headers.get("Content-Encoding") == "gzip":
            raw = gzip.decompress(raw)
        Ingest.received.append(raw.decode(errors="replace"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.mark.django_db(transaction=True)
def test_errors_reach_sentry_tagged_with_the_request_id_and_without_secrets(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ingest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Ingest.received = []
    env = {**os.environ, "SENTRY_DSN": f"http://publickey@127.0.0.1:{server.server_port}/42",
           "SENTRY_RELEASE": "switchboard@test", "PLANTED": PLANTED, "CELERY_TASK_ALWAYS_EAGER": "1"}
    db = connection.settings_dict  # the planted session cookie is looked up
    env["DATABASE_URL"] = f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    try:
        done = subprocess.run([sys.executable, "tests/core/scripts/sentry_probe.py"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    finally:
        server.shutdown()
    assert done.returncode == 0, done.stderr[-3000:]
    view_request_id = done.stdout.split()[2]
    events = [text for text in Ingest.received if '"type":"event"' in text.replace(" ", "")]
    assert len(events) == 2, Ingest.received
    view = next(e for e in events if "the view failed" in e)
    task = next(e for e in events if "the task failed" in e)
    assert view_request_id in view and "task-request-0001" in task
    assert all('"environment":"development"' in e.replace(" ", "") and "switchboard@test" in e for e in events)
    assert [e for e in events if PLANTED in e] == []
