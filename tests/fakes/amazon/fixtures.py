"""Pytest fixtures for the Amazon fake; tests/fakes/conftest.py imports them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .server import AmazonFake


@pytest.fixture
def amazon_fake() -> Iterator[AmazonFake]:
    """Amazon on loopback, on real time, with Amazon's rates and bursts scaled 100x (a test does in seconds
    what Amazon's plan allows in minutes, with the same bursts)."""
    fake = AmazonFake(time_scale=100.0)
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
    assert not fake.crashes, f"the Amazon fake broke its contract or crashed: {fake.crashes}"
