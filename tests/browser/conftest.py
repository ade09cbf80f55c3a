"""Browser tests: Playwright driving Debian's Chromium, headless, against pytest-django's live server.

Every test here is marked `browser` (added below) and `postgres`: the live server runs in a
thread, so test data must be committed (pytest-django's `live_server` uses a transactional
database). Chromium comes from Debian (`/usr/bin/chromium`, or `CHROMIUM_PATH`); Playwright's
own browser download is never used. Without Chromium these tests are skipped with a loud line
locally and fail in CI (REQUIRE_SERVICES=1), like the other services.

Use `signed_in(tenant)` to get a page already signed in as that tenant's user (the session
cookie is made by Django's test client, so no login form is typed), `phone` / `laptop` for the
two viewports, and `assert_fits_width(page)` to check a page has no horizontal overflow.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator

import pytest

# The carriers' loopback fakes, for the labels pages (they ask every carrier account for rates).
from tests.fakes.easypost.fixtures import easypost_fake  # noqa: F401
from tests.fakes.shipstation.fixtures import shipstation_fake  # noqa: F401

LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

# The flags this machine's closed network needs (see the env notes): no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    here = os.path.dirname(__file__)
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def _playwright() -> Iterator[object]:
    # Playwright's sync API runs its own event loop; Django must be told that sync ORM calls from
    # the test body are fine.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    path = chromium_path()
    if not path:
        pytest.fail("Chromium not found (apt-get install chromium, or set CHROMIUM_PATH)")
    b = _playwright.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
    yield b
    b.close()


# Every page reports each Content Security Policy violation to the test (the document's
# securitypolicyviolation event, through a binding Playwright adds before any of the page's scripts run).
_CSP_LISTENER = """document.addEventListener('securitypolicyviolation', e => window.__cspViolation(
  e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline code') + ' on ' + e.documentURI +
  (e.sample ? ' (' + e.sample + ')' : '') + (e.lineNumber ? ' at line ' + e.lineNumber : '')));"""


@pytest.fixture
def csp_violations() -> list[str]:
    """The CSP violations the browser reported during the test (each a line of text). `new_page` fails the
    test when any is left at its end; a test that provokes one on purpose clears the list."""
    return []


def _watch_csp(context, violations: list[str]) -> None:
    context.expose_binding("__cspViolation", lambda source, text: violations.append(text))
    context.add_init_script(_CSP_LISTENER)
    # The console says it too, for what happens before a listener can run (a blocked inline script in <head>).
    context.on("console", lambda msg: violations.append("console: " + msg.text)
               if msg.type == "error" and "Content Security Policy" in msg.text else None)


@pytest.fixture
def new_page(browser, live_server, csp_violations) -> Iterator[Callable[..., object]]:
    """new_page(viewport=LAPTOP, user=None) → a Playwright page on the live server, signed in as `user`.

    A test whose pages met a Content Security Policy violation fails (at teardown, listing them)."""
    contexts = []

    def make(viewport: dict | None = None, user=None):
        context = browser.new_context(viewport=viewport or LAPTOP, base_url=live_server.url)
        context.set_default_timeout(10_000)
        _watch_csp(context, csp_violations)
        if user is not None:
            from django.conf import settings
            from django.test import Client

            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value,
                                  "url": live_server.url}])
        contexts.append(context)
        return context.new_page()

    yield make
    for c in contexts:
        c.close()
    if csp_violations:
        pytest.fail("Content Security Policy violations:\n" + "\n".join(dict.fromkeys(csp_violations)))


@pytest.fixture
def signed_in(new_page):
    """signed_in(tenant, viewport=LAPTOP) → a page signed in as the tenant's user."""
    def make(tenant, viewport: dict | None = None):
        return new_page(viewport=viewport, user=tenant.user)

    return make


_OVERFLOW_JS = """() => {
  const view = document.documentElement.clientWidth;
  const clipped = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
  const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    [...e.classList].map(c => '.' + c).join('') + (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '');
  const path = e => { const parts = []; for (let a = e; a && a !== document.body; a = a.parentElement) parts.unshift(name(a));
    return parts.slice(-4).join(' > '); };
  const wide = [...document.querySelectorAll('body *')]
    .map(e => [e, e.getBoundingClientRect()])
    .filter(([e, r]) => r.width > 0 && r.right > view + 1 && !clipped(e))
    .sort((a, b) => b[1].right - a[1].right).slice(0, 5)
    .map(([e, r]) => path(e) + ' (right edge ' + Math.round(r.right) + 'px)');
  return {scroll: document.documentElement.scrollWidth, view: view, widest: wide};
}"""

