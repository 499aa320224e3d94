"""Nothing typed is lost: an expired session, a lost CSRF cookie.

A nurse writing a referral at the end of a long visit finds her session expired when she
presses "Envoyer": she logs in again and finds what she typed back in the form. A colleague
logging in at the same workstation does not. What is kept is encrypted and short-lived.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core import signing
from django.db import connection
from django.http import QueryDict
from django.test import Client
from django.utils.timezone import now

from security import drafts
from security.models import FormDraft

pytestmark = pytest.mark.django_db

LOGIN = "/connexion/"
FORM = "/messagerie/nouvelle/"
TYPED = {"subject": "Retour d'hospitalisation de Mme Dubois", "body": "Traitement modifié."}


def logged_in(username: str, client: Client | None = None) -> Client:
    client = client or Client()
    credentials = {"username": username, "password": "demo"}
    if client.handler.enforce_csrf_checks:
        client.get(LOGIN)
        credentials["csrfmiddlewaretoken"] = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(LOGIN, credentials)
    assert response.status_code == 302, response.content.decode()[:300]
    return client


def expire_session(client: Client) -> None:
    """What a long pause does: the session is gone on the server, the browser keeps cookies."""
    Session.objects.all().delete()


def restored_form(response) -> dict[str, list[str]] | None:
    match = re.search(
        r'<script id="restored-form" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    return json.loads(match.group(1)) if match else None


def test_a_form_posted_after_the_session_expired_comes_back_after_login(demo) -> None:
    client = logged_in("dr.martin")
    expire_session(client)

    response = client.post(FORM, TYPED)
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    login_page = client.get(response["Location"])
    assert "Votre session a expiré" in login_page.content.decode()

    after_login = client.post(LOGIN, {"username": "dr.martin", "password": "demo", "next": FORM})
    assert after_login["Location"] == FORM
    form_page = client.get(FORM)
    assert restored_form(form_page) == {key: [value] for key, value in TYPED.items()}
    assert "form-draft.js" in form_page.content.decode()
    assert "Votre saisie a été rétablie" in form_page.content.decode()
    # Given back once, then gone.
    assert FormDraft.objects.count() == 0
    assert restored_form(client.get(FORM)) is None


def test_the_draft_is_kept_encrypted(demo) -> None:
    client = logged_in("dr.martin")
    expire_session(client)
    client.post(FORM, TYPED)
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM security_formdraft")
        (raw,) = cursor.fetchone()
    assert b"Dubois" not in bytes(raw)
    assert FormDraft.objects.get().user == demo["dr.martin"].user


def test_someone_else_logging_in_at_that_browser_gets_nothing(demo) -> None:
    client = logged_in("dr.martin")
    expire_session(client)
    client.post(FORM, TYPED)

    logged_in("dr.leroy", client)
    page = client.get(FORM)
    assert restored_form(page) is None
    assert "Dubois" not in page.content.decode()
    assert FormDraft.objects.count() == 0


def test_a_post_from_a_browser_nobody_logged_in_from_keeps_nothing(demo) -> None:
    response = Client().post(FORM, TYPED)
    assert response["Location"].startswith(LOGIN)
    assert FormDraft.objects.count() == 0


def test_passwords_and_codes_are_never_kept() -> None:
    post = QueryDict(mutable=True)
    post.update(
        {
            "csrfmiddlewaretoken": "x",
            "old_password": "demo",
            "new_password1": "Tilleul-42",
            "code": "123456",
            "otp": "123456",
            "title": "Plaies",
        }
    )
    assert drafts.typed_fields(post) == {"title": ["Plaies"]}


def test_a_cookie_naming_a_removed_account_keeps_nothing(demo) -> None:
    client = logged_in("dr.martin")
    expire_session(client)
    # A login is audited, and the audit trail keeps its actors (PROTECT): an account that
    # logged in is never deleted. A cookie naming an account that is gone, then.
    client.cookies[drafts.OWNER_COOKIE] = signing.get_cookie_signer(
        salt=drafts.OWNER_COOKIE + drafts.OWNER_COOKIE_SALT
    ).sign(str(10**9))
    response = client.post(FORM, TYPED)
    assert response["Location"].startswith(LOGIN)
    assert FormDraft.objects.count() == 0


def test_a_draft_is_short_lived(demo) -> None:
    client = logged_in("dr.martin")
    expire_session(client)
    client.post(FORM, TYPED)
    with time_machine.travel(now() + drafts.DRAFT_LIFETIME + timedelta(minutes=1)):
        logged_in("dr.martin", client)
        assert restored_form(client.get(FORM)) is None


def test_logging_out_forgets_who_typed_at_this_browser(demo) -> None:
    client = logged_in("dr.martin")
    client.post("/deconnexion/")
    assert client.cookies[drafts.OWNER_COOKIE].value == ""
    client.post(FORM, TYPED)
    assert FormDraft.objects.count() == 0


# --- a lost CSRF cookie ------------------------------------------------------------------


def test_a_lost_csrf_cookie_gets_a_french_page_that_offers_to_retry(demo) -> None:
    client = Client(enforce_csrf_checks=True)
    logged_in("dr.martin", client)
    client.get(FORM)
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    del client.cookies[settings.CSRF_COOKIE_NAME]
    response = client.post(
        FORM,
        {**TYPED, "csrfmiddlewaretoken": token},
        HTTP_ORIGIN="http://testserver",
        HTTP_REFERER=f"http://testserver{FORM}",
    )
    assert response.status_code == 403
    page = response.content.decode()
    assert "Le formulaire n'a pas pu être envoyé" in page
    assert f'href="{FORM}"' in page
    assert "Forbidden" not in page
    assert "Interdit" not in page
    # What was typed comes back in the form.
    assert restored_form(client.get(FORM)) == {key: [value] for key, value in TYPED.items()}


def test_a_forged_post_from_another_site_is_refused_and_not_kept(demo) -> None:
    client = Client(enforce_csrf_checks=True)
    logged_in("dr.martin", client)
    response = client.post(FORM, TYPED, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert FormDraft.objects.count() == 0
    assert 'href="/"' in response.content.decode()
