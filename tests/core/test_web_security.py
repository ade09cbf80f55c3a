"""Web security headers (issue 20.5): a Content Security Policy without 'unsafe-inline', a Permissions-Policy
that switches off what no page needs, and CORS closed unless origins are configured, for the API only.

The pages are walked from the URL resolver (tests/routes.py) under the security settings production runs
with (read from config.settings in a child process with a complete production environment), so a page
added later is checked the day it lands. Every response must carry both headers; every HTML page must
also hold no inline code, since the policy would block it in the browser (tests/browser fail on any
violation too). A static check keeps inline code out of the templates in the first place.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib import admin
from django.test import Client, override_settings

from tests.browser.test_every_page_fits_a_phone import DASHBOARD_ROUTES, _paths, seed_labels, seed_workbench
from tests.core.test_settings_env import complete_production_env
from tests.fakes.easypost.fixtures import easypost_fake  # noqa: F401  (the labels pages ask the carrier for rates)
from tests.routes import walk_routes

ROOT = Path(__file__).resolve().parents[2]

# --- What counts as inline code -------------------------------------------------------------------------

# Script types a browser does not run (data blocks, templates): CSP does not apply to them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/template", "text/x-template"}


class _InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' blocks: <script> without src (other than data
    blocks), <style> elements, style="" attributes, on*="" event handlers and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "script" and "src" not in named and (named.get("type") or "").lower() not in DATA_SCRIPT_TYPES:
            self.found.append(f"inline <script> at line {self.getpos()[0]}")
        if tag == "style":
            self.found.append(f"<style> element at line {self.getpos()[0]}")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'style="{value}" on <{tag}> at line {self.getpos()[0]}')
            elif name.startswith("on"):
                self.found.append(f'{name}="{value}" on <{tag}> at line {self.getpos()[0]}')
            elif name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f'{name}="{value}" on <{tag}> at line {self.getpos()[0]}')


def inline_code(html: str) -> list[str]:
    parser = _InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


# Template source: the same rules on the raw text, tags and attributes matched before Django renders them.
_TEMPLATE_RULES = [
    (re.compile(r"<script\b(?![^>]*\bsrc=)(?![^>]*\btype=\"(?:application/(?:ld\+)?json|text/(?:x-)?template)\")",
                re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"<[a-z][^>]*\sstyle\s*=", re.I | re.S), 'style="" attribute'),
    (re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I | re.S), 'on*="" event handler'),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]
# E-mails are read by mail programs, which need inline styles and run no script; no browser applies our
# CSP to them.
TEMPLATE_EXEMPT = ("notifications/email/",)


def template_problems(source: str) -> list[str]:
    return [f"{what} at line {source.count(chr(10), 0, m.start()) + 1}"
            for rule, what in _TEMPLATE_RULES for m in rule.finditer(source)]


def _project_templates() -> list[Path]:
    dirs = [ROOT / "templates", *ROOT.glob("*/templates")]
    return sorted(p for d in dirs for p in d.rglob("*.html") if ".venv" not in p.parts)


def test_no_template_holds_inline_code():
    """Scripts live in static/js, styles in static/css: values a script needs go in data-* attributes,
    a width that varies is a <progress> or is set from a script (CSSOM is allowed, style="" is not)."""
    templates = _project_templates()
    problems = [f"{path.relative_to(ROOT)}: {p}" for path in templates
                if not any(part in path.as_posix() for part in TEMPLATE_EXEMPT)
                for p in template_problems(path.read_text())]

    assert len(templates) > 40  # the walk found the templates
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("snippet", [
    "<script>alert(1)</script>", '<script type="text/javascript">x()</script>', "<style>p{}</style>",
    '<span class="a" style="width: 3%">', '<select name="s"\n  onchange="this.form.submit()">',
    '<a href="javascript:history.back()">', "<img src=x onerror='x()'>",
])
def test_the_checks_catch_each_kind_of_inline_code(snippet):
    assert template_problems(snippet)
    assert inline_code(snippet)


@pytest.mark.parametrize("snippet", [
    '<script src="/static/js/app.js" defer></script>', '<script type="application/json" id="rules">{}</script>',
    '<div data-onload="x" data-style="y">', '<progress class="progress" max="100" value="25">',
    '<svg class="channel-dot"><circle fill="#123456"/></svg>',
])
def test_the_checks_let_external_code_and_data_through(snippet):
    assert template_problems(snippet) == []
    assert inline_code(snippet) == []


# --- Production's settings ------------------------------------------------------------------------------

SECURITY_SETTINGS = ("MIDDLEWARE", "CONTENT_SECURITY_POLICY", "PERMISSIONS_POLICY", "CORS_ALLOWED_ORIGINS",
                     "CORS_URLS_REGEX", "CORS_ALLOW_CREDENTIALS", "CORS_EXPOSE_HEADERS", "DEBUG",
                     "SECURE_PROXY_SSL_HEADER", "SECURE_HSTS_SECONDS", "SECURE_CONTENT_TYPE_NOSNIFF",
                     "SECURE_REFERRER_POLICY", "X_FRAME_OPTIONS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")


def production_settings(extra_env: dict[str, str] | None = None) -> dict:
    """The security settings config.settings makes from a complete production environment (a child
    process: settings are read once, from the environment)."""
    code = f"import json, config.settings as s; print(json.dumps({{k: getattr(s, k) for k in {SECURITY_SETTINGS!r}}}))"
    clean = {k: v for k, v in os.environ.items() if k not in (
        "DATABASE_URL", "REDIS_URL", "SWITCHBOARD_TESTING", "DJANGO_SETTINGS_MODULE", "CORS_ALLOWED_ORIGINS",
        "CSP_REPORT_URI", "OUTBOUND_ALLOWED_PRIVATE_HOSTS")}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=clean | complete_production_env() | (extra_env or {}))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def production() -> dict:
    return production_settings()


def test_production_policy_has_no_inline_code_and_denies_powerful_features(production):
    directives = production["CONTENT_SECURITY_POLICY"]["DIRECTIVES"]
    everything = [source for sources in directives.values() for source in sources]

    assert "'unsafe-inline'" not in everything and "'unsafe-eval'" not in everything
    assert not [s for s in everything if s.startswith(("'nonce-", "'sha"))]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == ["'none'"]
    assert directives["form-action"] == ["'self'", "https:"]  # no plain-http host allowed in production
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert production["PERMISSIONS_POLICY"][feature] == []
    assert production["DEBUG"] is False
    assert production["CORS_ALLOWED_ORIGINS"] == [] and production["CORS_ALLOW_CREDENTIALS"] is False


def test_cors_origins_come_from_the_environment():
    configured = production_settings({"CORS_ALLOWED_ORIGINS": "https://ops.example.com, https://bi.example.org/"})

    assert configured["CORS_ALLOWED_ORIGINS"] == ["https://ops.example.com", "https://bi.example.org"]


# --- Every page under production's settings --------------------------------------------------------------

SAMPLES = {"id": "999999", "int": "999999", "slug": "ship", "str": "x", "uuid": "00000000-0000-0000-0000-000000000000",
           "path": "x"}


def _sample_path(route: str) -> str | None:
    if "^" in route or "(?P" in route:
        return None  # regex routes (the admin's, DRF's format suffixes): the admin is walked below
    return "/" + re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLES[m.group(1) or "str"], route)


def _every_path(tenant) -> list[str]:
    """Every dashboard page filled with real objects (the phone walker's seeding), every other GET route
    with sample values (an API list, a 404, a sign-in redirect: the headers must be there all the same),
    and the admin's index, change lists and add forms."""
    seeded = seed_workbench(tenant)
    labels = seed_labels(tenant)
    seeded["orders"] += labels.pop("labelled_orders")
    seeded.update(labels)
    paths = [p for route in DASHBOARD_ROUTES for p in _paths(route, seeded, tenant)]
    paths += sorted({p for route, _ in walk_routes() if route not in DASHBOARD_ROUTES
                     and not route.startswith("admin/") and (p := _sample_path(route)) is not None})
    paths += ["/admin/"] + [f"/admin/{m._meta.app_label}/{m._meta.model_name}/{suffix}"
                            for m in admin.site._registry for suffix in ("", "add/")]
    return paths


def _header_problems(path: str, response) -> list[str]:
    problems = []
    policy = response.headers.get("Content-Security-Policy")
    if not policy:
        problems.append(f"{path}: no Content-Security-Policy ({response.status_code})")
    elif "unsafe-inline" in policy or "unsafe-eval" in policy:
        problems.append(f"{path}: the policy allows inline code: {policy}")
    if "camera=()" not in response.headers.get("Permissions-Policy", ""):
        problems.append(f"{path}: no Permissions-Policy denying the camera ({response.status_code})")
    if response.status_code == 200 and response.headers.get("Content-Type", "").startswith("text/html"):
        problems += [f"{path}: {p}" for p in inline_code(response.content.decode())]
    return problems


@pytest.mark.django_db
@pytest.mark.usefixtures("easypost_fake")
def test_every_page_carries_the_policy_and_holds_no_inline_code(merchant_a, production):
    """Given production's security settings, every page (signed in as an owner, signed out, and the
    admin as staff) answers with the CSP and the Permissions-Policy, and no HTML page has inline code."""
    from accounts.models import User

    # A view that fails still answers through the middleware: its 500 page must carry the headers too.
    staff, owner, signed_out = (Client(raise_request_exception=False) for _ in range(3))
    staff.force_login(User.objects.create_superuser("ops@switchboard.example", "a-long-enough-password-1"))
    owner.force_login(merchant_a.user)
    paths = _every_path(merchant_a)
    problems, statuses = [], {}

    with override_settings(**production):
        for path in paths:
            client = staff if path.startswith("/admin/") else owner
            response = client.get(path, secure=True)
            statuses[path] = response.status_code
            problems += _header_problems(path, response)
        for path in ("/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/orders/", "/api/docs/",
                     "/api/docs/?script="):
            response = signed_out.get(path, secure=True)
            statuses["signed out " + path] = response.status_code
            problems += _header_problems(path, response)

    assert problems == [], "\n".join(problems)
    ok = [p for p, status in statuses.items() if status == 200]
    assert {"/orders/", "/inventory/", "/jobs/", "/settings/", "/admin/", "/api/docs/",
            "signed out /accounts/login/"} <= set(ok)
    assert len(ok) > 60, len(ok)


@pytest.mark.django_db
def test_an_error_page_carries_the_policy_too(merchant_a, production):
    with override_settings(**production):
        missing = merchant_a.web.get("/orders/999999/", secure=True)

    assert missing.status_code == 404
    assert _header_problems("/orders/999999/", missing) == []


# --- CORS ------------------------------------------------------------------------------------------------

def _preflight(client: Client, path: str, origin: str):
    return client.options(path, secure=True, headers={
        "Origin": origin, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"})


@pytest.mark.django_db
def test_cors_is_closed_by_default(merchant_a, production):
    with override_settings(**production):
        preflight = _preflight(Client(), "/api/v1/orders/", "https://elsewhere.example")
        answer = merchant_a.api.get("/api/v1/orders/", secure=True, headers={"Origin": "https://elsewhere.example"})

    assert "Access-Control-Allow-Origin" not in preflight.headers
    assert answer.status_code == 200 and "Access-Control-Allow-Origin" not in answer.headers


@pytest.mark.django_db
def test_configured_origins_may_call_the_api_only_and_without_cookies(merchant_a, production):
    origin = "https://ops.example.com"
    with override_settings(**(production | {"CORS_ALLOWED_ORIGINS": [origin]})):
        preflight = _preflight(Client(), "/api/v1/orders/", origin)
        answer = merchant_a.api.get("/api/v1/orders/", secure=True, headers={"Origin": origin})
        stranger = merchant_a.api.get("/api/v1/orders/", secure=True, headers={"Origin": "https://evil.example"})
        page = merchant_a.web.get("/orders/", secure=True, headers={"Origin": origin})

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    assert answer.headers["Access-Control-Allow-Origin"] == origin
    assert set(answer.headers["Access-Control-Expose-Headers"].lower().split(", ")) == {"retry-after", "x-request-id"}
    assert "Access-Control-Allow-Origin" not in stranger.headers
    assert page.status_code == 200 and "Access-Control-Allow-Origin" not in page.headers  # the dashboard: never