_PROBLEMS_JS = """() => {
  const problems = [];
  const seen = {};
  document.querySelectorAll('[id]').forEach(e => { seen[e.id] = (seen[e.id] || 0) + 1; });
  Object.entries(seen).filter(([, n]) => n > 1).forEach(([id]) => problems.push('duplicate id: ' + id));
  document.querySelectorAll('input, select, textarea').forEach(e => {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(e.type)) return;
    if (e.labels && e.labels.length) return;
    if ((e.getAttribute('aria-label') || '').trim() || e.getAttribute('aria-labelledby')) return;
    problems.push('input without a label: ' + e.tagName.toLowerCase() +
      (e.getAttribute('name') ? '[name=' + e.getAttribute('name') + ']' : '') + (e.id ? '#' + e.id : ''));
  });
  return problems;
}"""


# A raw status code in the page's words: a lower-case word with "_" inside ("needs_attention",
# "awaiting_payment"). Text a merchant reads only; left out are what legitimately holds underscores:
# <code>/<pre>/<kbd>/<samp> (API token prefixes, code samples, raw payloads), `.mono` (SKUs, tracking
# numbers, references), form controls' values, e-mail addresses and URLs (a word touching "@", "." or "/"),
# and anything not rendered (closed <details>, display:none).
_RAW_CODES_JS = r"""() => {
  const skip = 'code, pre, kbd, samp, script, style, textarea, select, option, .mono, [data-raw]';
  const word = /(^|[^\w@./:-])([a-z]+(?:_[a-z0-9]+)+)(?=$|[^\w@./-])/g;
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(skip) || !parent.checkVisibility({visibilityProperty: true})) continue;
    for (const m of node.textContent.matchAll(word)) found.push(m[2] + ' in "' + node.textContent.trim().slice(0, 80) + '"');
  }
  return found;
}"""


def raw_codes(page) -> list[str]:
    """Words with "_" inside in the page's visible text (see _RAW_CODES_JS for what is left out): a status
    code shown where its label belongs."""
    return page.evaluate(_RAW_CODES_JS)


_CLIPPED_BADGES_JS = """(withAncestors) => {
  const clipper = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement) {
    if (getComputedStyle(a).overflowX !== 'visible') return a; } return null; };
  const out = [];
  document.querySelectorAll('.badge').forEach(b => {
    if (!b.checkVisibility()) return;
    const text = '"' + b.textContent.trim() + '"';
    if (b.scrollWidth > b.clientWidth + 1) { out.push('badge ' + text + ' cut inside (' + b.scrollWidth + ' > ' + b.clientWidth + 'px)'); return; }
    const box = b.getBoundingClientRect(), c = withAncestors && clipper(b);
    if (c) { const r = c.getBoundingClientRect();
      if (box.right > r.right + 1 || box.left < r.left - 1) out.push('badge ' + text + ' cut by ' + c.tagName.toLowerCase() + '.' + [...c.classList].join('.')); }
  });
  return out;
}"""


def clipped_badges(page, *, by_ancestors: bool = True) -> list[str]:
    """Badges whose words do not fit: wider than the badge itself, or (by_ancestors) sticking out of a
    parent that hides overflow. At a laptop's width the queue's one-line cells cut on purpose (the whole
    text is in their title), so the walker asks about ancestors on a phone only."""
    return page.evaluate(_CLIPPED_BADGES_JS, by_ancestors)


def assert_fits_width(page) -> None:
    """The page scrolls only vertically: nothing is wider than the viewport.

    Content inside a scroll container (`.table-scroll` or anything with overflow-x other than
    visible) may be wider; the failure names the widest elements that stick out, with their path.
    """
    overflow = page.evaluate(_OVERFLOW_JS)
    assert overflow["scroll"] <= overflow["view"], (
        f"{page.url} is {overflow['scroll']}px wide on a {overflow['view']}px screen; sticking out: "
        + "; ".join(overflow["widest"]))


def page_problems(page) -> list[str]:
    """Accessibility basics of the page as loaded: duplicated id attributes and inputs, selects and
    text areas without a label (a <label>, aria-label or aria-labelledby; a placeholder is not one)."""
    return page.evaluate(_PROBLEMS_JS)
