"""Request-wide security middleware: audit context, enforced 2FA, refused logins' status."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

from security.client_address import client_address
from security.login_guard import login_refusal_of
from security.request_context import RequestContext, reset_request_context, set_request_context
from security.two_factor import two_factor_required_for

Handler = Callable[[HttpRequest], HttpResponse]


class RequestContextMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = set_request_context(
            RequestContext(
                ip=client_address(request), user_agent=request.META.get("HTTP_USER_AGENT", "")[:300]
            )
        )
        try:
            return self.get_response(request)
        finally:
            reset_request_context(token)


class RequireTwoFactorMiddleware:
    """A session that has not passed its second factor reaches only the 2FA pages and logout.

    (Plus the public paths below: login, static files, health checks, the API contract.)

    Whether an account needs the second factor is decided by
    security.two_factor.two_factor_required_for (REQUIRE_2FA and the account's role). Token
    calls carry no session, so they pass here untouched: the token endpoint asks for `otp`
    before issuing a token. A request that carries both an unverified session cookie and an
    Authorization header is still refused: this check runs on the session's user before DRF
    reads the header, so even a valid token does not carry an unverified session through.
    """

    OPEN_PREFIXES = (
        "/connexion/", "/deconnexion/", "/securite/2fa/", "/static/", "/healthz", "/readyz",
        "/api/schema/", "/api/docs/", "/api/v1/auth/token/", "/i18n/",
    )  # fmt: skip

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self.OPEN_PREFIXES)
            and two_factor_required_for(user)
            and not user.is_verified()  # set by django_otp's OTPMiddleware
        ):
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": gettext("Double authentification requise."), "code": "otp_required"},
                    status=403,
                )
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('two-factor-verify')}?{query}")
        return self.get_response(request)


class LoginRefusalMiddleware:
    """A login the address guard refused answers 429 with Retry-After, whatever the view.

    The login page re-renders its form with the guard's message (the template reads the
    refusal on the request) but would answer 200; the token endpoint answers 429 itself
    (security.throttling.LoginLockedOut), and is left as it is. An answer that is already a
    429 (django-axes' lockout page, placed after this middleware) is left alone too.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        refusal = login_refusal_of(request)
        if refusal is not None and response.status_code != 429:
            response.status_code = 429
            response["Retry-After"] = str(refusal.retry_after)
        return response
