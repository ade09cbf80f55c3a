"""No log line carries a secret a path holds (a webhook endpoint's token, a signed label-file link): gunicorn's
access log (deploy/gunicorn_logging.py, named by the shipped config) and runserver's request lines (`make run`;
Django's django.server logger, given our filter in settings.LOGGING) write the path with the secret redacted."""

from __future__ import annotations

import io
import logging
import re
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

from django.core.servers.basehttp import WSGIRequestHandler
from gunicorn.config import Config

from core.log_context import secret_paths_redacted
from tests.routes import walk_routes

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "Wh-Secret-Token-7f3a9c21"
LINK = "label-link-secret-5521"


def _own(handlers: list[logging.Handler]) -> list[logging.Handler]:
    """The handlers the configuration made (not the test run's capturing ones, which are StreamHandlers too)."""
    return [handler for handler in handlers if type(handler) is logging.StreamHandler]


def _gunicorn_logger(access_log_format: str | None = None):
    """The logger the shipped gunicorn config makes, writing its access lines to a string."""
    shipped = runpy.run_path(str(ROOT / "deploy/gunicorn.conf.py"))
    cfg = Config()
    cfg.set("logger_class", shipped.get("logger_class", "gunicorn.glogging.Logger"))
    cfg.set("access_log_format", access_log_format or shipped["access_log_format"])
    cfg.set("accesslog", "-")
    logger = cfg.logger_class(cfg)
    out = io.StringIO()
    for handler in _own(logger.access_log.handlers):
        handler.setStream(out)
    return logger, out


def _delivery_logged(logger) -> None:
    """What a gunicorn worker logs after a webhook delivery refused with a 401."""
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": f"/webhooks/shopify/{TOKEN}/?topic=orders", "PATH_INFO":
               f"/webhooks/shopify/{TOKEN}/", "QUERY_STRING": "topic=orders", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "10.0.0.7", "HTTP_REFERER": f"https://switchboard.example/shipments/files/{LINK}/"}
    request = SimpleNamespace(headers=[("HOST", "switchboard.example"), ("REFERER", environ["HTTP_REFERER"])])
    response = SimpleNamespace(status="401 Unauthorized", sent=0, headers=[("X-Request-ID", "rid-1")])
    logger.access(response, request, environ, timedelta(milliseconds=12))


def test_the_shipped_gunicorn_access_line_has_the_webhook_token_redacted():
    logger, out = _gunicorn_logger()
    _delivery_logged(logger)
    assert out.getvalue() == (
        '10.0.0.7 "POST /webhooks/shopify/[redacted]/?topic=orders HTTP/1.1" 401 0 12ms rid=rid-1\n')


def test_every_gunicorn_atom_that_holds_a_path_is_redacted():
    logger, out = _gunicorn_logger('%(r)s|%(U)s|%({raw_uri}e)s|%({path_info}e)s|%(f)s|%({referer}i)s|%(q)s')
    _delivery_logged(logger)
    line = out.getvalue()
    assert TOKEN not in line and LINK not in line
    assert line.split("|") == [
        "POST /webhooks/shopify/[redacted]/?topic=orders HTTP/1.1", "/webhooks/shopify/[redacted]/",
        "/webhooks/shopify/[redacted]/?topic=orders", "/webhooks/shopify/[redacted]/",
        "https://switchboard.example/shipments/files/[redacted]/",
        "https://switchboard.example/shipments/files/[redacted]/", "topic=orders\n"]


def test_runserver_request_lines_have_the_webhook_token_redacted():
    # given the dev server's logger as settings.LOGGING configured it, writing to a string
    out = io.StringIO()
    handlers = _own(logging.getLogger("django.server").handlers)
    assert handlers
    previous = [handler.setStream(out) for handler in handlers]
    try:
        # when Django's request handler logs a delivery (as runserver does after each request)
        handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
        handler.request = None  # the connection: only attached to the record
        handler.log_message('"%s" %s %s', f"POST /webhooks/shopify/{TOKEN}/ HTTP/1.1", "401", "0")
        handler.log_message('"%s" %s %s', "GET /orders/?page=2 HTTP/1.1", "200", "512")
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)
    # then the line names the endpoint, not its token, and other lines are as Django writes them
    lines = [re.sub(r"^\[[^\]]*\] ", "", line) for line in out.getvalue().splitlines()]
    assert lines == ['"POST /webhooks/shopify/[redacted]/ HTTP/1.1" 401 0', '"GET /orders/?page=2 HTTP/1.1" 200 512']


def test_every_route_with_a_token_parameter_is_one_the_access_log_redacts():
    # The access log redacts by the paths' shape (it cannot resolve every line): a route added with a secret
    # parameter and another shape must be added there too.
    routes = [route for route, _view in walk_routes() if "token>" in route]
    assert routes
    for route in routes:
        path = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: TOKEN if "token" in m.group(1) else "x1", route)
        assert TOKEN not in secret_paths_redacted(f"GET {path} HTTP/1.1"), route
