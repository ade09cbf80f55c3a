from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _no_sign_in_attempts_counted():
    """Sign-in and token exchanges count attempts on the shared cache (allauth's login_failed limits, the
    exchange's throttle): every test here starts with none counted, whatever ran before it."""
    cache.clear()
    yield
    cache.clear()
