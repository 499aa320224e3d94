"""Failed logins across many usernames from one address: slowed down, then blocked.

On the web login and the token endpoint alike; failures count, successes never do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import time_machine
from axes.utils import reset
from django.core.cache import cache
from django.http import HttpResponse
from django.test import Client
from rest_framework.test import APIClient

from security import actions
from security.models import AuditEntry

pytestmark = pytest.mark.django_db

HOME = "198.51.100.7"  # the sprayer, or a hospital's NAT address
ELSEWHERE = "192.0.2.44"
TOKEN = "/api/v1/auth/token/"
SLOWDOWN_AFTER, SLOWDOWN_SECONDS, BLOCK_AFTER, BLOCK_MINUTES = 3, 10, 6, 15


@pytest.fixture(autouse=True)
def small_limits(settings) -> Iterator[None]:
    settings.LOGIN_ADDRESS_WINDOW_MINUTES = 15
    settings.LOGIN_ADDRESS_SLOWDOWN_AFTER = SLOWDOWN_AFTER
    settings.LOGIN_ADDRESS_SLOWDOWN_SECONDS = SLOWDOWN_SECONDS
    settings.LOGIN_ADDRESS_BLOCK_AFTER = BLOCK_AFTER
    settings.LOGIN_ADDRESS_BLOCK_MINUTES = BLOCK_MINUTES
    # The counters live in the cache, axes' in the database: start and end clean.
    cache.clear()
    reset()
    yield
    cache.clear()
    reset()


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    with time_machine.travel(datetime(2026, 3, 10, 7, 55, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def web_login(username: str, password: str = "faux", address: str = HOME) -> HttpResponse:
    data = {"username": username, "password": password}
    return Client().post("/connexion/", data, REMOTE_ADDR=address)


def ask_token(username: str, password: str = "faux", address: str = HOME) -> HttpResponse:
    data = {"username": username, "password": password}
    return APIClient().post(TOKEN, data, REMOTE_ADDR=address)


def spray(count: int, clock: time_machine.Coordinates, *, start: int = 0, door=web_login) -> None:
    """`count` wrong passwords on as many usernames, each after the slowdown's wait."""
    for i in range(start, start + count):
        response = door(f"utilisateur{i}")
        assert response.status_code in (200, 400), response.status_code  # checked, refused
        clock.shift(SLOWDOWN_SECONDS)


def test_failures_across_usernames_slow_the_address_down_on_the_web_login(demo, clock) -> None:
    for i in range(SLOWDOWN_AFTER):
        assert web_login(f"utilisateur{i}").status_code == 200  # the form, with its error

    response = web_login("dr.martin", "demo")  # right at once: too soon after a failure

    assert response.status_code == 429
    assert response["Retry-After"] == str(SLOWDOWN_SECONDS)
    body = response.content.decode()
    assert "depuis votre adresse réseau" in body
    assert f"Patientez {SLOWDOWN_SECONDS} secondes" in body
    assert 'name="password"' in body  # the form is still there
    assert "Identifiant ou mot de passe incorrect" not in body


def test_after_the_wait_a_slowed_down_address_is_checked_again(demo, clock) -> None:
    spray(SLOWDOWN_AFTER, clock)

    assert web_login("dr.martin", "demo").status_code == 302


def test_the_token_endpoint_slows_the_address_down_with_a_json_429(demo, clock) -> None:
    for i in range(SLOWDOWN_AFTER):
        assert ask_token(f"utilisateur{i}").status_code == 400

    response = ask_token("dr.martin", "demo")

    assert response.status_code == 429
    assert response["Content-Type"] == "application/json"
    assert response["Retry-After"] == str(SLOWDOWN_SECONDS)
    assert "depuis votre adresse réseau" in response.json()["detail"]
    assert "token" not in response.json()


def test_it_blocks_the_address_even_for_a_right_password(demo, clock) -> None:
    spray(BLOCK_AFTER, clock)
    clock.shift(60)

    web = web_login("dr.martin", "demo")
    api = ask_token("ide.petit", "demo")

    assert web.status_code == 429
    assert int(web["Retry-After"]) == BLOCK_MINUTES * 60 - SLOWDOWN_SECONDS - 60
    assert "bloquées par sécurité" in web.content.decode()
    assert f"Réessayez dans {BLOCK_MINUTES - 1} minutes" in web.content.decode()
    assert "_auth_user_id" not in web.client.session
    assert api.status_code == 429
    assert "bloquées par sécurité" in api.json()["detail"]
    assert int(api["Retry-After"]) == int(web["Retry-After"])


def test_web_and_token_failures_add_up(demo, clock) -> None:
    spray(SLOWDOWN_AFTER, clock, door=web_login)
    spray(BLOCK_AFTER - SLOWDOWN_AFTER, clock, start=100, door=ask_token)

    response = web_login("dr.martin", "demo")
    assert response.status_code == 429
    assert "bloquées par sécurité" in response.content.decode()


