"""Accounts that people manage themselves: the account page, passwords, language, the login.

Each test is a person's path through the pages: a nurse changes her password, a pharmacist
who forgot his asks for a link by e-mail, a member with an authenticator app is asked for it
at login, a deactivated member is told why they cannot log in.
"""

from __future__ import annotations

import re
import time

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory.models import Member, User
from security import tokens
from security.models import ApiToken, AuditEntry

pytestmark = pytest.mark.django_db

ACCOUNT = "/compte/"
LOGIN = "/connexion/"
RESET = "/connexion/mot-de-passe-oublie/"
NEW_PASSWORD = "Tilleul-Ardoise-Marée-42"


def logged_in(username: str, password: str = "demo") -> Client:
    client = Client()
    response = client.post(LOGIN, {"username": username, "password": password})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


def personal_token(user: User) -> str:
    return tokens.issue_personal_token(user=user, name="script", issued_with_2fa=False).secret


def api_status(secret: str) -> int:
    return Client().get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {secret}").status_code


def code_for(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


# --- the account page --------------------------------------------------------------------


def test_the_header_links_the_account_page_which_gathers_everything(demo) -> None:
    client = logged_in("ide.petit")
    home = client.get("/").content.decode()
    assert 'href="/compte/"' in home
    assert "Mon compte" in home
    page = client.get(ACCOUNT).content.decode()
    for link in (
        "/compte/mot-de-passe/",
        "/securite/2fa/activer/",
        "/notifications/preferences/",
        "/securite/jetons/",
        "/compte/langue/",
    ):
        assert link in page, link
    assert "Changer le mot de passe" in page
    assert "Double authentification" in page


def test_an_enrolled_member_finds_the_recovery_codes_from_the_account_page(demo) -> None:
    user = demo["ide.petit"].user
    device = TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)
    client = logged_in("ide.petit")
    client.post("/securite/2fa/verifier/", {"code": code_for(device)})
    page = client.get(ACCOUNT).content.decode()
    assert "/securite/2fa/codes-de-secours/" in page
    assert "Activée" in page


# --- changing the password ---------------------------------------------------------------


