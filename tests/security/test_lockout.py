"""django-axes locks a username out after repeated wrong passwords, on the web and the API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from axes.utils import reset
from django.conf import settings
from django.test import Client
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def no_failures_recorded() -> Iterator[None]:
    """Axes keeps its counts in the database and caches nothing; start and end clean anyway."""
    reset()
    yield
    reset()


def log_in(client: Client, password: str, username: str = "dr.martin") -> object:
    return client.post("/connexion/", {"username": username, "password": password})


def test_it_locks_the_web_login_after_the_failure_limit(client: Client, demo) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert log_in(client, "faux").status_code == 200  # the form, with its error

    response = log_in(client, "faux")

    assert response.status_code == 429
    body = response.content.decode()
    assert "Connexion temporairement bloquée" in body
    assert f"pendant {int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)} minutes" in body
    assert 'lang="fr"' in body


def test_it_refuses_even_the_right_password_while_locked(client: Client, demo) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "faux")

    response = log_in(client, "demo")

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_locks_only_that_username(client: Client, demo) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "faux")

    response = log_in(client, "demo", username="ide.petit")

    assert response.status_code == 302


def test_a_reset_lifts_the_lockout(client: Client, demo) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "faux")

    reset(username="dr.martin")

    assert log_in(client, "demo").status_code == 302


def ask_token(client: APIClient, password: str) -> object:
    return client.post(TOKEN, {"username": "dr.martin", "password": password})


def test_it_locks_the_token_endpoint_with_a_json_429(api_client: APIClient, demo) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert ask_token(api_client, "faux").status_code == 400

    response = ask_token(api_client, "faux")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert "bloquée" in response.json()["detail"]
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


def test_the_token_endpoint_refuses_the_right_password_while_locked(
    api_client: APIClient, demo
) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        ask_token(api_client, "faux")

    response = ask_token(api_client, "demo")

    assert response.status_code == 429
    assert "token" not in response.json()


def test_web_and_api_failures_add_up(client: Client, api_client: APIClient, demo) -> None:
    """One counter per username and address, whichever door the guesses come through."""
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        log_in(client, "faux")

    assert ask_token(api_client, "faux").status_code == 429
