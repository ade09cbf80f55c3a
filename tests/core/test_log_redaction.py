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
from django.urls import resolve
from gunicorn.config import Config

from core.log_context import path_redacted, text_redacted
from tests.routes import walk_route_levels

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


def test_every_handler_django_s_request_warnings_reach_redacts_them():
    # given the logging settings.LOGGING configured (Django's own defaults first, as Django applies them)
    from core.log_context import ContextFilter

    # when a "Unauthorized: /webhooks/<channel>/<token>/" record of django.request goes up to the root
    reached, logger = [], logging.getLogger("django.request")
    while logger is not None:
        reached += logger.handlers
        logger = logger.parent if logger.propagate else None
    # then every handler on its way redacts it (Django's default console handler, which wrote it as it came under
    # DEBUG, is not among them; the test run's capturing handlers aside)
    reached = [handler for handler in reached if not type(handler).__module__.startswith("_pytest")]
    assert reached
    assert all(any(isinstance(f, ContextFilter) for f in handler.filters) for handler in reached), reached


def _gunicorn_logs(access_log_format: str | None = None):
    """The shipped gunicorn logger, writing its access lines to one string and its error lines to another (each
    Logger made sets up gunicorn's two process-wide loggers again: one Logger for both)."""
    logger, access = _gunicorn_logger(access_log_format)
    errors = io.StringIO()
    for handler in _own(logger.error_log.handlers):
        handler.setStream(errors)
    return logger, access, errors


def test_the_shipped_gunicorn_error_log_has_the_request_uri_and_the_traceback_redacted():
    # given the shipped logger (made twice, as the arbiter and a test may: one filter all the same)
    _gunicorn_logs()
    logger, _access, out = _gunicorn_logs()
    uri = f"/accounts/password/reset/key/a-{TOKEN}/?next=/orders/"
    # when a worker logs an application error as gunicorn's workers/base.py does
    try:
        raise ValueError(f"no reset for {uri}")
    except ValueError:
        logger.exception("Error handling request %s %s", "GET", uri)
    logger.warning("Invalid request from ip=10.0.0.7: Invalid HTTP Version 'GET /invitations/%s/ HTTP/9'", TOKEN)
    logger.info("Booting worker with pid: %s", 42)
    # then neither the line nor the traceback holds the key, and other lines are as gunicorn writes them
    text = out.getvalue()
    assert TOKEN not in text
    assert "Error handling request GET /accounts/password/reset/key/[redacted]-[redacted]/?next=/orders/" in text
    assert "ValueError: no reset for /accounts/password/reset/key/[redacted]-[redacted]/?next=/orders/" in text
    assert "Invalid HTTP Version 'GET /invitations/[redacted]/ HTTP/9'" in text
    assert "Booting worker with pid: 42" in text


def test_paths_of_routes_without_a_secret_are_left_as_they_are():
    for path in ("/webhooks/install/shopify/keys/", "/orders/42/", "/integrations/connect/shopify/token/",
                 "/settings/api-tokens/7/revoke/", "/healthz"):
        assert text_redacted(f"GET {path} HTTP/1.1") == f"GET {path} HTTP/1.1"
        assert path_redacted(path, resolve(path).kwargs) == path


# A URL parameter whose name says it is a secret; decided here on its own, not by the code under test.
_SECRET_NAME = re.compile(r"token|key|secret|signature|uidb36", re.IGNORECASE)
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>")


def _group_end(regex: str, at: int) -> int:
    """The index after the group whose body starts at `at` (escapes and character classes skipped)."""
    depth, i = 1, at
    while depth:
        c = regex[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i += 2 if regex[i + 1] == "^" else 1
            i += 1 if regex[i] == "]" else 0
            while regex[i] != "]":
                i += 2 if regex[i] == "\\" else 1
        depth += {"(": 1, ")": -1}.get(c, 0)
        i += 1
    return i


def _example_path(levels: tuple, values: dict[str, str]) -> str:
    """A path the route of `levels` resolves, its parameters given `values`: its levels' regexes, joined, with
    each named group replaced by the value and the literals unescaped."""
    regex = "".join(re.sub(r"^\^|(?:\\Z|\$)$", "", p.pattern.regex.pattern) for p in levels)
    out, i = [], 0
    while i < len(regex):
        group = _NAMED_GROUP.match(regex, i)
        if group:
            out.append(values[group.group(1)])
            i = _group_end(regex, group.end())
        elif regex[i] == "\\":
            out.append(regex[i + 1])
            i += 2
        else:
            out.append(regex[i])
            i += 1
    return "/" + "".join(out)


def test_every_route_with_a_secret_parameter_is_redacted_in_every_request_log():
    # given every route of the site, the included URLconfs' too (allauth's), with a parameter named like a secret
    secret_routes = []
    for levels in walk_route_levels():
        names = [name for p in levels for name in p.pattern.regex.groupindex]
        if any(_SECRET_NAME.search(name) for name in names):
            values = {name: f"Sekr3t{n}Qz" if _SECRET_NAME.search(name) else "4242" for n, name in enumerate(names)}
            secret_routes.append(("".join(str(p.pattern) for p in levels), levels, values))
    routes = {route for route, _levels, _values in secret_routes}
    assert {"webhooks/<slug:segment>/<str:token>/", "shipments/files/<str:token>/", "invitations/<str:key>/",
            "accounts/^confirm-email/(?P<key>[-:\\w]+)/$",
            "accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$"} <= routes
    logger, out, error_out = _gunicorn_logs('%(r)s|%(U)s|%({raw_uri}e)s|%({path_info}e)s|%(f)s|%({referer}i)s')
    for route, levels, values in secret_routes:
        path = _example_path(levels, values)
        match = resolve(path)  # the example is a path of this route (else the test would prove nothing)
        assert match.func is levels[-1].callback, (route, path)
        secrets = [value for name, value in values.items() if _SECRET_NAME.search(name)]
        assert all(str(match.kwargs[name]) == value for name, value in values.items() if value in secrets), route
        # when it is written by gunicorn's access and error logs, with and without its trailing slash (the request
        # APPEND_SLASH redirects), in a referer; by our request log and Django's own lines
        for logged in {path, path.rstrip("/")}:
            environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"{logged}?next=/orders/", "PATH_INFO": logged,
                       "QUERY_STRING": "next=/orders/", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "10.0.0.7",
                       "HTTP_REFERER": f"https://switchboard.example{logged}"}
            request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
            logger.access(SimpleNamespace(status="404 Not Found", sent=0, headers=[]), request, environ,
                          timedelta(milliseconds=3))
            logger.exception("Error handling request %s", f"{logged}?next=/orders/")
        lines = [out.getvalue(), error_out.getvalue(), path_redacted(path, match.kwargs),
                 text_redacted(f"Not Found: {path}"), text_redacted(f"<WSGIRequest: GET '{path}'>")]
        # then no line holds the secret
        for line in lines:
            assert not any(secret in line for secret in secrets), (route, line)
    assert out.getvalue().count("[redacted]") >= 2 * 6 * len(secret_routes)
    assert error_out.getvalue().count("Error handling request") >= 2 * len(secret_routes)
