"""The one extension mechanism: a lower app owns a registry, higher apps fill it from AppConfig.ready().

Dependencies point down (DESIGN.md), so a lower app cannot name what a higher one adds to it
(a channel, a bulk action, an availability consumer, an onboarding step). It offers a `Registry`
instead; the higher app registers its entries in its `AppConfig.ready()`, which Django runs once
every app is loaded and before any request, task or command. No settings dotted paths, no signals.

    # orders/channels.py (the lower app)
    channels: Registry[ChannelInfo] = Registry("orders.channels")

    # integrations/apps.py (the higher app)
    def ready(self):
        channels.register("acme", ChannelInfo(...))

Registering the same key twice with an equal value is allowed (ready() of a test app may run
again); a different value under a taken key is a programming error and raises at start-up, so
two apps can never silently fight over one name.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")


class RegistryError(LookupError):
    """A key registered twice with different values, or looked up and not registered."""


class Registry(Generic[T]):
    """Entries by key, in registration order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._entries: dict[str, T] = {}

    def register(self, key: str, value: T) -> T:
        """Add an entry; returns the value, so it can decorate a function."""
        current = self._entries.get(key, value)
        if current is not value and current != value:
            raise RegistryError(f"{self.name}: {key!r} is already registered as {current!r}")
        self._entries[key] = value
        return value

    def unregister(self, key: str) -> None:
        self._entries.pop(key, None)

    @contextmanager
    def registered(self, key: str, value: T) -> Iterator[T]:
        """Register an entry for the length of a block (tests), then put back what was there."""
        had, previous = key in self._entries, self._entries.get(key)
        self._entries[key] = value
        try:
            yield value
        finally:
            if had:
                self._entries[key] = previous  # type: ignore[assignment]
            else:
                self._entries.pop(key, None)

    def get(self, key: str) -> T | None:
        return self._entries.get(key)

    def __getitem__(self, key: str) -> T:
        try:
            return self._entries[key]
        except KeyError:
            raise RegistryError(f"{self.name}: nothing is registered as {key!r}") from None

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[str]:
        return list(self._entries)

    def values(self) -> list[T]:
        return list(self._entries.values())

    def items(self) -> list[tuple[str, T]]:
        return list(self._entries.items())

    def only(self, role: str) -> T | None:
        """The one entry of a registry that takes at most one (`role`: what that app may do), or None;
        two are ImproperlyConfigured, naming who registered."""
        if len(self._entries) > 1:
            raise ImproperlyConfigured(f"Only one app may {role}; registered: {', '.join(self._entries)}")
        return next(iter(self._entries.values()), None)

    def __repr__(self) -> str:
        return f"<Registry {self.name}: {', '.join(self._entries) or 'empty'}>"
