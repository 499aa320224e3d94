"""The contract declares the headers clients rely on: replays and when to retry."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.django_db

IDEMPOTENT_OPERATIONS = {
    ("/api/v1/liaison-sheets/", "post"),
    ("/api/v1/liaison-sheets/{code}/send/", "post"),
    ("/api/v1/liaison-sheets/from-fhir/", "post"),
    ("/api/v1/expertise-requests/", "post"),
    ("/api/v1/expertise-requests/{code}/send/", "post"),
    ("/api/v1/conversations/", "post"),
    ("/api/v1/conversations/{code}/messages/", "post"),
    ("/api/v1/protocols/", "post"),
    ("/api/v1/protocols/{code}/inclusions/", "post"),
    ("/api/v1/members/", "post"),
    ("/api/v1/events/", "post"),
}


@pytest.fixture
def schema(api_client: Any) -> dict[str, Any]:
    return api_client.get("/api/schema/?format=json").json()


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def takes_an_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        p["in"] == "header" and p["name"] == "Idempotency-Key"
        for p in operation.get("parameters", [])
    )


def test_every_idempotent_operation_declares_its_replay_header(schema: dict[str, Any]) -> None:
    idempotent = {
        (path, method)
        for path, method, operation in operations(schema)
        if takes_an_idempotency_key(operation)
    }
    assert idempotent == IDEMPOTENT_OPERATIONS

    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            declared = "Idempotent-Replayed" in response.get("headers", {})
            expected = (path, method) in idempotent and status.startswith("2")
            assert declared == expected, (path, method, status)


def test_every_operation_declares_a_503_with_retry_after(schema: dict[str, Any]) -> None:
    for path, method, operation in operations(schema):
        unavailable = operation["responses"]["503"]
        assert "Retry-After" in unavailable["headers"], (path, method)
