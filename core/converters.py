"""The `id` path converter: the only thing a view's `<id:pk>` can receive is a bigint primary key.

Django's `int` converter already refuses non-ASCII digits, but turns "99999999999999999999" into a
number no bigint column holds; DRF's routers match anything between slashes. With this converter
(registered on import, by CoreConfig.ready) such paths do not match at all and are a 404.
"""

from __future__ import annotations

from django.urls import register_converter

from core.parsing import MAX_BIGINT


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_BIGINT:
            raise ValueError(value)  # Django reads a ValueError as "this pattern does not match"
        return number

    def to_url(self, value: int | str) -> str:
        return str(int(value))


register_converter(IdConverter, "id")
