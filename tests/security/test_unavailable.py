"""A request that meets an outage answers 503 with Retry-After, never a 500.

The outage is real: another connection holds an exclusive lock on the tables the request
needs (as a long migration or a `LOCK TABLE` would), and the request's connection gives up
after a short lock timeout, as the load test's 15-second table lock made it do.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from directory.models import Member

pytestmark = pytest.mark.django_db(transaction=True)
LOCKED_TABLES = ("directory_member", "django_session")


@contextmanager
def database_locked() -> Iterator[None]:
    """Another connection holds the tables; this one waits 100 ms for a lock, then fails."""
    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        other = sqlite3.connect(name, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # SQLite locks the whole file
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 100")
        try:
            yield
        finally:
            other.rollback()
            other.close()
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 20000")  # config.settings: 20 s
        return
    import psycopg

    settings = connection.settings_dict
    holder = psycopg.connect(
        dbname=name,
        user=settings.get("USER") or None,
        password=settings.get("PASSWORD") or None,
        host=settings.get("HOST") or None,
        port=settings.get("PORT") or None,
    )
    holder.execute(f"LOCK TABLE {', '.join(LOCKED_TABLES)} IN ACCESS EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '100ms'")
    try:
        yield
    finally:
        holder.rollback()
        holder.close()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")


def assert_json_503(response: Any) -> None:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/json"
    assert int(response["Retry-After"]) > 0
    body = response.json()
    assert body["code"] == "service_unavailable"
    assert "indisponible" in body["detail"]  # French, like every message a person reads


def test_an_api_write_meeting_a_locked_database_answers_503(
    client_for: Any, demo: dict[str, Member], settings: Any
) -> None:
    settings.SERVICE_UNAVAILABLE_RETRY_AFTER = 7
    client = client_for(demo["dr.martin"])  # token-like: no session to read

    with database_locked():
        response = client.patch("/api/v1/me/", {"phone": "01 23 45 67 89"})

    assert_json_503(response)
    assert response["Retry-After"] == "7"
    assert Member.objects.get(pk=demo["dr.martin"].pk).phone != "01 23 45 67 89"


def test_an_api_call_whose_session_cannot_be_read_answers_503(demo: dict[str, Member]) -> None:
    """The failure happens in a middleware (the session), before any DRF view runs."""
    client = APIClient(raise_request_exception=False)
    client.force_login(demo["dr.martin"].user)

    with database_locked():
        response = client.get("/api/v1/me/")

    assert_json_503(response)


def test_a_web_page_whose_session_cannot_be_read_answers_a_french_503(
    demo: dict[str, Member],
) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(demo["dr.martin"].user)

    with database_locked():
        response = client.get("/")

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert int(response["Retry-After"]) > 0
    assert "Service momentanément indisponible" in response.content.decode()
