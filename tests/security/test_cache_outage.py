"""The cache (throttle counters) fails open: a Redis outage never turns a request into a 500.

The production cache settings (config.settings.cache_settings) are pointed at a Redis that
is not there (a port nobody listens on) or at a private redis-server that the test stops and
starts again; the machine's own Redis is never touched.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import redis
from django.core.cache import cache

from config.settings import cache_settings
from directory.models import Member
from tests.worker_process import RedisServer, free_port

pytestmark = pytest.mark.django_db
LOGGER = "security.cache"


def use_cache_at(settings: Any, url: str, *, retry_after: float | None = None) -> None:
    """Point the default cache at `url` with the production settings."""
    caches = cache_settings(url)
    if retry_after is not None:
        caches["default"]["RETRY_AFTER"] = retry_after
    settings.CACHES = caches


@pytest.fixture
def redis_is_down(settings: Any) -> str:
    """The cache points at a Redis that nobody runs (a fresh port: a fresh outage)."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    use_cache_at(settings, url)
    return url


@pytest.fixture
def two_writes_a_minute(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "writes": "2/min",
        },
    }


def outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


@pytest.mark.usefixtures("redis_is_down")
def test_writes_and_token_requests_go_through_while_redis_is_down(
    client_for: Any, api_client: Any, demo: dict[str, Member]
) -> None:
    changed = client_for(demo["dr.martin"]).patch("/api/v1/me/", {"phone": "01 23 45 67 89"})
    token = api_client.post("/api/v1/auth/token/", {"username": "dr.martin", "password": "demo"})

    assert changed.status_code == 200, changed.content
    assert changed["Content-Type"] == "application/json"
    assert token.status_code == 200, token.content
    assert token.json()["token"]


@pytest.mark.usefixtures("redis_is_down")
def test_an_outage_is_logged_once_and_costs_no_wait(caplog: pytest.LogCaptureFixture) -> None:
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for number in range(200):
            cache.set(f"key-{number}", number)
            assert cache.get(f"key-{number}") == number  # answered by the local cache

    assert time.monotonic() - started < 2  # no socket wait per call: the circuit is open
    warnings = outage_warnings(caplog)
    assert len(warnings) == 1
    assert "Redis unreachable" in warnings[0]
    assert "127.0.0.1" not in warnings[0]  # no URL (it may carry a password) in the log


@pytest.mark.usefixtures("redis_is_down", "two_writes_a_minute")
def test_the_write_throttle_still_counts_per_process_while_redis_is_down(
    client_for: Any, demo: dict[str, Member]
) -> None:
    client = client_for(demo["dr.martin"])
    statuses = [client.patch("/api/v1/me/", {"phone": "01 23 45 67 89"}).status_code for _ in "abc"]

    assert statuses == [200, 200, 429]


def test_it_goes_back_to_redis_when_redis_comes_back(
    settings: Any, private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    use_cache_at(settings, private_redis.url, retry_after=0.2)
    direct = redis.Redis.from_url(private_redis.url)
    cache.set("before", 1)
    assert direct.get(":1:before") == b"1"  # shared: in Redis

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        private_redis.stop()
        cache.set("during", 2)
        assert cache.get("during") == 2  # local, meanwhile
        private_redis.start()  # back, empty (no persistence)
        time.sleep(0.3)  # past RETRY_AFTER: the next call tries Redis again
        cache.set("after", 3)

    assert direct.get(":1:after") == b"3"
    assert cache.get("during") is None  # the local counts were dropped on the way back
    assert [message.split(" (")[0].split(",")[0] for message in outage_warnings(caplog)] == [
        "cache: Redis unreachable",
        "cache: Redis reachable again",
    ]
