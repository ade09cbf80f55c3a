"""Pytest fixtures for the WooCommerce fake. tests/fakes/conftest.py imports them; another test package
imports them into its own conftest.py the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .receiver import Receiver
from .server import WooCommerceFake
from .state import ApiKey


def _started(fake: WooCommerceFake) -> Iterator[WooCommerceFake]:
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.crashes, f"the WooCommerce fake crashed: {fake.crashes}"


@pytest.fixture
def woo_fake() -> Iterator[WooCommerceFake]:
    """A plain-HTTP store (OAuth 1.0a only) in a non-UTC zone, on real time."""
    yield from _started(WooCommerceFake(timezone="America/New_York"))


@pytest.fixture
def woo_https_fake() -> Iterator[WooCommerceFake]:
    """The same store behind TLS (a self-signed certificate at `ca_bundle`): Basic auth works there."""
    yield from _started(WooCommerceFake(timezone="America/New_York", https=True))


@pytest.fixture
def woo_key(woo_fake: WooCommerceFake) -> ApiKey:
    return woo_fake.add_key()


@pytest.fixture
def woo_receiver() -> Iterator[Receiver]:
    """A delivery URL on loopback that answers 200 (set `.status` to make it fail)."""
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.stop()
