"""Two-factor authentication: who must use it, enrolment, codes and recovery codes.

This module is the only place that decides whether an account needs a second factor and the
only place that checks a code, for the web pages (security/two_factor/views.py), the
middleware that guards the session (security/middleware.py) and the token endpoint
(directory/apis.py). Devices are django-otp's: a TOTP device for the authenticator app and a
static device holding the single-use recovery codes.
"""

from __future__ import annotations

import re
from base64 import b32encode
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from security import actions
from security.exceptions import FieldErrors
from security.models import ApiToken
from security.principals import active_member_of

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Application d'authentification"
RECOVERY_DEVICE_NAME = "Codes de secours"
# A TOTP code is 6 digits; a recovery code is 8 base32 characters (StaticToken.random_token),
# so the shape alone says which device to ask. Asking only that one matters: every failed
# verification throttles the device it was tried on, and a mistyped recovery code must not
# delay the next TOTP code.
_TOTP_CODE = re.compile(r"\d{6}")
_RECOVERY_CODE = re.compile(r"[a-z2-7]{8}")
# Set in the session at login when the account has an authenticator app: the session must then
# pass the second factor even where the CPTS does not require it of everyone.
ENROLLED_SESSION_KEY = "two_factor_enrolled"


def two_factor_required_for(user: Any) -> bool:
    """Whether this account must pass a second factor before it reaches clinical data.

    The single rule, applied when REQUIRE_2FA is on (the default outside DEBUG):
    - every active member: any member may receive liaison sheets or messages about patients,
      so every member handles clinical data, whatever their profession or role;
    - every staff account, member or not: the admin site shows everything.
    Other accounts (a deactivated member, a bare account without a profile) reach no clinical
    data, since IsActiveMember and the pages' member check refuse them, so a second factor
    would protect nothing there.
    """
    if not settings.REQUIRE_2FA or not getattr(user, "is_authenticated", False):
        return False
    return bool(user.is_staff) or active_member_of(user) is not None


def note_enrolment_at_login(request: Any, user: Any) -> None:
    """At login: a member who enrolled an app is asked for it, whatever REQUIRE_2FA says.

    They chose to protect their account with it; a password alone must not open it. Noted in
    the session once, so that the middleware reads a flag instead of querying each request.
    """
    if not two_factor_required_for(user) and has_confirmed_device(user):
        request.session[ENROLLED_SESSION_KEY] = True


def has_confirmed_device(user: Any) -> bool:
    """Whether the user has finished enrolling an authenticator app.

    Recovery codes alone do not count: they exist to replace a lost phone, not to be the
    second factor.
    """
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def verify_code(user: Any, code: str, *, recovery_codes: bool = True) -> Device | None:
    """The device that accepts `code` (a TOTP code, or a recovery code), or None.

    django-otp's devices refuse a TOTP code already used (replay) and slow down guessing
    (each failure doubles the wait before the device accepts another try). A recovery code is
    deleted when it is used. The rows are locked for the check so that two concurrent requests
    cannot both spend the same code.
    """
    code = normalize_code(code)
    if _TOTP_CODE.fullmatch(code):
        model: type[Device] = TOTPDevice
    elif recovery_codes and _RECOVERY_CODE.fullmatch(code):
        model = StaticDevice
    else:
        return None
    with transaction.atomic():
        devices = model.objects.devices_for_user(user, confirmed=True).select_for_update()
        for device in devices:
            if device.verify_token(code):
                if model is StaticDevice:
                    _audit(user, actions.TWO_FACTOR_RECOVERY_CODE_USED)
                return device
    _audit(user, actions.TWO_FACTOR_FAILURE)
    return None


def _audit(user: Any, action: str) -> None:
    """Second-factor events go to the audit trail: who enrolled, who failed, when."""
    from security import audit  # noqa: PLC0415  (audit imports this module through tokens)

    audit.record(actor=active_member_of(user), action=action)


def normalize_code(code: str) -> str:
    """Codes are read from a phone or a printed sheet: spaces, dashes and case do not matter."""
    return re.sub(r"[\s-]", "", code or "").lower()


