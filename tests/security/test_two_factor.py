"""Two-factor authentication on the web: who must use it, enrolment, verification, recovery.

REQUIRE_2FA is off in tests/settings.py; every test here that needs it turns it on with the
`two_factor_on` fixture, as production has it.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client
from django.utils.timezone import now
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from directory.models import Member, User
from directory.services import issue_api_token
from security import two_factor

pytestmark = pytest.mark.django_db

VERIFY = "/securite/2fa/verifier/"
ENROL = "/securite/2fa/activer/"
RECOVERY = "/securite/2fa/codes-de-secours/"


@pytest.fixture
def two_factor_on(settings) -> None:
    settings.REQUIRE_2FA = True


def code_for(device: TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The code the member's app shows now (or `steps_ahead` periods later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() + steps_ahead * device.step
    return f"{totp.token():0{device.digits}d}"


def wrong_code_for(device: TOTPDevice) -> str:
    """A well-formed code that none of the accepted time steps produces."""
    accepted = {code_for(device, steps_ahead=step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in accepted)


def enrolled_device(user: User) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Téléphone", confirmed=True)


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def verified(user: User, device: TOTPDevice) -> Client:
    client = logged_in(user)
    response = client.post(VERIFY, {"code": code_for(device)})
    assert response.status_code == 302, response.content.decode()
    return client


# --- who must use it ---------------------------------------------------------------------


def test_it_requires_2fa_of_every_active_member(two_factor_on, demo: dict[str, Member]) -> None:
    assert all(two_factor.two_factor_required_for(member.user) for member in demo.values())


def test_it_requires_2fa_of_staff_accounts_without_a_profile(two_factor_on) -> None:
    admin = User.objects.create_user("tech.admin", password="x", is_staff=True)
    assert two_factor.two_factor_required_for(admin)


def test_it_leaves_accounts_that_see_no_clinical_data_alone(two_factor_on, demo) -> None:
    bare = User.objects.create_user("sans.profil", password="x")
    former = demo["dr.bernard"]
    former.is_active = False
    former.save(update_fields=["is_active"])

    assert not two_factor.two_factor_required_for(bare)
    assert not two_factor.two_factor_required_for(User.objects.get(pk=former.user.pk))


def test_it_requires_nothing_when_2fa_is_off(demo: dict[str, Member]) -> None:
    assert not two_factor.two_factor_required_for(demo["dr.martin"].user)
    assert logged_in(demo["dr.martin"].user).get("/annuaire/").status_code == 200


# --- enforcement -------------------------------------------------------------------------


def test_it_sends_a_member_without_a_device_to_enrolment(two_factor_on, demo) -> None:
    client = logged_in(demo["dr.martin"].user)

    response = client.get("/annuaire/?q=petit", follow=True)

    next_param = quote("/annuaire/?q=petit", safe="")
    assert response.redirect_chain == [
        (f"{VERIFY}?next={next_param}", 302),
        (f"{ENROL}?next={next_param}", 302),
    ]
    assert "Activer la double authentification" in response.content.decode()


def test_it_sends_an_enrolled_member_to_verification(two_factor_on, demo) -> None:
    enrolled_device(demo["dr.martin"].user)
    client = logged_in(demo["dr.martin"].user)

    response = client.get("/annuaire/", follow=True)

    assert response.redirect_chain == [(f"{VERIFY}?next=%2Fannuaire%2F", 302)]
    assert "Double authentification" in response.content.decode()


def test_it_refuses_the_api_to_an_unverified_session(two_factor_on, demo) -> None:
    client = logged_in(demo["dr.martin"].user)

    response = client.get("/api/v1/me/")

    assert response.status_code == 403
    assert response.json()["code"] == "otp_required"


def test_an_authorization_header_does_not_get_an_unverified_session_through(
    two_factor_on, demo
) -> None:
    """The middleware judges the session before DRF reads the header, even a valid one."""
    client = logged_in(demo["dr.martin"].user)
    token = issue_api_token(user=demo["dr.martin"].user, issued_with_2fa=True)

    response = client.get("/api/v1/me/", headers={"authorization": f"Token {token}"})

    assert response.status_code == 403
    assert response.json()["code"] == "otp_required"


def test_it_guards_the_admin_site_too(two_factor_on) -> None:
    admin = User.objects.create_superuser("tech.admin", password="x")
    response = logged_in(admin).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)


# --- enrolment ---------------------------------------------------------------------------


def test_it_shows_a_qr_code_and_the_secret(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    body = logged_in(user).get(ENROL).content.decode()

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert "<svg" in body
    assert two_factor.totp_secret(device) in body
    # The CSP allows no inline script: the QR code is plain SVG drawn on the server.
    assert all("src=" in tag for tag in re.findall(r"<script\b[^>]*>", body))
    assert "otpauth://" not in body  # the QR code carries the URL; the page shows the key


def test_it_keeps_the_same_secret_when_the_page_is_reloaded(two_factor_on, demo) -> None:
    client = logged_in(demo["dr.martin"].user)
    client.get(ENROL)
    client.get(ENROL)
    assert TOTPDevice.objects.filter(user=demo["dr.martin"].user).count() == 1


def test_it_confirms_enrolment_with_a_right_code(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    client = logged_in(user)
    client.get(f"{ENROL}?next=/annuaire/")
    device = TOTPDevice.objects.get(user=user)

    response = client.post(ENROL, {"code": code_for(device), "next": "/annuaire/"})

    assert response.status_code == 302
    assert response["Location"] == f"{RECOVERY}?next=%2Fannuaire%2F"
    device.refresh_from_db()
    assert device.confirmed
    page = client.get(response["Location"]).content.decode()
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert len(codes) == two_factor.RECOVERY_CODE_COUNT
    assert 'href="/annuaire/"' in page
    assert client.get("/annuaire/").status_code == 200  # the session is verified


def test_it_shows_the_recovery_codes_only_once(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    client = logged_in(user)
    client.get(ENROL)
    client.post(ENROL, {"code": code_for(TOTPDevice.objects.get(user=user))})

    first = client.get(RECOVERY).content.decode()
    second = client.get(RECOVERY).content.decode()

    assert 'id="recovery-codes"' in first
    assert 'id="recovery-codes"' not in second
    assert "Il vous reste 10 codes de secours" in second


def test_it_refuses_enrolment_with_a_wrong_code(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    client = logged_in(user)
    client.get(ENROL)
    device = TOTPDevice.objects.get(user=user)

    response = client.post(ENROL, {"code": wrong_code_for(device)})

    assert response.status_code == 200
    assert "Ce code ne correspond pas" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get("/annuaire/").status_code == 302


def test_it_refuses_to_pair_a_new_phone_with_the_password_alone(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    enrolled_device(user)

    response = logged_in(user).get(ENROL)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert not TOTPDevice.objects.filter(user=user, confirmed=False).exists()


def test_a_verified_member_replaces_their_phone(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    old = enrolled_device(user)
    client = verified(user, old)
    client.get(ENROL)
    new = TOTPDevice.objects.get(user=user, confirmed=False)

    response = client.post(ENROL, {"code": code_for(new)})

    assert response.status_code == 302
    assert list(TOTPDevice.objects.filter(user=user)) == [new]
    assert client.get("/annuaire/").status_code == 200  # still verified, by the new device


# --- verification ------------------------------------------------------------------------


def test_it_verifies_with_a_totp_code_and_goes_to_next(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    device = enrolled_device(user)
    client = logged_in(user)
    session_key = client.session.session_key

    response = client.post(VERIFY, {"code": code_for(device), "next": "/annuaire/?q=petit"})

    assert response.status_code == 302
    assert response["Location"] == "/annuaire/?q=petit"
    assert client.get("/annuaire/").status_code == 200
    assert client.session.session_key != session_key  # a new session key once verified


def test_it_refuses_a_wrong_code(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    device = enrolled_device(user)
    client = logged_in(user)

    response = client.post(VERIFY, {"code": wrong_code_for(device)})

    assert response.status_code == 200
    assert "Code incorrect ou déjà utilisé" in response.content.decode()
    assert client.get("/annuaire/").status_code == 302


def test_it_refuses_a_code_used_once_already(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    device = enrolled_device(user)
    code = code_for(device)
    assert two_factor.verify_code(user, code) is not None

    with time_machine.travel(now() + timedelta(seconds=5)):  # past the failure throttle
        response = logged_in(user).post(VERIFY, {"code": code})

    assert response.status_code == 200


def test_it_accepts_a_recovery_code_once(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    enrolled_device(user)
    codes = two_factor.regenerate_recovery_codes(user)

    first = logged_in(user)
    response = first.post(VERIFY, {"code": codes[0].upper(), "next": "/annuaire/"}, follow=True)
    assert response.redirect_chain == [(f"{RECOVERY}?next=%2Fannuaire%2F", 302)]
    page = response.content.decode()
    assert "il vous en reste 9" in page
    assert "Générer de nouveaux codes de secours" in page
    assert 'href="/annuaire/"' in page

    again = logged_in(user).post(VERIFY, {"code": codes[0]})
    assert again.status_code == 200
    assert two_factor.recovery_codes_left(user) == 9


def test_it_sends_a_member_without_a_device_from_verification_to_enrolment(
    two_factor_on, demo
) -> None:
    response = logged_in(demo["dr.martin"].user).get(f"{VERIFY}?next=/annuaire/")
    assert response["Location"] == f"{ENROL}?next=%2Fannuaire%2F"


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/",
        "//evil.example/",
        "http://testserver.evil.example/",
        "javascript:alert(1)",
        "\\\\evil.example",
    ],
)
def test_it_never_redirects_off_site(two_factor_on, demo, next_url: str) -> None:
    user = demo["dr.martin"].user
    device = enrolled_device(user)

    response = logged_in(user).post(VERIFY, {"code": code_for(device), "next": next_url})

    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_sends_an_anonymous_visitor_to_the_login_page(two_factor_on) -> None:
    response = Client().get(VERIFY)
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


# --- recovery codes ----------------------------------------------------------------------


def test_it_regenerates_recovery_codes(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    device = enrolled_device(user)
    old = two_factor.regenerate_recovery_codes(user)
    client = verified(user, device)

    response = client.post(RECOVERY, {"next": "/annuaire/"})

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page)
    assert len(new) == two_factor.RECOVERY_CODE_COUNT
    assert not set(new) & set(old)
    assert two_factor.verify_code(user, old[0]) is None


def test_it_asks_for_a_code_before_showing_recovery_codes(two_factor_on, demo) -> None:
    user = demo["dr.martin"].user
    enrolled_device(user)
    two_factor.regenerate_recovery_codes(user)

    response = logged_in(user).post(RECOVERY)

    assert response.status_code == 302
    assert response["Location"].startswith(VERIFY)
    assert two_factor.recovery_codes_left(user) == two_factor.RECOVERY_CODE_COUNT


def test_second_factor_events_are_audited(demo) -> None:
    from django_otp.oath import totp

    from security import two_factor
    from security.models import AuditEntry

    user = demo["ide.petit"].user
    device = two_factor.start_enrolment(user)
    code = f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"
    two_factor.confirm_enrolment(user, code)
    two_factor.regenerate_recovery_codes(user)
    assert two_factor.verify_code(user, "123456") is None
    actions = set(
        AuditEntry.objects.filter(actor=demo["ide.petit"]).values_list("action", flat=True)
    )
    assert {
        "two_factor.enrol",
        "two_factor.recovery_codes_regenerated",
        "two_factor.failure",
    } <= actions
