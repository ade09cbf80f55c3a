"""How the fake's own tests call it: plain `requests`, signed with `oauthlib` over HTTP or Basic over TLS.
(The product's client is integrations/channels/woocommerce/client.py; these tests check the fake.)"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from .server import WooCommerceFake
from .state import ApiKey


def oauth_call(fake: WooCommerceFake, key: ApiKey | None, method: str, path: str, params: dict[str, Any] | None = None,
               *, json: Any = None, nonce: str | None = None, timestamp: int | None = None,
               secret: str | None = None, signature_method: str = SIGNATURE_HMAC_SHA256) -> requests.Response:
    """One call to `/wp-json/wc/v3{path}` (or to `path` itself when it starts with `/wp-json/`), signed in
    the Authorization header (no key: unsigned)."""
    base = fake.base_url if path.startswith("/wp-json/") else fake.api_url
    url = base + path + ("?" + urlencode(params) if params else "")
    headers: dict[str, str] = {}
    if key is not None:
        client = Client(key.consumer_key, client_secret=secret if secret is not None else key.consumer_secret,
                        signature_method=signature_method, nonce=nonce,
                        timestamp=str(timestamp) if timestamp is not None else None)
        url, headers, _ = client.sign(url, http_method=method)
    return requests.request(method, url, headers=headers, json=json, timeout=10)


def basic_call(fake: WooCommerceFake, key: ApiKey, method: str, path: str, params: dict[str, Any] | None = None,
               *, json: Any = None, secret: str | None = None) -> requests.Response:
    """One call with HTTP Basic (consumer key and secret), verified against the fake's own certificate."""
    return requests.request(method, fake.api_url + path, params=params, json=json, timeout=10,
                            auth=(key.consumer_key, secret if secret is not None else key.consumer_secret),
                            verify=fake.ca_bundle or True)
