"""The API router: DRF's, with `<id:pk>` detail routes (core.converters) instead of `[^/.]+`."""

from __future__ import annotations

from rest_framework.routers import DefaultRouter

import core.converters  # noqa: F401 - registers the `id` converter before any route is built


class ApiRouter(DefaultRouter):
    include_root_view = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, use_regex_path=False, **kwargs)
        self._default_value_pattern = "id"
