"""How this session was authenticated, and how recently: strong login and re-authentication.

A login notes its method in the session: "psc" (Pro Santé Connect, e-CPS or CPS card: strong
authentication at the "substantiel" level the PGSSI-S asks of health-data services, DOMAIN.md
§7.1), "password", and "password+totp" once the second factor passed. A PSC session is
strong: no TOTP is asked on top (security.middleware.RequireTwoFactorMiddleware reads
`is_strong_session`).

Sensitive actions (exports, key rotation, audit export) ask for an authentication younger
than REAUTH_MAX_AGE_SECONDS (`require_recent_authentication`): a session left open on a
shared computer must not export the CPTS's data. A PSC session re-authenticates through PSC
with prompt=login and max_age=0; a password session through the second-factor page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext
from rest_framework.authentication import SessionAuthentication

from security.exceptions import DomainError

SESSION_KEY = "authentication"
PSC = "psc"
PASSWORD = "password"  # noqa: S105  (a login method, not a secret)
PASSWORD_TOTP = "password+totp"  # noqa: S105


def note_authentication(
    request: HttpRequest,
    *,
    method: str,
    acr: str = "",
    sid: str = "",
    id_token: str = "",
    reauthentication: bool = False,
) -> None:
    """Record in the (server-side) session how and when the person just authenticated.

    `at` is the last proof of identity (what the sensitive actions look at); `opened` the
    login itself, which a re-authentication keeps: the session's absolute lifetime counts from
    it (security.session_limits). The ID token is kept for the provider's logout
    (id_token_hint) and nowhere else: never in a log or the audit trail.
    """
    now = int(time.time())
    opened = authentication_of(request).get("opened") if reauthentication else None
    request.session[SESSION_KEY] = {
        "method": method,
        "acr": acr,
        "sid": sid,
        "id_token": id_token,
        "at": now,
        "opened": opened if isinstance(opened, int) else now,
        "seen": now,
    }


def authentication_of(request: HttpRequest) -> dict[str, Any]:
    value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return value if isinstance(value, dict) else {}


def is_strong_session(request: HttpRequest) -> bool:
    """Whether this session was opened by Pro Santé Connect (strong authentication)."""
    return authentication_of(request).get("method") == PSC


def is_recent(request: HttpRequest) -> bool:
    at = authentication_of(request).get("at")
    return isinstance(at, int) and time.time() - at <= settings.REAUTH_MAX_AGE_SECONDS


def reauthentication_url(request: HttpRequest) -> str:
    """Where to prove who you are again before the sensitive page `request` asked for."""
    query = {"next": request.get_full_path()}
    if is_strong_session(request):
        return f"{reverse('psc-login')}?{urlencode({**query, 'reauth': '1'})}"
    return f"{reverse('two-factor-reauth')}?{urlencode(query)}"


def require_recent_authentication(view: Callable[..., Any]) -> Callable[..., Any]:
    """A sensitive page: only with an authentication younger than REAUTH_MAX_AGE_SECONDS.

    Placed inside the login check (an anonymous visitor goes to the login page first). A POST
    is redirected too; the person comes back to the page (GET) and confirms again.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated and not is_recent(request):
            return redirect(reauthentication_url(request))
        response: HttpResponse = view(request, *args, **kwargs)
        return response

    return wrapped


class ReauthenticationRequired(DomainError):
    """A sensitive API call from a web session whose last authentication is too old."""

    status_code = 403
    code = "reauthentication_required"


def refuse_unless_recent(request: HttpRequest) -> None:
    """The API's side of `require_recent_authentication`, for exports read with a session.

    A page's script (or a person typing the URL) calls the export with the session cookie: the
    same rule as the pages applies, and the answer names where to confirm one's identity. A
    call with an API token passes: a token is issued after a full login (with its second
    factor) and lives only as long as its own idle and absolute limits (security.tokens).
    Call it after the access check, so someone without access still gets the 404.
    """
    django_request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    by_session = isinstance(
        getattr(request, "successful_authenticator", None), SessionAuthentication
    )
    if not by_session or is_recent(django_request):
        return
    raise ReauthenticationRequired(
        gettext(
            "Confirmez votre identité avant cet export : votre dernière authentification "
            "date de plus de %(minutes)d minutes."
        )
        % {"minutes": settings.REAUTH_MAX_AGE_SECONDS // 60},
        reauthenticate=reauthentication_url(django_request),
    )