def test_other_addresses_are_not_held_back(demo, clock) -> None:
    spray(BLOCK_AFTER, clock)

    assert web_login("dr.martin", "demo", address=ELSEWHERE).status_code == 302
    assert ask_token("dr.martin", "demo", address=ELSEWHERE).status_code == 200


def test_the_block_ends_and_the_address_starts_over(demo, clock) -> None:
    spray(BLOCK_AFTER, clock)
    clock.shift(BLOCK_MINUTES * 60)

    assert web_login("utilisateur-x").status_code == 200  # checked, not slowed down
    assert web_login("dr.martin", "demo").status_code == 302


def test_refused_attempts_neither_count_nor_lock_the_account(demo, clock, settings) -> None:
    """A member stuck behind a blocked address who retries does not lock their account."""
    spray(BLOCK_AFTER, clock)  # blocked at the last failure, then SLOWDOWN_SECONDS pass
    retries = settings.AXES_FAILURE_LIMIT + 2
    for _ in range(retries):
        assert web_login("dr.martin", "demo").status_code == 429
        assert ask_token("dr.martin", "faux").status_code == 429
        clock.shift(60)
    # Counted from the block, not from the last refusal.
    clock.shift(BLOCK_MINUTES * 60 - SLOWDOWN_SECONDS - retries * 60 + 1)

    assert ask_token("dr.martin", "demo").status_code == 200


def test_a_hospital_nat_with_many_good_logins_is_never_held_back(demo, clock) -> None:
    """8 a.m. at the hospital: many members, one address, a few typos."""
    members = ["dr.martin", "ide.petit", "hop.cardio", "coord"]
    for round_ in range(3 * BLOCK_AFTER):
        member = members[round_ % len(members)]
        assert web_login(member, "demo").status_code == 302
        assert ask_token(member, "demo").status_code == 200
        clock.shift(1)

    assert web_login("dr.martin", "fauux").status_code == 200  # a typo: checked and answered
    assert web_login("dr.martin", "demo").status_code == 302


def test_a_success_does_not_wipe_the_failures(demo, clock) -> None:
    """A sprayer holding one good account cannot reset the count by logging in with it."""
    spray(SLOWDOWN_AFTER - 1, clock)
    assert web_login("ide.petit", "demo").status_code == 302
    assert web_login("utilisateur-y").status_code == 200

    assert web_login("dr.martin", "demo").status_code == 429


def test_an_ipv6_client_is_counted_by_its_64(demo, clock) -> None:
    for i in range(SLOWDOWN_AFTER):
        assert web_login(f"utilisateur{i}", address=f"2001:db8:1:2::{i + 1:x}").status_code == 200

    assert web_login("dr.martin", "demo", address="2001:db8:1:2:ffff::9").status_code == 429
    assert web_login("dr.martin", "demo", address="2001:db8:1:3::1").status_code == 302


@pytest.mark.usefixtures("clock")
def test_behind_a_proxy_a_rotating_spoofed_address_is_still_held_back(demo, settings) -> None:
    settings.TRUSTED_PROXY_COUNT, settings.TRUSTED_PROXIES = 1, []

    def attempt(i: int, password: str = "faux", username: str = "") -> HttpResponse:
        data = {"username": username or f"utilisateur{i}", "password": password}
        forwarded = f"198.18.{i}.{i}, {HOME}"
        return Client().post(
            "/connexion/", data, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded
        )

    for i in range(SLOWDOWN_AFTER):
        attempt(i)

    assert attempt(50, "demo", "dr.martin").status_code == 429


def test_the_block_is_audited_and_logged_once_without_usernames(demo, clock, caplog) -> None:
    spray(BLOCK_AFTER, clock)
    web_login("dr.martin", "demo")
    ask_token("ide.petit", "demo")

    entries = list(AuditEntry.objects.filter(action=actions.LOGIN_ADDRESS_BLOCKED))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.ip, entry.actor, entry.target_code) == (HOME, None, None)
    assert entry.extra == {
        "failures": BLOCK_AFTER,
        "window_minutes": 15,
        "block_minutes": BLOCK_MINUTES,
    }
    blocked = [r for r in caplog.records if r.name == "security.login_guard" and "blocked" in r.msg]
    assert len(blocked) == 1
    assert HOME in blocked[0].getMessage()
    written = json.dumps(entry.extra) + "".join(r.getMessage() for r in blocked)
    assert "utilisateur" not in written
    assert "dr.martin" not in written


def test_zero_turns_the_stages_off(demo, clock, settings) -> None:
    settings.LOGIN_ADDRESS_SLOWDOWN_AFTER = 0
    settings.LOGIN_ADDRESS_BLOCK_AFTER = 0
    for i in range(2 * BLOCK_AFTER):
        assert web_login(f"utilisateur{i}").status_code == 200

    assert web_login("dr.martin", "demo").status_code == 302
