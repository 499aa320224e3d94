"""A web session ends when idle too long or open too long; exports by session need a fresh
authentication, the API's side included (security.session_limits, security.reauth)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from directory.models import Member, Membership, Organisation
from directory.services import issue_api_token
from security.models import AuditEntry
from tests.factories import MemberFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-password-1"
NAVIGATE = {"HTTP_SEC_FETCH_MODE": "navigate"}
BACKGROUND = {"HTTP_SEC_FETCH_MODE": "cors"}


@pytest.fixture
def coordinator() -> Member:
    member = MemberFactory(user__username="coord.test")
    member.user.set_password(PASSWORD)
    member.user.save()
    cpts = OrganisationFactory(kind=Organisation.Kind.CPTS)
    MembershipFactory(member=member, organisation=cpts, role=Membership.Role.ADMIN)
    return member


def logged_in(member: Member) -> Client:
    client = Client()
    client.post("/connexion/", {"username": member.user.username, "password": PASSWORD})
    assert "authentication" in client.session
    return client


def shift(client: Client, **seconds_ago: int) -> dict[str, Any]:
    """Move the session's clocks (`opened`, `seen`, `at`) that many seconds into the past."""
    session = client.session
    record = session["authentication"]
    for key, seconds in seconds_ago.items():
        record[key] -= seconds
    session.save()
    return dict(record)


def test_an_idle_session_ends_with_a_french_word_and_an_audit_entry(
    coordinator: Member, settings: Any
) -> None:
    client = logged_in(coordinator)
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT_SECONDS + 5)

    answer = client.get("/", **NAVIGATE)

    assert answer.status_code == 302
    assert answer["Location"].startswith("/connexion/")
    login_page = client.get(answer["Location"]).content.decode()
    assert "Votre session a pris fin après 30 minutes sans activité" in login_page
    assert "authentication" not in client.session
    entry = AuditEntry.objects.get(action="login.session_expired")
    assert entry.actor_id == coordinator.pk
    assert entry.extra == {"reason": "idle"}


def test_opening_a_page_keeps_the_session_alive(coordinator: Member, settings: Any) -> None:
    client = logged_in(coordinator)
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT_SECONDS - 60)

    assert client.get("/", **NAVIGATE).status_code == 200

    assert abs(client.session["authentication"]["seen"] - time.time()) < 5
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT_SECONDS - 60)
    assert client.get("/", **NAVIGATE).status_code == 200  # still within the limit


def test_a_pages_background_requests_do_not_count_as_activity(
    coordinator: Member, settings: Any
) -> None:
    client = logged_in(coordinator)
    before = shift(client, seen=600)

    assert client.get("/api/v1/me/", **BACKGROUND).status_code == 200

    assert client.session["authentication"]["seen"] == before["seen"]
    shift(client, seen=settings.SESSION_IDLE_TIMEOUT_SECONDS)
    assert client.get("/api/v1/me/", **BACKGROUND).status_code == 401  # idle: the session ended


def test_a_session_ends_at_its_maximum_age_whatever_the_activity(
    coordinator: Member, settings: Any
) -> None:
    client = logged_in(coordinator)
    shift(client, opened=settings.SESSION_MAX_AGE_SECONDS + 5)

    answer = client.get("/", **NAVIGATE)

    assert answer["Location"].startswith("/connexion/")
    assert "durée maximale de 12 heures" in client.get(answer["Location"]).content.decode()
    assert AuditEntry.objects.get(action="login.session_expired").extra == {"reason": "lifetime"}


def test_a_reauthentication_does_not_extend_the_session(coordinator: Member) -> None:
    client = logged_in(coordinator)
    opened = shift(client, opened=3600, at=3600)["opened"]

    client.post("/securite/2fa/confirmer/", {"password": PASSWORD, "next": "/"})

    record = client.session["authentication"]
    assert record["opened"] == opened
    assert abs(record["at"] - time.time()) < 5


@pytest.mark.parametrize(
    "export",
    [
        "/api/v1/indicators/liaison/csv/?from=2026-01-01&to=2026-03-31",
        "/api/v1/audit/?actor={member}",
        "/api/v1/expertise-requests/billing.csv?month=2026-01",
    ],
)
def test_an_export_read_with_an_old_session_asks_to_confirm_ones_identity(
    coordinator: Member, settings: Any, export: str
) -> None:
    client = logged_in(coordinator)
    url = export.format(member=coordinator.code)
    assert client.get(url).status_code == 200
    shift(client, at=settings.REAUTH_MAX_AGE_SECONDS + 5)

    refused = client.get(url)

    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "reauthentication_required"
    assert "Confirmez votre identité" in body["detail"]
    assert body["reauthenticate"].startswith("/securite/2fa/confirmer/?next=")
    # An API token (issued after a full login, with its own limits) is not a stale session.
    token = issue_api_token(user=coordinator.user)
    assert Client().get(url, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
