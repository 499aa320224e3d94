"""Rate limits on the API and the API's answer to a refused login.

Three different guards: DRF throttles cap how fast a caller may go (per user for writes, per
address for the token endpoint); django-axes locks a username on one address after repeated
wrong passwords; the address guard (security/login_guard.py) slows down, then blocks, one
address that fails logins across many usernames. All answer 429.

Every throttle of the project derives from ClientAddressThrottle, so that anonymous callers
are keyed on security.client_address like the lockout and the audit, not on DRF's own
reading of X-Forwarded-For.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from axes.helpers import get_cool_off
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, UserRateThrottle
from rest_framework.throttling import ScopedRateThrottle as DRFScopedRateThrottle

from security.client_address import client_address
from security.login_guard import LoginRefusal, login_refusal_of


class ClientAddressThrottle(BaseThrottle):
    """The base of our throttles: a caller without an account is its client address."""

    def get_ident(self, request: Request) -> str:
        return client_address(request._request)


class ScopedRateThrottle(ClientAddressThrottle, DRFScopedRateThrottle):
    """DRF's per-view scoped rate (`throttle_scope`), keyed on the real client address."""


class WriteRateThrottle(ClientAddressThrottle, UserRateThrottle):
    """The "writes" rate for unsafe methods, per user; reads are not limited here.

    Writes are what a runaway script or a stolen token would use to flood colleagues with
    sheets and notifications; reads of a worklist must stay free for the pages that poll it.
    Anonymous callers are keyed by address, but the API refuses their writes anyway.
    """

    scope = "writes"

    def get_rate(self) -> str | None:
        # Read when the request comes in, not when DRF is imported, so that a changed setting
        # (an override in tests, a reload) applies.
        # DRF's stubs type the rates as numbers; they are strings such as "60/min".
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        return rates.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class LoginLockedOut(APIException):
    """A login refused before any password check (429).

    Either django-axes locked the username out on this address after repeated wrong passwords,
    or the address guard is slowing down or blocking this address (password spraying). The
    wait goes in Retry-After (DRF's handler reads `wait`), so a script can back off.
    """

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked_out"
    wait: int | None

    def __init__(self, request: HttpRequest) -> None:
        refusal: LoginRefusal | None = login_refusal_of(request)
        if refusal is not None:
            self.wait = refusal.retry_after
            super().__init__(detail=refusal.message, code=refusal.code)
            return
        cool_off: timedelta | None = get_cool_off(request)
        self.wait = math.ceil(cool_off.total_seconds()) if cool_off else None
        # Built per request, in the caller's language: plain gettext, not the lazy variants.
        message = gettext(
            "Trop de tentatives de connexion ont échoué pour ce compte : la connexion est "
            "bloquée par sécurité."
        )
        if self.wait:
            minutes = math.ceil(self.wait / 60)
            retry = ngettext(
                "Réessayez dans %(minutes)d minute.", "Réessayez dans %(minutes)d minutes.", minutes
            )
            message = f"{message} {retry % {'minutes': minutes}}"
        super().__init__(detail=message)


def take_lockout(request: HttpRequest) -> bool:
    """Whether this login was refused, by django-axes or by the address guard.

    Axes may have refused it, or locked the username out on this very attempt. The axes flag
    is cleared once read: the caller answers the lockout itself (in JSON for the API), and
    AxesMiddleware would otherwise replace that answer with the HTML lockout page.
    """
    locked_out = bool(getattr(request, "axes_locked_out", False))
    if locked_out:
        request.axes_locked_out = False  # type: ignore[attr-defined]
    return locked_out or login_refusal_of(request) is not None
