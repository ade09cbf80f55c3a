"""pytest fixtures: a running ShipStation V2 fake, with SHIPSTATION_API_BASE_URL pointed at it."""

from __future__ import annotations

import pytest

from tests.fakes.shipstation.server import ShipStationFake

SHIPSTATION_KEY = "TEST_fake_key"


@pytest.fixture
def shipstation_fake(settings):
    with ShipStationFake((SHIPSTATION_KEY,)) as fake:
        settings.SHIPSTATION_API_BASE_URL = fake.base_url
        yield fake
