"""The Pro Santé Connect pages: off to the provider, and back with a verified identity.

Thin: directory.psc.client checks everything the provider says, directory.psc.services
matches the member and audits. What is kept between the two requests (state, nonce, PKCE
verifier, where to go next) lives in the server-side session, never in a cookie of its own.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from directory import selectors
from directory.account.views import _with_language, deactivated_page
from directory.psc import client, services
from security import actions, audit
from security.reauth import PSC, note_authentication

logger = logging.getLogger(__name__)

FLOW_SESSION_KEY = "psc_flow"
BACKEND = "directory.psc.backend.ProSanteConnectBackend"


def _next_url(request: HttpRequest, candidate: str) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _redirect_uri(request: HttpRequest) -> str:
    path = reverse("psc-callback")
    if settings.PSC_REDIRECT_BASE_URL:
        return f"{settings.PSC_REDIRECT_BASE_URL}{path}"
    return request.build_absolute_uri(path)


def _error_page(request: HttpRequest, error: client.PscError) -> HttpResponse:
    context: dict[str, Any] = {"message": error.message, "retry_url": reverse("psc-login")}
    if error.reason == services.UNKNOWN_PROFESSIONAL:
        # The number PSC vouched for, to give the coordinator who adds the member with it.
        context["rpps"] = error.rpps
        context["coordinators"] = selectors.coordinators()
        return render(request, "account/psc_unknown.html", context, status=error.status)
    return render(request, "account/psc_error.html", context, status=error.status)


@never_cache
@require_GET
def start(request: HttpRequest) -> HttpResponse:
    """Send the browser to PSC, keeping state, nonce and PKCE verifier in the session.

    `reauth=1` (a logged-in PSC session before a sensitive action) asks PSC to authenticate
    the person again now.
    """
    if not client.is_configured():
        raise Http404
    reauth = request.GET.get("reauth") == "1" and request.user.is_authenticated
    try:
        auth = client.authorization_request(redirect_uri=_redirect_uri(request), force_login=reauth)
    except client.PscError as error:
        return _error_page(request, error)
    request.session[FLOW_SESSION_KEY] = {
        "state": auth.state,
        "nonce": auth.nonce,
        "code_verifier": auth.code_verifier,
        "next": _next_url(request, request.GET.get("next", "")),
        "reauth": reauth,
    }
    return redirect(auth.url)


@never_cache
@require_GET
def callback(request: HttpRequest) -> HttpResponse:
    """Back from PSC: check the state, verify the tokens, match the member, open the session."""
    if not client.is_configured():
        raise Http404
    flow = request.session.pop(FLOW_SESSION_KEY, None)
    try:
        return _complete(request, flow)
    except client.PscError as error:
        logger.warning("PSC login refused: %s", error.reason)
        services.record_refusal(reason=error.reason)
        return _error_page(request, error)


def _complete(request: HttpRequest, flow: Any) -> HttpResponse:
    state = request.GET.get("state", "")
    if not isinstance(flow, dict) or not state or state != flow.get("state"):
        # A replayed or forged answer, or a second tab: nothing of it is used.
        raise client.PscError(
            "state_mismatch",
            gettext(
                "Cette réponse de Pro Santé Connect ne correspond à aucune connexion en cours "
                "dans ce navigateur. Recommencez la connexion."
            ),
        )
    if request.GET.get("error"):
        if request.GET["error"] == "access_denied":
            raise client.PscError("access_denied", gettext("Connexion annulée."))
        raise client.PscError(f"provider_{request.GET['error'][:40]}", client.LOGIN_REFUSED)
    code = request.GET.get("code", "")
    if not code:
        raise client.PscError("no_code", client.LOGIN_REFUSED)
    reauth = bool(flow.get("reauth"))
    identity = client.complete_login(
        code=code,
        redirect_uri=_redirect_uri(request),
        nonce=str(flow["nonce"]),
        code_verifier=str(flow["code_verifier"]),
        max_age=settings.REAUTH_MAX_AGE_SECONDS if reauth else None,
    )
    member = services.member_for_login(identity)
    next_url = str(flow.get("next") or resolve_url(settings.LOGIN_REDIRECT_URL))
    if reauth:
        if request.user.pk != member.user_id:
            raise client.PscError("reauth_other_person", client.LOGIN_REFUSED, status=403)
        note_authentication(
            request,
            method=PSC,
            acr=identity.acr,
            sid=identity.sid,
            id_token=identity.id_token,
            reauthentication=True,
        )
        audit.record(actor=member, action=actions.REAUTHENTICATION, extra={"method": PSC})
        return redirect(next_url)
    if not member.is_active or not member.user.is_active:
        services.record_refusal(reason="deactivated")
        return deactivated_page(request)
    request.psc_login = True  # type: ignore[attr-defined]  # read by security.signals
    login(request, member.user, backend=BACKEND)
    note_authentication(
        request, method=PSC, acr=identity.acr, sid=identity.sid, id_token=identity.id_token
    )
    services.record_login(member=member, identity=identity)
    response = redirect(next_url)
    language = getattr(member.user, "language", "")
    return _with_language(response, language) if language else response
