"""API tokens: hashed, named, expiring, revocable, behind the second factor, scoped.

Through the API and the pages, as a client sees them; the database is read only to check
what it keeps (a digest, never the secret).
"""

from __future__ import annotations

import hashlib
import importlib
import io
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.timezone import now
from rest_framework.test import APIClient

from directory.models import Member, Organisation
from directory.services import issue_api_token
from security import tokens, two_factor
from security.models import ApiToken, AuditEntry
from tests.security.test_two_factor import code_for, enrolled_device, logged_in

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
TOKENS = "/api/v1/auth/tokens/"
INTEGRATIONS = "/api/v1/auth/integration-tokens/"
PAGE = "/securite/jetons/"


def obtain(client: APIClient | None = None, username: str = "dr.martin", **extra: str) -> str:
    response = (client or APIClient()).post(
        TOKEN, {"username": username, "password": "demo", **extra}
    )
    assert response.status_code == 200, response.content
    return str(response.json()["token"])


def bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def me_status(token: str) -> int:
    return bearer(token).get("/api/v1/me/").status_code


def assert_refused(response: Any, words: str) -> None:
    """401, the Token challenge, and a French explanation containing `words`."""
    assert response.status_code == 401, response.content
    assert response["WWW-Authenticate"] == "Token"
    assert words in response.json()["detail"]


# --- issuing and storing ---------------------------------------------------------------


def test_it_stores_only_a_digest_and_a_prefix(demo: dict[str, Member]) -> None:
    secret = obtain()

    row = ApiToken.objects.values().get()
    assert row["digest"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(row["prefix"])
    assert len(row["prefix"]) < len(secret) // 3
    assert not [name for name, value in row.items() if secret in str(value)]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")  # noqa: S608
        assert secret not in repr(cursor.fetchall())


def test_each_login_gives_a_new_named_token(demo: dict[str, Member]) -> None:
    first = obtain(name="Poste accueil")
    second = obtain(APIClient(HTTP_USER_AGENT="LogicielCabinet/4.2 (Windows)"))

    assert first != second
    assert me_status(first) == me_status(second) == 200
    names = set(ApiToken.objects.values_list("name", flat=True))
    assert names == {"Poste accueil", "LogicielCabinet/4.2 (Windows)"}


def test_the_answer_says_how_long_the_token_lives(settings, demo) -> None:
    settings.API_TOKEN_IDLE_TIMEOUT_MINUTES = 20
    body = APIClient().post(TOKEN, {"username": "dr.martin", "password": "demo"}).json()

    assert set(body) >= {"token", "id", "name", "expires_at", "idle_timeout_minutes"}
    assert body["idle_timeout_minutes"] == 20
    assert body["kind"] == "personal"


def test_a_legacy_drf_key_is_refused(demo) -> None:
    assert_refused(bearer("9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b").get("/api/v1/me/"), "inconnu")


def test_the_migration_deletes_the_old_clear_keys(demo) -> None:
    migration = importlib.import_module("security.migrations.0004_api_tokens")
    with connection.cursor() as cursor:
        cursor.execute('CREATE TABLE "authtoken_token" ("key" varchar(40) PRIMARY KEY)')
        cursor.execute("INSERT INTO authtoken_token VALUES ('9944b09199c62bcf9418ad846dd0e4bb')")

    migration.delete_legacy_tokens(None, connection.schema_editor())

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0


# --- 401 and its challenge -------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/api/v1/me/", "/api/v1/members/", "/api/v1/liaison-sheets/", TOKENS]
)
def test_anonymous_api_calls_get_401_with_a_challenge(api_client: APIClient, url: str) -> None:
    response = api_client.get(url)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_an_unknown_token_gets_401_in_french(demo) -> None:
    assert_refused(bearer("cpts_nimportequoi").get("/api/v1/me/"), "Jeton d'API inconnu")
    response = APIClient(HTTP_AUTHORIZATION="Token a b").get("/api/v1/me/")
    assert_refused(response, "mal formé")


# --- expiry ----------------------------------------------------------------------------


def test_a_token_dies_after_the_idle_timeout(settings, demo) -> None:
    settings.API_TOKEN_IDLE_TIMEOUT_MINUTES = 30
    with time_machine.travel(now(), tick=False) as clock:
        secret = obtain()
        clock.shift(timedelta(minutes=29))
        assert me_status(secret) == 200  # use keeps it alive...
        clock.shift(timedelta(minutes=29))
        assert me_status(secret) == 200
        clock.shift(timedelta(minutes=31))  # ...idleness kills it

        assert_refused(bearer(secret).get("/api/v1/me/"), "expiré")


