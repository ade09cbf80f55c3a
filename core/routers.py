"""The API router: DRF's, with `<id:pk>` detail routes (core.converters) instead of `[^/.]+`.

A SimpleRouter: the API speaks JSON only, so it has no `.json` format-suffix twins of every route
and no browsable root view.
"""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

import core.converters  # noqa: F401 - registers the `id` converter before any route is built


class ApiRouter(SimpleRouter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, use_regex_path=False, **kwargs)
        self._default_value_pattern = "id"
