"""The URL resolver walked once for the tests that check every route (tenant isolation, the page walker,
no dead ends), so a route added later is covered without anyone listing it."""

from __future__ import annotations

from collections.abc import Iterator

from django.urls import URLPattern, URLResolver, get_resolver


def walk_routes(patterns=None, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(route text, view callback) for every pattern under `patterns` (default: the whole site)."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from walk_routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p.callback


def walk_route_levels(patterns=None, levels: tuple = ()) -> Iterator[tuple]:
    """The patterns from the root URLconf down to every route (an include's pattern, then its own...)."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(p, URLResolver):
            yield from walk_route_levels(p.url_patterns, (*levels, p))
        elif isinstance(p, URLPattern):
            yield (*levels, p)
