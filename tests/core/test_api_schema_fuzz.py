"""Schemathesis over the whole OpenAPI schema, against the Django WSGI app in-process.

Every operation of /api/schema/ gets generated requests (valid and invalid: wrong types, NUL
characters, huge numbers, odd strings), sent as merchant A with an API token while merchant B
has data of its own. Every response must be no 5xx, and its status code, content type and body
must be the ones the schema documents (the error shape included). The examples are bounded so
this costs well under a minute or two in `make test`.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tenancy import tenant_scope
from tests.factories import load_all
from tests.fakes.easypost.fixtures import easypost_fake  # noqa: F401 - the carriers' loopback fakes
from tests.fakes.shipstation.fixtures import shipstation_fake  # noqa: F401

MAX_EXAMPLES = 8


def _seed(tenant) -> None:
    """One object of every model the API serves (the isolation guard's factories)."""
    with tenant_scope(tenant.merchant):
        for factory in load_all().values():
            factory(tenant)


@pytest.fixture
def fuzz_tenant(merchant_a, merchant_b, request, settings):
    """Merchant A, whose token sends the requests, while merchant B has objects of its own. Carriers are
    their loopback fakes (a carrier account is tested with its carrier before it is saved).

    The requests go through the real WSGI handler, whose request signals would close the test's
    database connection (inside its transaction); Django's test client unhooks them the same way.
    """
    settings.API_THROTTLE_RATE = "1000000/min"  # a thousand requests from one token: the fuzz is not about throttles
    request.getfixturevalue("easypost_fake")
    request.getfixturevalue("shipstation_fake")
    _seed(merchant_a)
    _seed(merchant_b)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield merchant_a
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_schema_has_every_api_route():
    """The fuzzing below must not pass vacuously: the schema lists the API's operations."""
    labels = {result.ok().label for result in schema.get_all_operations()}
    assert {"GET /api/v1/orders/", "POST /api/v1/orders/{id}/return/", "PATCH /api/v1/products/{id}/",
            "DELETE /api/v1/api-tokens/{id}/", "GET /api/v1/stock-levels/"} <= labels
    assert len(labels) >= 35


def test_every_operation_answers_within_its_schema(fuzz_tenant):
    """Valid and invalid requests for each operation in turn (one set-up of the data for all of them)."""
    headers = {"Authorization": f"Bearer {fuzz_tenant.token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))

        @given(case=cases)
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()
