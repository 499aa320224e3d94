"""Property-based robustness net: schemathesis against our own OpenAPI schema.

Every operation of the schema is called with generated inputs, in process through the WSGI
application, authenticated as the demo coordinator (who may also write the directory). Any 5xx
or any answer the schema does not describe fails the test, so every endpoint a later issue
adds is covered without writing anything here.

Two depths, one test:
- `make test` (the default): for every operation, the schema's examples, the coverage phase's
  invalid cases (each missing field, wrong type, unknown property, malformed body and
  unexpected method the schema implies) and 12 generated cases, valid and invalid; except the
  coverage phase of the operations whose body is a nested document (`NESTED_DOCUMENTS` below).
- `make fuzz` (nightly; `FUZZ_EXAMPLES=100`): the whole coverage phase of every operation (its
  valid boundary and enum values too), and `FUZZ_EXAMPLES` generated cases per operation.
The coverage phase builds its cases when pytest collects the test, in every xdist worker.
"""

from __future__ import annotations

import os
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
from schemathesis.config import SchemathesisConfig

from config.wsgi import application
from directory.services import issue_api_token

# Set (as `make fuzz` does) for the deep run: every coverage case and that many examples.
DEEP = bool(os.environ.get("FUZZ_EXAMPLES"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 12)

# The operations whose body is a nested clinical or protocol document. Their coverage phase is
# half the schema's cases (5,400 of 10,900: each boundary, missing field and wrong type of every
# nested Part A entry). Measured on 2026-12-07: the conversation's 433 and the first 321 of the
# sheet's create all answered 400 (a made-up recipient never exists), and an update needs a
# sheet code that does not exist either. `make test` leaves their coverage phase to
# `make fuzz`; the generated cases still send those operations valid and invalid documents.
NESTED_DOCUMENTS = (
    "POST /api/v1/liaison-sheets/",
    "PATCH /api/v1/liaison-sheets/{code}/",
    "POST /api/v1/conversations/",
    "POST /api/v1/protocols/",
    "PATCH /api/v1/protocols/{code}/versions/{number}/",
)
# `make test` runs the coverage phase's invalid cases (each missing field, wrong type, unknown
# property, malformed body and unexpected method must get a documented 4xx, never a 5xx) and
# leaves its valid boundary cases (3,250 of 9,700 requests, a third of the fuzzing's time on
# 2026-12-07) to `make fuzz`: the examples and the generated valid cases still reach every
# operation.
CONFIG = (
    {}
    if DEEP
    else {
        "phases": {"coverage": {"generation": {"mode": "negative"}}},
        "operations": [
            {"include-name": name, "phases": {"coverage": {"enabled": False}}}
            for name in NESTED_DOCUMENTS
        ],
    }
)

# Loaded once per process (pytest imports the module once per xdist worker).
schema = schemathesis.openapi.from_wsgi(
    "/api/schema/?format=json", application, config=SchemathesisConfig.from_dict(CONFIG)
)

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
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure here is reproducible
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_schema(case, coordinator_headers: dict[str, str]) -> None:
    case.call_and_validate(headers=coordinator_headers, checks=CHECKS)
