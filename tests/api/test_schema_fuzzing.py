"""Property-based robustness net: schemathesis against our own OpenAPI schema.

Every operation of the schema is called with generated inputs, in process through the WSGI
application, authenticated as the demo coordinator (who may also write the directory). Any 5xx
or any answer the schema does not describe fails the test, so every endpoint a later issue
adds is covered without writing anything here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from directory.services import issue_api_token

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Django closes the connection after each WSGI request; the test transaction needs it.

    Django's own test client disconnects the same signal handlers for the same reason.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def coordinator_headers(demo, keep_the_test_connection: None) -> dict[str, str]:
    return {"Authorization": f"Token {issue_api_token(user=demo['coord'].user)}"}


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_schema(case, coordinator_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=coordinator_headers, checks=CHECKS)