def test_changing_the_password_needs_the_current_one(demo) -> None:
    client = logged_in("ide.petit")
    response = client.post(
        "/compte/mot-de-passe/",
        {
            "old_password": "pas-le-bon",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert "ancien mot de passe" in response.content.decode().lower()
    demo["ide.petit"].user.refresh_from_db()
    assert demo["ide.petit"].user.check_password("demo")


def test_a_new_password_ends_the_other_sessions_and_every_token(demo) -> None:
    user = demo["ide.petit"].user
    here, elsewhere = logged_in("ide.petit"), logged_in("ide.petit")
    secret = personal_token(user)
    assert api_status(secret) == 200

    response = here.post(
        "/compte/mot-de-passe/",
        {"old_password": "demo", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )

    assert response.status_code == 302
    assert here.get(ACCOUNT).status_code == 200  # this session stays open
    assert elsewhere.get(ACCOUNT)["Location"].startswith(LOGIN)  # the other one is closed
    assert api_status(secret) == 401
    token = ApiToken.objects.get(user=user)
    assert token.revoked_reason == ApiToken.RevokedReason.PASSWORD_CHANGED
    assert AuditEntry.objects.filter(action="password.change").count() == 1


# --- language ----------------------------------------------------------------------------


def test_the_chosen_language_is_stored_and_applied_at_the_next_login(demo) -> None:
    client = logged_in("pharma.durand")
    response = client.post("/compte/langue/", {"language": "en"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "en"
    assert User.objects.get(username="pharma.durand").language == "en"

    elsewhere = Client()
    response = elsewhere.post(LOGIN, {"username": "pharma.durand", "password": "demo"})
    assert response.cookies["django_language"].value == "en"


def test_an_unknown_language_is_refused(demo) -> None:
    client = logged_in("pharma.durand")
    client.post("/compte/langue/", {"language": "xx"})
    assert User.objects.get(username="pharma.durand").language == "fr"


# --- forgotten password ------------------------------------------------------------------


def test_the_login_page_offers_a_forgotten_password_link(db) -> None:
    assert RESET in Client().get(LOGIN).content.decode()


def test_the_answer_is_the_same_whether_the_address_exists_or_not(demo) -> None:
    known = Client().post(RESET, {"email": demo["pharma.durand"].user.email})
    unknown = Client().post(RESET, {"email": "personne@example.org"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]
    assert Client().get(known["Location"]).status_code == 200
    assert len(mail.outbox) == 1


def test_a_reset_link_sets_a_new_password_and_ends_every_session_and_token(demo) -> None:
    user = demo["pharma.durand"].user
    session = logged_in("pharma.durand")
    secret = personal_token(user)

    Client().post(RESET, {"email": user.email})
    (message,) = mail.outbox
    assert "Mot de passe oublié" not in message.subject  # the subject is the action to take
    assert "pharma.durand" in message.body
    link = re.search(r"https?://\S+/connexion/mot-de-passe-oublie/\S+/\S+/", message.body)
    assert link is not None, message.body
    path = "/" + link.group(0).split("/", 3)[3]

    browser = Client()
    form_page = browser.get(path, follow=True)
    assert form_page.context["validlink"]
    response = browser.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302

    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert session.get(ACCOUNT)["Location"].startswith(LOGIN)
    assert api_status(secret) == 401
    assert ApiToken.objects.get(user=user).revoked_reason == "password_changed"
    assert AuditEntry.objects.filter(action="password.reset").count() == 1
    # Single use: the same link does not work twice.
    assert not Client().get(path, follow=True).context["validlink"]


def test_reset_requests_are_limited_without_saying_so(demo, settings) -> None:
    settings.PASSWORD_RESET_MAX_PER_HOUR = 3
    email = demo["pharma.durand"].user.email
    answers = {Client().post(RESET, {"email": email})["Location"] for _ in range(5)}
    assert len(answers) == 1  # the same answer every time
    assert len(mail.outbox) == 3


def test_a_reset_link_expires(demo, settings) -> None:
    settings.PASSWORD_RESET_TIMEOUT = 3600
    user = demo["pharma.durand"].user
    with time_machine.travel("2026-03-02 08:00 +0000", tick=False):
        Client().post(RESET, {"email": user.email})
    path = re.search(r"/connexion/mot-de-passe-oublie/\S+/\S+/", mail.outbox[0].body).group(0)
    with time_machine.travel("2026-03-02 09:30 +0000", tick=False):
        page = Client().get(path, follow=True)
    assert not page.context["validlink"]
    assert "n'est plus valable" in page.content.decode()


def test_the_reset_e_mail_holds_no_patient_data_nor_the_password(demo) -> None:
    user = demo["pharma.durand"].user
    Client().post(RESET, {"email": user.email})
    body = mail.outbox[0].body
    assert "demo" not in body.replace("@demo.", "@")
    assert "patient" not in body.lower()


# --- second factor at login --------------------------------------------------------------


def test_a_member_with_an_app_is_asked_for_it_even_when_2fa_is_optional(demo, settings) -> None:
    settings.REQUIRE_2FA = False
    user = demo["ide.petit"].user
    device = TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)

    client = logged_in("ide.petit")
    response = client.get("/liaison/")
    assert response.status_code == 302
    assert response["Location"].startswith("/securite/2fa/verifier/")

    client.post("/securite/2fa/verifier/", {"code": code_for(device)})
    assert client.get("/liaison/").status_code == 200


def test_a_member_without_an_app_is_not_asked_when_2fa_is_optional(demo, settings) -> None:
    settings.REQUIRE_2FA = False
    assert logged_in("ide.petit").get("/liaison/").status_code == 200


# --- deactivated member ------------------------------------------------------------------


def deactivate(member: Member) -> None:
    Member.objects.filter(pk=member.pk).update(is_active=False)


def test_a_deactivated_member_is_told_so_at_login_and_whom_to_contact(demo) -> None:
    deactivate(demo["ide.petit"])
    client = Client()
    response = client.post(LOGIN, {"username": "ide.petit", "password": "demo"})
    assert response.status_code == 403
    page = response.content.decode()
    assert "Compte désactivé" in page
    assert demo["coord"].display_name in page
    assert "_auth_user_id" not in client.session  # not logged in


def test_a_wrong_password_says_nothing_about_deactivation(demo) -> None:
    deactivate(demo["ide.petit"])
    response = Client().post(LOGIN, {"username": "ide.petit", "password": "faux"})
    assert "désactivé" not in response.content.decode()


def test_a_member_deactivated_while_logged_in_sees_the_page_not_a_404(demo) -> None:
    client = logged_in("ide.petit")
    deactivate(demo["ide.petit"])
    response = client.get("/liaison/")
    assert response.status_code == 403
    assert "Compte désactivé" in response.content.decode()