def start_enrolment(user: Any) -> TOTPDevice:
    """The user's pending (unconfirmed) TOTP device, created on the first visit.

    Reloading the enrolment page keeps the same secret, so a code from an app that already
    scanned the QR code still confirms it.
    """
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def confirm_enrolment(user: Any, code: str) -> TOTPDevice | None:
    """Confirm the pending device with a first code from the app; None if the code is wrong.

    Proving the app produces the right codes before relying on it keeps a mis-scanned QR code
    from locking the user out. On success any older TOTP device is removed: one phone at a
    time, so a lost phone stops working once the new one is enrolled.
    """
    device = (
        TOTPDevice.objects.devices_for_user(user, confirmed=False)
        .select_for_update()
        .order_by("pk")
        .first()
    )
    if device is None or not device.verify_token(normalize_code(code)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    others = TOTPDevice.objects.filter(user=user).exclude(pk=device.pk)
    replaced = others.filter(confirmed=True).exists()
    others.delete()
    _audit(user, actions.TWO_FACTOR_ENROL)
    if replaced:
        # A new phone replaces one that may be lost or stolen: the tokens made with the old
        # one go with it (see reset_two_factor).
        from security import tokens  # noqa: PLC0415  (it imports this module)

        tokens.revoke_tokens_of(
            user=user,
            actor=active_member_of(user),
            reason=ApiToken.RevokedReason.TWO_FACTOR_RESET,
        )
    return device


def totp_secret(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_code_svg(device: TOTPDevice) -> str:
    """The device's otpauth:// URL as an inline SVG QR code.

    Drawn on the server: the secret never goes to a third-party QR service, and the page needs
    no script (the CSP allows none inline).
    """
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10
    )
    return str(image.to_string(encoding="unicode"))


@transaction.atomic
def regenerate_recovery_codes(user: Any) -> list[str]:
    """Replace the user's recovery codes with new ones and return them, to be shown once.

    Earlier codes stop working, so a printed sheet that went astray is void.
    """
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    _audit(user, actions.TWO_FACTOR_RECOVERY_CODES_REGENERATED)
    return codes


def recovery_codes_left(user: Any) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def is_recovery_device(device: Device) -> bool:
    return isinstance(device, StaticDevice)


def check_api_otp(user: Any, code: str) -> bool:
    """Refuse an API token unless `code` is the user's current TOTP code, when 2FA applies.

    It applies when the account must use 2FA (REQUIRE_2FA) and also when it has enrolled an
    app anyway: a token outlives the session, so it is only issued on the same proof as a
    web login; otherwise the API would be a way around the second factor. Recovery codes are
    refused here: they are for getting back into the web account, not for scripts.

    Returns whether the second factor was checked: the token records it, and a token issued
    without it stops working if 2FA later becomes mandatory.
    """
    required = two_factor_required_for(user)
    enrolled = has_confirmed_device(user)
    if not required and not enrolled:
        return False
    if not code:
        message = _("Le code à 6 chiffres de votre application d'authentification est requis.")
    elif not enrolled:
        message = _("Activez d'abord la double authentification en vous connectant au site web.")
    elif verify_code(user, code, recovery_codes=False) is None:
        message = _("Code incorrect ou déjà utilisé : saisissez le code affiché maintenant.")
    else:
        return True
    raise FieldErrors({"otp": [str(message)]})


@transaction.atomic
def reset_two_factor(user: Any, *, actor: Any) -> None:
    """Remove the account's app and recovery codes (lost phone and lost codes), and its tokens.

    Done by an administrator once the person's identity has been checked out of band; the
    member enrols a new app at their next login. Every API token dies with the old factor:
    whoever holds the lost phone may also hold a token made with it.
    """
    from security import audit, tokens  # noqa: PLC0415  (tokens imports this module)

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    tokens.revoke_tokens_of(user=user, actor=actor, reason=ApiToken.RevokedReason.TWO_FACTOR_RESET)
    audit.record(actor=actor, action=actions.TWO_FACTOR_RESET, target=active_member_of(user))
