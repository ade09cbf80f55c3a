"""pytest fixtures: a running EasyPost fake, with EASYPOST_API_BASE_URL pointed at it."""

from __future__ import annotations

import pytest

from tests.fakes.easypost.server import EasyPostFake

EASYPOST_KEY = "EZTK_fake_key"


@pytest.fixture
def easypost_fake(settings):
    with EasyPostFake((EASYPOST_KEY,)) as fake:
        settings.EASYPOST_API_BASE_URL = fake.base_url
        yield fake
