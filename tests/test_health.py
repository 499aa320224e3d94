"""/healthz and /readyz: what an orchestrator asks before sending traffic."""

from __future__ import annotations

import pytest
from django.test import Client

from worker import services

pytestmark = pytest.mark.django_db


def test_healthz_answers_when_the_database_does(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok"}


def test_readyz_checks_the_broker_and_reports_the_heartbeat(client: Client) -> None:
    before = client.get("/readyz").json()
    assert before["broker"] == "ok"
    assert before["worker"] == {"last_heartbeat": None, "age_seconds": None, "stale": True}

    services.record_heartbeat()
    after = client.get("/readyz")

    assert after.status_code == 200
    assert after.json()["worker"]["stale"] is False
    assert after.json()["worker"]["age_seconds"] < 5


def test_readyz_is_503_when_the_broker_is_down(client: Client, settings) -> None:
    from config.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    try:
        response = client.get("/readyz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["broker"] == "down"
