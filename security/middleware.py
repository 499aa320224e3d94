"""Request-wide security middleware: audit context, enforced 2FA, refused logins' status,
forms kept across an expired session."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext

from security import drafts
from security.client_address import client_address
from security.login_guard import login_refusal_of
from security.reauth import is_strong_session
from security.request_context import RequestContext, reset_request_context, set_request_context
from security.two_factor import ENROLLED_SESSION_KEY, two_factor_required_for

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
    security.two_factor.two_factor_required_for (REQUIRE_2FA and the account's role); an
    account that enrolled an app anyway is asked for it too (the session notes it at login,
    security.two_factor.note_enrolment_at_login, so no request pays a query for it). Token
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
            and (two_factor_required_for(user) or request.session.get(ENROLLED_SESSION_KEY))
            and not user.is_verified()  # set by django_otp's OTPMiddleware
            # Pro Santé Connect is strong authentication already (e-CPS, CPS card): no TOTP.
            and not is_strong_session(request)
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


class FormDraftMiddleware:
    """Keep a form posted after the session expired, and give it back after login.

    See security.drafts for the whole flow. Placed after the messages middleware: it tells
    the person, on the login page, that what they typed is kept, and on the form that it is
    back. A page gets the draft as `request.restored_form`; base.html hands it to
    static/js/form-draft.js.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method == "GET" and hasattr(request, "session"):
            self._give_back(request)
        response = self.get_response(request)
        if request.method == "POST" and not request.user.is_authenticated:
            self._keep(request, response)
        if getattr(request, "form_owner_logged_in", None) is not None:
            response.set_signed_cookie(
                drafts.OWNER_COOKIE,
                str(request.form_owner_logged_in),  # type: ignore[attr-defined]
                salt=drafts.OWNER_COOKIE_SALT,
                max_age=drafts.OWNER_COOKIE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        elif getattr(request, "form_owner_logged_out", False):
            response.delete_cookie(drafts.OWNER_COOKIE, samesite="Lax")
        return response

    def _give_back(self, request: HttpRequest) -> None:
        pending = request.session.get(drafts.SESSION_KEY)
        if not pending or not request.user.is_authenticated:
            return
        if not isinstance(pending, dict) or pending.get("path") != request.path:
            return  # on its way back (the second factor's pages): wait for the form's page
        del request.session[drafts.SESSION_KEY]
        data = drafts.take(user=request.user, key=str(pending.get("key")), path=request.path)
        if data:
            request.restored_form = data  # type: ignore[attr-defined]
            messages.info(
                request,
                gettext(
                    "Votre saisie a été rétablie telle que vous l'aviez laissée : "
                    "vérifiez-la puis envoyez-la."
                ),
            )

    def _keep(self, request: HttpRequest, response: HttpResponse) -> None:
        if response.status_code != 302 or request.path.startswith("/api/"):
            return
        if not response.get("Location", "").startswith(reverse(settings.LOGIN_URL)):
            return
        try:
            owner = request.get_signed_cookie(
                drafts.OWNER_COOKIE,
                salt=drafts.OWNER_COOKIE_SALT,
                max_age=drafts.OWNER_COOKIE_MAX_AGE,
            )
        except (KeyError, signing.BadSignature):
            return  # nobody known to have typed it: nobody to give it back to
        data = drafts.typed_fields(request.POST)
        if not data or not owner or not owner.isdigit():
            return
        key = drafts.keep(user_id=int(owner), path=request.path, data=data)
        if key is None:
            return
        request.session[drafts.SESSION_KEY] = {"key": key, "path": request.path}
        messages.warning(
            request,
            gettext(
                "Votre session a expiré. Reconnectez-vous : ce que vous aviez saisi vous sera "
                "rendu dans le formulaire."
            ),
        )
