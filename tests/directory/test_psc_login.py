"""Pro Santé Connect login against a real OpenID Connect provider (tools/psc-sandbox/).

Django's test client plays the browser on our side, `requests` on the provider's: every
token is issued, signed and checked for real. The browser version of the main paths is in
tests/browser/test_psc_login_in_a_browser.py.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from django.core.cache import cache
from django.test import Client

from directory.models import Member, Membership, Organisation, ProfessionMismatch
from directory.psc.client import discovery_cache_key
from security.models import AuditEntry
from tests.factories import MemberFactory, MembershipFactory, OrganisationFactory
from tests.psc_sandbox import (
    MARTIN_RPPS,
    UNKNOWN_RPPS,
    Sandbox,
    follow_provider,
)

pytestmark = pytest.mark.django_db(transaction=True)
CALLBACK = "http://testserver/connexion/psc/retour/"


def psc_login(client: Client, rpps: str, *, start: str = "/connexion/psc/?next=/") -> Any:
    """Click the PSC button, choose `rpps` at the provider, and come back: our answer."""
    answer = client.get(start)
    assert answer.status_code == 302, answer.content[:500]
    back = follow_provider(requests.Session(), answer["Location"], rpps=rpps, stop_at=CALLBACK)
    return client.get(back.removeprefix("http://testserver"))


def martin() -> Member:
    return MemberFactory(
        rpps=MARTIN_RPPS, given_name="Claire", family_name="Martin", user__username="dr.martin"
    )


def test_a_matched_gp_logs_in_with_strong_authentication(psc: Sandbox, settings: Any) -> None:
    settings.REQUIRE_2FA = True  # PSC counts as the second factor: no TOTP page
    member = martin()
    client = Client()
    answer = psc_login(client, MARTIN_RPPS)
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    assert client.get("/").status_code == 200  # not sent to the TOTP page
    entry = AuditEntry.objects.filter(action="login.success").latest("pk")
    assert entry.extra["method"] == "psc"
    assert entry.extra["acr"] == "eidas1"
    assert entry.extra["sid"]
    assert "eyJ" not in str(entry.extra)  # never a token
    assert not ProfessionMismatch.objects.filter(member=member).exists()


def test_the_authorization_request_carries_pkce_state_nonce_and_acr(psc: Sandbox) -> None:
    answer = Client().get("/connexion/psc/")
    location = answer["Location"]
    for part in (
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "acr_values=eidas1",
        "scope=openid+scope_all",
    ):
        assert part in location


def test_an_unknown_rpps_is_refused_in_french_and_no_account_is_made(psc: Sandbox) -> None:
    members = Member.objects.count()
    client = Client()
    answer = psc_login(client, UNKNOWN_RPPS)
    assert answer.status_code == 403
    assert "coordinateur" in answer.content.decode()
    assert f"Votre numéro RPPS : {UNKNOWN_RPPS}" in answer.content.decode()
    assert Member.objects.count() == members
    assert "_auth_user_id" not in client.session
    refusal = AuditEntry.objects.filter(action="login.psc_refused").latest("pk")
    assert refusal.extra["reason"] == "unknown_rpps"


def test_a_profession_mismatch_is_kept_for_the_coordinator(psc: Sandbox) -> None:
    member = MemberFactory(rpps=MARTIN_RPPS, profession=Member.Profession.NURSE)
    assert psc_login(Client(), MARTIN_RPPS).status_code == 302
    mismatch = ProfessionMismatch.objects.get(member=member)
    assert mismatch.reported_profession == Member.Profession.GENERAL_PRACTITIONER
    assert mismatch.reported_codes == "10 / SM54"
    member.refresh_from_db()
    assert member.profession == Member.Profession.NURSE  # not overwritten


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ({"id_token": "wrong_nonce"}, "id_token_claims"),
        ({"id_token": "expired"}, "id_token_expired"),
        ({"id_token": "bad_signature"}, "id_token_signature"),
        ({"id_token": "wrong_issuer"}, "id_token_claims"),
        ({"id_token": "wrong_audience"}, "id_token_claims"),
        ({"userinfo": "bad_signature"}, "userinfo_signature"),
        ({"acr": "eidas0"}, "acr_too_low"),
    ],
)
def test_a_token_that_fails_a_check_is_refused(
    psc: Sandbox, mode: dict[str, str], reason: str
) -> None:
    martin()
    psc.misbehave(**mode)
    client = Client()
    answer = psc_login(client, MARTIN_RPPS)
    assert answer.status_code == 400
    assert "Pro Santé Connect" in answer.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="login.psc_refused").latest("pk").extra == {
        "reason": reason
    }


def test_a_plain_json_userinfo_is_accepted(psc: Sandbox) -> None:
    martin()
    psc.misbehave(userinfo="json")
    assert psc_login(Client(), MARTIN_RPPS)["Location"] == "/"


def test_a_state_that_does_not_match_is_refused(psc: Sandbox) -> None:
    martin()
    client = Client()
    answer = client.get("/connexion/psc/")
    back = follow_provider(
        requests.Session(), answer["Location"], rpps=MARTIN_RPPS, stop_at=CALLBACK
    )
    forged = back.replace("state=", "state=x")
    answer = client.get(forged.removeprefix("http://testserver"))
    assert answer.status_code == 400
    assert "ne correspond à aucune connexion" in answer.content.decode()
    # and the genuine answer cannot be replayed afterwards: the flow is spent
    assert client.get(back.removeprefix("http://testserver")).status_code == 400


def test_a_provider_that_is_down_gives_a_french_page_and_a_log_line(
    psc: Sandbox, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.PSC_DISCOVERY_URL = "http://127.0.0.1:9/.well-known/openid-configuration"
    answer = Client().get("/connexion/psc/")
    assert answer.status_code == 503
    assert "ne répond pas" in answer.content.decode()
    assert "PSC: discovery unavailable" in caplog.text


def test_a_provider_that_goes_down_during_the_login_gives_a_french_page(psc: Sandbox) -> None:
    martin()
    client = Client()
    answer = client.get("/connexion/psc/")
    back = follow_provider(
        requests.Session(), answer["Location"], rpps=MARTIN_RPPS, stop_at=CALLBACK
    )
    # The token endpoint stops answering between the two legs (the cached discovery says
    # where it was).
    key = discovery_cache_key(psc.discovery_url)
    document = cache.get(key)
    document["token_endpoint"] = "http://127.0.0.1:9/token"
    cache.set(key, document)
    answer = client.get(back.removeprefix("http://testserver"))
    assert answer.status_code == 503
    assert "ne répond pas" in answer.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("discovery", ["broken", "error"])
def test_a_wrong_discovery_document_gives_a_french_page(psc: Sandbox, discovery: str) -> None:
    psc.misbehave(discovery=discovery)
    answer = Client().get("/connexion/psc/")
    assert answer.status_code == 503
    assert "ne répond pas" in answer.content.decode()


def test_without_settings_the_button_is_hidden_and_the_route_is_404(settings: Any) -> None:
    settings.PSC_DISCOVERY_URL = ""
    assert "Pro Santé Connect" not in Client().get("/connexion/").content.decode()
    assert Client().get("/connexion/psc/").status_code == 404


def test_the_login_page_offers_psc_first(psc: Sandbox) -> None:
    page = Client().get("/connexion/").content.decode()
    assert page.index("Se connecter avec Pro Santé Connect") < page.index('name="password"')


def test_a_member_held_to_psc_cannot_use_the_password(psc: Sandbox) -> None:
    member = martin()
    member.user.set_password("a-long-password-1")
    member.user.save()
    member.password_login_allowed = False
    member.save()
    answer = Client().post(
        "/connexion/", {"username": "dr.martin", "password": "a-long-password-1"}
    )
    assert answer.status_code == 200
    assert "se connecte avec Pro Santé Connect" in answer.content.decode()


def test_logout_ends_the_provider_session_too(psc: Sandbox) -> None:
    martin()
    client = Client()
    psc_login(client, MARTIN_RPPS)
    answer = client.post("/deconnexion/")
    assert answer.status_code == 302
    assert answer["Location"].startswith(f"{psc.issuer}/session/end?id_token_hint=")
    assert "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Fconnexion%2F" in answer["Location"]
    assert "_auth_user_id" not in client.session


def coordinator_with_rpps() -> Member:
    member = martin()
    cpts = OrganisationFactory(kind=Organisation.Kind.CPTS)
    MembershipFactory(member=member, organisation=cpts, role=Membership.Role.ADMIN)
    return member


def test_an_old_psc_session_reauthenticates_through_psc_before_an_export(
    psc: Sandbox, settings: Any
) -> None:
    coordinator_with_rpps()
    client = Client()
    psc_login(client, MARTIN_RPPS)
    export = "/indicateurs/export.csv"
    settings.REAUTH_MAX_AGE_SECONDS = 0
    session = client.session
    session["authentication"]["at"] -= 10
    session.save()
    answer = client.get(export)
    assert answer.status_code == 302
    assert answer["Location"].startswith("/connexion/psc/?")
    assert "reauth=1" in answer["Location"]
    settings.REAUTH_MAX_AGE_SECONDS = 300
    to_provider = client.get(answer["Location"])
    assert "prompt=login" in to_provider["Location"]
    assert "max_age=0" in to_provider["Location"]
    back = follow_provider(
        requests.Session(), to_provider["Location"], rpps=MARTIN_RPPS, stop_at=CALLBACK
    )
    answer = client.get(back.removeprefix("http://testserver"))
    assert answer["Location"] == export
    assert client.get(export).status_code == 200  # past the re-authentication
    assert AuditEntry.objects.filter(action="login.reauthentication").exists()


def test_an_old_password_session_confirms_the_password_before_an_export(
    settings: Any,
) -> None:
    member = coordinator_with_rpps()
    member.user.set_password("a-long-password-1")
    member.user.save()
    client = Client()
    client.post("/connexion/", {"username": "dr.martin", "password": "a-long-password-1"})
    settings.REAUTH_MAX_AGE_SECONDS = 0
    session = client.session
    session["authentication"]["at"] -= 10
    session.save()
    answer = client.get("/indicateurs/export.csv")
    assert answer["Location"].startswith("/securite/2fa/confirmer/?next=")
    settings.REAUTH_MAX_AGE_SECONDS = 300
    wrong = client.post(answer["Location"], {"password": "nope"})
    assert "Mot de passe incorrect" in wrong.content.decode()
    right = client.post(
        answer["Location"], {"password": "a-long-password-1", "next": "/indicateurs/export.csv"}
    )
    assert right["Location"] == "/indicateurs/export.csv"


def test_the_coordinator_sees_the_mismatch_and_holds_a_member_to_psc(psc: Sandbox) -> None:
    coordinator = coordinator_with_rpps()
    nurse = MemberFactory(rpps="20000000040", profession=Member.Profession.GENERAL_PRACTITIONER)
    MembershipFactory(member=nurse, organisation=coordinator.organisations.first())
    psc_login(Client(), "20000000040")  # PSC says infirmière (60)
    client = Client()
    client.force_login(coordinator.user)
    page = client.get(f"/annuaire/membres/{nurse.code}/").content.decode()
    assert "Pro Santé Connect indique une autre profession" in page
    assert "60" in page
    answer = client.post(
        f"/annuaire/membres/{nurse.code}/connexion/", {"password_login_allowed": "0"}
    )
    assert answer.status_code == 302
    nurse.refresh_from_db()
    assert nurse.password_login_allowed is False
    assert Membership.objects.filter(member=nurse).exists()


def test_a_psc_session_makes_api_tokens_counted_as_strong(psc: Sandbox, settings: Any) -> None:
    from security.models import ApiToken

    settings.REQUIRE_2FA = True
    martin()
    client = Client()
    psc_login(client, MARTIN_RPPS)
    answer = client.post("/securite/jetons/", {"name": "Logiciel du cabinet"})
    assert answer.status_code == 200
    assert ApiToken.objects.get().issued_with_2fa is True


def test_a_member_held_to_psc_gets_no_api_token_with_the_password(psc: Sandbox) -> None:
    member = martin()
    member.user.set_password("a-long-password-1")
    member.user.save()
    member.password_login_allowed = False
    member.save()
    answer = Client().post(
        "/api/v1/auth/token/",
        {"username": "dr.martin", "password": "a-long-password-1"},
        content_type="application/json",
    )
    assert answer.status_code == 403
    assert "Pro Santé Connect" in str(answer.json())
