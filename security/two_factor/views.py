"""The two-factor pages: enrolment, verification, recovery codes.

Thin: security.two_factor decides who needs what and checks the codes; these views move the
user along login -> (enrolment -> recovery codes | verification) -> the page first asked for.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp.models import Device

from security import actions, audit, reauth, two_factor
from security.forms import EnrolForm, ReauthenticateForm, VerifyForm
from security.principals import active_member_of

# New recovery codes travel from the POST that made them to the page that shows them once
# (post/redirect/get: reloading the page must not make or show codes again).
NEW_RECOVERY_CODES_SESSION_KEY = "two_factor_new_recovery_codes"


def _next_url(request: HttpRequest) -> str:
    """Where to go once done: `next` if it stays on this site, else the home page."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _url_with_next(url_name: str, next_url: str) -> str:
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


def _mark_verified(request: HttpRequest, device: Device) -> None:
    """Record in the session that this device verified the user.

    The session now grants more than before, so it gets a new key and a new CSRF token, as
    Django's login does: an identifier planted before verification is worth nothing after.
    """
    otp_login(request, device)
    request.session.cycle_key()
    rotate_token(request)
    # The login is complete (and recent, for the sensitive actions: security.reauth).
    reauth.note_authentication(request, method=reauth.PASSWORD_TOTP)
    audit.record(
        actor=active_member_of(request.user),
        action=actions.LOGIN_SECOND_FACTOR,
        extra={"method": reauth.PASSWORD_TOTP},
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    """Ask for a code from the app (or a recovery code) before the session sees patient data."""
    next_url = _next_url(request)
    user = request.user
    if user.is_verified() or reauth.is_strong_session(request):  # type: ignore[union-attr]
        return redirect(next_url)  # is_verified: added by django_otp's OTPMiddleware
    if not two_factor.has_confirmed_device(user):
        return redirect(_url_with_next("two-factor-enrol", next_url))
    form = VerifyForm(user, data=request.POST if request.method == "POST" else None)
    if form.is_valid() and form.device is not None:
        _mark_verified(request, form.device)
        if two_factor.is_recovery_device(form.device):
            # Straight to the page that replaces them: a member who needed one has probably
            # lost their phone and will need more.
            messages.warning(
                request,
                gettext("Code de secours accepté : il vous en reste %(count)d.")
                % {"count": two_factor.recovery_codes_left(user)},
            )
            return redirect(_url_with_next("two-factor-recovery-codes", next_url))
        return redirect(next_url)
    return render(request, "security/two_factor_verify.html", {"form": form, "next": next_url})


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest) -> HttpResponse:
    """Pair an authenticator app: QR code and secret, then a first code to prove it works."""
    next_url = _next_url(request)
    user = request.user
    if two_factor.has_confirmed_device(user) and not user.is_verified():  # type: ignore[union-attr]
        # Replacing the app takes the current one: a stolen password alone must not be
        # enough to pair the thief's phone.
        return redirect(_url_with_next("two-factor-verify", request.get_full_path()))
    form = EnrolForm(user, data=request.POST if request.method == "POST" else None)
    if form.is_valid() and form.device is not None:
        _mark_verified(request, form.device)
        request.session[NEW_RECOVERY_CODES_SESSION_KEY] = two_factor.regenerate_recovery_codes(user)
        return redirect(_url_with_next("two-factor-recovery-codes", next_url))
    device = two_factor.start_enrolment(user)
    context = {
        "form": form,
        "next": next_url,
        # Path data drawn by the qrcode library: no text of the otpauth:// URL is copied in.
        "qr_code": mark_safe(two_factor.totp_qr_code_svg(device)),  # noqa: S308
        "secret": two_factor.totp_secret(device),
    }
    return render(request, "security/two_factor_enrol.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """Show new recovery codes once; POST replaces them all (the old ones stop working)."""
    next_url = _next_url(request)
    user = request.user
    if not two_factor.has_confirmed_device(user):
        return redirect(_url_with_next("two-factor-enrol", next_url))
    if not user.is_verified():  # type: ignore[union-attr]
        return redirect(_url_with_next("two-factor-verify", request.get_full_path()))
    if request.method == "POST":
        request.session[NEW_RECOVERY_CODES_SESSION_KEY] = two_factor.regenerate_recovery_codes(user)
        return redirect(_url_with_next("two-factor-recovery-codes", next_url))
    context = {
        "codes": request.session.pop(NEW_RECOVERY_CODES_SESSION_KEY, None),
        "codes_left": two_factor.recovery_codes_left(user),
        "next": next_url,
    }
    return render(request, "security/recovery_codes.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauthenticate(request: HttpRequest) -> HttpResponse:
    """Prove it is still you before a sensitive action: password, and the app's code if any.

    A PSC session goes back through PSC instead (security.reauth.reauthentication_url).
    """
    next_url = _next_url(request)
    user = request.user
    needs_code = two_factor.has_confirmed_device(user)
    form = ReauthenticateForm(
        user, needs_code=needs_code, data=request.POST if request.method == "POST" else None
    )
    if form.is_valid():
        method = reauth.PASSWORD_TOTP if needs_code else reauth.PASSWORD
        reauth.note_authentication(request, method=method, reauthentication=True)
        audit.record(
            actor=active_member_of(user), action=actions.REAUTHENTICATION, extra={"method": method}
        )
        return redirect(next_url)
    return render(request, "security/reauthenticate.html", {"form": form, "next": next_url})
