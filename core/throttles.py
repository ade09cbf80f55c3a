"""API throttles: a request budget per API token, counted on the shared cache so every web worker
counts the same requests.

DRF's own SimpleRateThrottle keeps a list of timestamps per client and writes it back after reading
it: two workers answering the same token at once both read the old list, so each of N workers can let
the full rate through. This counts with one atomic increment per request (Redis INCR) in a fixed
window instead; the price is the fixed window's edge (up to twice the rate across a window boundary),
which a budget meant to stop a runaway script can afford. The webhook endpoints are not API views and
are never throttled here: a marketplace's burst after a big push must be taken whole (the inbox stores
first, then works at its own pace).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from core.cache import shared_cache_required
from core.rates import rate_parse


class ApiRateThrottle(BaseThrottle):
    """API_THROTTLE_RATE per API token (or per signed-in user for the dashboard's session calls);
    API_THROTTLE_ANON_RATE per client address before authentication (the address as DRF's
    NUM_PROXIES/TRUSTED_PROXY_COUNT reads it)."""

    def allow_request(self, request, view) -> bool:
        token = request.auth if getattr(request.auth, "pk", None) else None
        if token is not None:
            who, rate = f"token:{token.pk}", settings.API_THROTTLE_RATE
        elif request.user and request.user.is_authenticated:
            who, rate = f"user:{request.user.pk}", settings.API_THROTTLE_RATE
        else:
            who, rate = f"ip:{self.get_ident(request)}", settings.API_THROTTLE_ANON_RATE
        limit, period = rate_parse(rate)
        now = time.time()
        window = int(now // period)
        key = f"throttle:api:{who}:{period}:{window}"
        with shared_cache_required("The API"):
            cache.add(key, 0, timeout=period + 5)
            count = cache.incr(key)
        self._wait = (window + 1) * period - now
        return count <= limit

    def wait(self) -> float:
        return self._wait