def test_a_token_dies_at_its_absolute_deadline_even_in_use(settings, demo) -> None:
    settings.API_TOKEN_MAX_AGE_HOURS = 12
    with time_machine.travel(now(), tick=False) as clock:
        secret = obtain()
        for _ in range(12 * 60 // 20 - 1):
            clock.shift(timedelta(minutes=20))
            assert me_status(secret) == 200
        clock.shift(timedelta(minutes=20))

        assert_refused(bearer(secret).get("/api/v1/me/"), "expiré")


def test_it_records_use_at_most_once_a_minute(demo) -> None:
    secret = obtain()
    client = bearer(secret)
    table = ApiToken._meta.db_table

    def updates() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/api/v1/me/").status_code == 200
        return sum(q["sql"].startswith(f'UPDATE "{table}"') for q in queries.captured_queries)

    with time_machine.travel(now(), tick=False) as clock:
        assert updates() == 0  # just issued
        clock.shift(timedelta(seconds=50))
        assert updates() == 0
        clock.shift(timedelta(seconds=20))
        assert updates() == 1
        assert updates() == 0
    assert ApiToken.objects.get().last_used_at > ApiToken.objects.get().created_at


# --- the second factor -----------------------------------------------------------------


def test_an_enrolled_member_needs_the_code_even_when_2fa_is_optional(demo) -> None:
    """REQUIRE_2FA is off in tests: the member's own app still guards their tokens."""
    device = enrolled_device(demo["dr.martin"].user)

    refused = APIClient().post(TOKEN, {"username": "dr.martin", "password": "demo"})
    assert refused.status_code == 400
    assert "otp" in refused.json()

    obtain(otp=code_for(device))
    assert ApiToken.objects.get().issued_with_2fa


def test_a_token_made_without_2fa_dies_when_2fa_becomes_mandatory(settings, demo) -> None:
    without = obtain()
    device = enrolled_device(demo["dr.martin"].user)
    with_code = obtain(otp=code_for(device))

    settings.REQUIRE_2FA = True

    assert_refused(bearer(without).get("/api/v1/me/"), "double authentification")
    assert me_status(with_code) == 200


def test_a_2fa_reset_revokes_every_token(demo) -> None:
    user = demo["dr.martin"].user
    device = enrolled_device(user)
    secret = obtain(otp=code_for(device))

    call_command("reset_two_factor", "dr.martin", stdout=io.StringIO())

    assert not two_factor.has_confirmed_device(user)
    assert_refused(bearer(secret).get("/api/v1/me/"), "révoqué")
    assert ApiToken.objects.get().revoked_reason == "two_factor_reset"


def test_enrolling_a_new_phone_revokes_the_tokens_of_the_old_one(demo) -> None:
    user = demo["dr.martin"].user
    old_phone = enrolled_device(user)
    secret = obtain(otp=code_for(old_phone))
    new_phone = two_factor.start_enrolment(user)

    assert two_factor.confirm_enrolment(user, code_for(new_phone)) is not None

    assert me_status(secret) == 401


# --- every token dies with the account's credentials ---------------------------------


def test_a_password_change_by_any_path_revokes_every_token(demo) -> None:
    first, second = obtain(), obtain()
    user = demo["dr.martin"].user
    user.set_password("un autre mot de passe")  # as the admin site or changepassword do
    user.save()

    assert_refused(bearer(first).get("/api/v1/me/"), "mot de passe")
    assert me_status(second) == 401
    assert set(ApiToken.objects.values_list("revoked_reason", flat=True)) == {"password_changed"}


def test_deactivation_revokes_every_token(demo) -> None:
    secret = obtain(username="ide.petit")
    coordinator = bearer(obtain(username="coord"))

    coordinator.patch(f"/api/v1/members/{demo['ide.petit'].code}/", {"is_active": False})

    demo["ide.petit"].refresh_from_db()
    assert not demo["ide.petit"].is_active
    token = ApiToken.objects.get(user=demo["ide.petit"].user)
    assert token.revoked_reason == "deactivated"
    assert_refused(bearer(secret).get("/api/v1/me/"), "révoqué")


def test_a_deactivation_behind_the_services_back_is_caught_too(demo) -> None:
    secret = obtain()
    Member.objects.filter(pk=demo["dr.martin"].pk).update(is_active=False)  # the admin site

    assert_refused(bearer(secret).get("/api/v1/me/"), "désactivé")
    assert ApiToken.objects.get().revoked_reason == "deactivated"


def test_logout_revokes_the_tokens_made_in_that_browser_session(demo) -> None:
    user = demo["dr.martin"].user
    browser, other_browser = logged_in(user), logged_in(user)
    from_script = obtain()
    bound = issued_on_page(browser, "Poste 1")
    unbound = issued_on_page(browser, "Serveur", bind_to_session=False)
    elsewhere = issued_on_page(other_browser, "Poste 2")

    assert browser.post("/deconnexion/").status_code == 302

    assert me_status(bound) == 401
    assert [me_status(token) for token in (unbound, elsewhere, from_script)] == [200] * 3
    assert ApiToken.objects.get(name="Poste 1").revoked_reason == "logout"


# --- listing and revoking --------------------------------------------------------------


def test_the_owner_lists_tokens_without_their_secret(demo) -> None:
    secret = obtain(name="Script export")
    client = bearer(secret)

    response = client.get(TOKENS)

    assert response.status_code == 200
    [row] = response.json()["results"]
    assert row["name"] == "Script export"
    assert row["status"] == "active"
    assert secret.startswith(row["prefix"])
    assert secret not in response.content.decode()


def test_the_owner_revokes_a_token(demo) -> None:
    keep, drop = obtain(), obtain()
    drop_id = bearer(drop).get(TOKENS).json()["results"][0]["id"]

    assert bearer(keep).delete(f"{TOKENS}{drop_id}/").status_code == 204

    assert_refused(bearer(drop).get("/api/v1/me/"), "révoqué")
    assert me_status(keep) == 200
    listed = {row["id"]: row["status"] for row in bearer(keep).get(TOKENS).json()["results"]}
    assert listed[drop_id] == "revoked"


def test_a_member_cannot_see_or_revoke_anothers_tokens(demo) -> None:
    victim = obtain(username="ide.petit")
    victim_id = bearer(victim).get(TOKENS).json()["results"][0]["id"]
    other = bearer(obtain())

    assert other.delete(f"{TOKENS}{victim_id}/").status_code == 404
    assert other.get(TOKENS, {"member": str(demo["ide.petit"].code)}).status_code == 404
    assert victim_id not in [row["id"] for row in other.get(TOKENS).json()["results"]]
    assert me_status(victim) == 200


def test_the_coordination_lists_and_revokes_any_members_tokens(demo) -> None:
    victim = obtain(username="ide.petit")
    coordinator = bearer(obtain(username="coord"))

    listed = coordinator.get(TOKENS, {"member": str(demo["ide.petit"].code)}).json()["results"]
    assert coordinator.delete(f"{TOKENS}{listed[0]['id']}/").status_code == 204

    assert me_status(victim) == 401
    assert ApiToken.objects.get(user=demo["ide.petit"].user).revoked_reason == "admin"


def test_creation_and_revocation_are_audited_without_the_secret(demo) -> None:
    secret = obtain()
    token_id = bearer(secret).get(TOKENS).json()["results"][0]["id"]
    bearer(secret).delete(f"{TOKENS}{token_id}/")

    entries = AuditEntry.objects.filter(action__startswith="api_token.").order_by("id")
    assert [entry.action for entry in entries] == ["api_token.create", "api_token.revoke"]
    assert {str(entry.target_code) for entry in entries} == {token_id}
    assert all(entry.actor == demo["dr.martin"] for entry in entries)
    assert entries[1].extra["reason"] == "owner"
    assert not [
        entry for entry in entries if secret[len(tokens.TOKEN_PREFIX) :] in repr(entry.extra)
    ]


# --- the account page ------------------------------------------------------------------


def issued_on_page(browser: Client, name: str, *, bind_to_session: bool = True) -> str:
    data = {"name": name, **({"bind_to_session": "on"} if bind_to_session else {})}
    response = browser.post(PAGE, data)
    assert response.status_code == 200
    return str(response.context["issued"].secret)


def test_the_page_makes_a_token_shows_it_once_and_revokes_it(demo) -> None:
    browser = logged_in(demo["dr.martin"].user)

    secret = issued_on_page(browser, "Poste de consultation")
    page = browser.get(PAGE).content.decode()

    assert "Poste de consultation" in page
    assert "Révoquer" in page
    assert secret not in page
    assert me_status(secret) == 200
    token = ApiToken.objects.get()
    response = browser.post(f"{PAGE}{token.code}/revoquer/")
    assert response.status_code == 302
    assert me_status(secret) == 401


def test_the_page_asks_an_enrolled_member_for_the_code_first(demo) -> None:
    """REQUIRE_2FA is off here, so the session may skip the app; the page may not."""
    user = demo["dr.martin"].user
    device = enrolled_device(user)
    browser = logged_in(user)

    response = browser.post(PAGE, {"name": "Poste", "bind_to_session": "on"})

    assert response.status_code == 302
    assert response["Location"].startswith("/securite/2fa/verifier/")
    assert not ApiToken.objects.exists()
    browser.post("/securite/2fa/verifier/", {"code": code_for(device)})
    issued_on_page(browser, "Poste")
    assert ApiToken.objects.get().issued_with_2fa


def test_the_page_needs_the_csrf_token(demo) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(demo["dr.martin"].user)
    secret = obtain()
    token = ApiToken.objects.get()

    assert browser.post(f"{PAGE}{token.code}/revoquer/").status_code == 403
    assert browser.post(PAGE, {"name": "x", "bind_to_session": "on"}).status_code == 403
    assert me_status(secret) == 200


def test_the_page_does_not_revoke_anothers_token(demo) -> None:
    secret = obtain(username="ide.petit")
    token = ApiToken.objects.get()

    response = logged_in(demo["coord"].user).post(f"{PAGE}{token.code}/revoquer/")

    assert response.status_code == 404
    assert me_status(secret) == 200


# --- integrations ----------------------------------------------------------------------


@pytest.fixture
def hospital() -> Organisation:
    return Organisation.objects.get(kind="hospital")


def integration(coordinator: APIClient, hospital: Organisation, *scopes: str) -> APIClient:
    response = coordinator.post(
        INTEGRATIONS,
        {"organisation": str(hospital.code), "name": "DPI du CH", "scopes": list(scopes)},
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == "integration"
    return bearer(response.json()["token"])


def test_the_coordination_makes_a_scoped_integration_token(demo, hospital) -> None:
    system = integration(bearer(obtain(username="coord")), hospital, "read", "liaison:write")

    me = system.get("/api/v1/me/").json()
    assert me["display_name"] == "Intégration DPI du CH"
    assert [org["id"] for org in me["organisations"]] == [str(hospital.code)]
    token = ApiToken.objects.get(kind="integration")
    assert token.expires_at - token.created_at == timedelta(days=365)
    assert not token.user.has_usable_password()


def test_an_integration_write_outside_its_scopes_is_refused(demo, hospital) -> None:
    coordinator = bearer(obtain(username="coord"))
    reader = integration(coordinator, hospital, "read")
    writer = integration(coordinator, hospital, "liaison:write")

    refused = reader.post("/api/v1/liaison-sheets/", {})
    assert refused.status_code == 403
    assert "portée" in refused.json()["detail"]
    assert reader.get("/api/v1/liaison-sheets/").status_code == 200
    # Within its scope the write reaches the endpoint (which then checks the body)...
    assert writer.post("/api/v1/liaison-sheets/", {}).status_code == 400
    # ...but reads, the directory, protocols and tokens stay closed to it.
    assert writer.get("/api/v1/liaison-sheets/").status_code == 403
    assert writer.post("/api/v1/protocols/", {}).status_code == 403
    assert writer.patch("/api/v1/me/", {"phone": "0102030405"}).status_code == 403


def test_only_the_coordination_makes_integration_tokens(demo, hospital) -> None:
    response = bearer(obtain()).post(
        INTEGRATIONS, {"organisation": str(hospital.code), "name": "x", "scopes": ["read"]}
    )

    assert response.status_code == 403
    assert not ApiToken.objects.filter(kind="integration").exists()


def test_the_command_prints_a_working_integration_token(demo, hospital) -> None:
    out = io.StringIO()

    call_command(
        "create_integration_token", str(hospital.code), "Labo", "--scope", "read",
        stdout=out, stderr=io.StringIO(),
    )  # fmt: skip

    assert bearer(out.getvalue().strip()).get("/api/v1/liaison-sheets/").status_code == 200
    assert ApiToken.objects.get().created_by is None


def test_integration_tokens_ignore_the_personal_2fa_rule(settings, demo, hospital) -> None:
    system = integration(bearer(obtain(username="coord")), hospital, "read")
    settings.REQUIRE_2FA = True

    assert system.get("/api/v1/me/").status_code == 200


def test_issue_api_token_makes_a_new_personal_token_each_time(demo) -> None:
    user = demo["dr.martin"].user
    assert issue_api_token(user=user) != issue_api_token(user=user)
