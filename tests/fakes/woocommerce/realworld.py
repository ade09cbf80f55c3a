"""The recorded WooCommerce payloads (../shared/realworld/woocommerce/, SOURCES.md there says where each
comes from), for the fake's and the mapping's tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

REALWORLD_DIR = Path(os.environ.get("WOOCOMMERCE_REALWORLD_DIR", "/work/shared/realworld/woocommerce"))


def realworld(name: str) -> Any:
    """A recorded answer's body: `response.body` of a documented request, or the `data` a WP.com/Jetpack
    tunnel wrapped around a real store's answer."""
    data = json.loads((REALWORLD_DIR / name).read_text())
    if "response" in data:
        return data["response"]["body"]
    return data["data"]
