"""Writes are rate-limited per user ("writes" scope), token requests per client; reads are not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle

from directory.models import Member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def two_writes_a_minute(settings) -> Iterator[None]:
    """DRF keeps its counters in the cache, which outlives a test: clear it around each one."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "writes": "2/min",
            "token": "2/min",
        },
    }
    cache.clear()
    yield
    cache.clear()


def change_phone(client, phone: str = "01 23 45 67 89") -> object:
    return client.patch("/api/v1/me/", {"phone": phone})


def test_it_is_a_default_throttle() -> None:
    assert "security.throttling.WriteRateThrottle" in [
        f"{cls.__module__}.{cls.__name__}" for cls in api_settings.DEFAULT_THROTTLE_CLASSES
    ]


def test_it_answers_429_past_the_write_rate(client_for, demo: dict[str, Member]) -> None:
    client = client_for(demo["dr.martin"])
    assert change_phone(client).status_code == 200
    assert change_phone(client).status_code == 200

    response = change_phone(client)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_it_never_limits_reads(client_for, demo: dict[str, Member]) -> None:
    client = client_for(demo["dr.martin"])
    change_phone(client)
    change_phone(client)

    assert all(client.get("/api/v1/me/").status_code == 200 for _ in range(5))


def test_it_counts_per_user(client_for, demo: dict[str, Member]) -> None:
    change_phone(client_for(demo["dr.martin"]))
    change_phone(client_for(demo["dr.martin"]))

    assert change_phone(client_for(demo["ide.petit"])).status_code == 200


def test_the_token_endpoint_is_limited_per_client_whatever_the_username(
    api_client, demo: dict[str, Member], monkeypatch
) -> None:
    """Guessing passwords across many accounts from one address is slowed down too."""
    # DRF binds the rates to the throttle class when it is imported: set them there.
    rates = {**ScopedRateThrottle.THROTTLE_RATES, "token": "2/min"}
    monkeypatch.setattr(ScopedRateThrottle, "THROTTLE_RATES", rates)
    attempts = [
        api_client.post("/api/v1/auth/token/", {"username": name, "password": "wrong"})
        for name in ("dr.martin", "ide.petit", "dr.leroy")
    ]

    assert [response.status_code for response in attempts[:2]] == [400, 400]
    assert attempts[2].status_code == 429
    assert int(attempts[2]["Retry-After"]) > 0
