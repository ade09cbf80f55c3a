"""The merchant's browser at the fake store's key-granting pages: open the authorize URL we redirected to,
then click Approve (the fake POSTs the key to our callback and answers with the redirect to our return URL)
or Deny (the link back to our return URL with success=0)."""

from __future__ import annotations

import html
import re

import requests


def _grant_page(authorize_url: str) -> str:
    response = requests.get(authorize_url, timeout=30, allow_redirects=False)
    assert response.status_code == 200, f"{response.status_code}: {response.text[:300]}"
    return response.text


def _link(page: str, css_class: str) -> str:
    match = re.search(rf'<a href="([^"]+)" class="[^"]*{css_class}[^"]*"', page)
    assert match, f"no {css_class} link on the grant page"
    return html.unescape(match.group(1))


def wc_auth_approve(authorize_url: str) -> requests.Response:
    """Approve: the answer of `access_granted` (302 to our return URL, or WooCommerce's 401 error page)."""
    granted = _link(_grant_page(authorize_url), "wc-auth-approve")
    return requests.get(granted, timeout=90, allow_redirects=False)


def wc_auth_deny(authorize_url: str) -> str:
    """Deny: where the Deny link sends the browser (our return URL with success=0)."""
    return _link(_grant_page(authorize_url), "wc-auth-deny")
