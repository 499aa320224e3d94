"""The "Jetons d'API" page of the account, and the logout that revokes the session's tokens.

Thin: security.tokens issues and revokes, directory.tokens.selectors lists. A token made here
is shown in the answer to the POST that made it, once, and never stored anywhere in clear
(not even in the session).

Logout: a token made on this page is bound to the browser session by default (the member may
untick it, for a script on another machine), and logging out of that session revokes it. A
clinical workstation is shared: the next person at the keyboard must not inherit the script
token of the previous one. Tokens from POST /api/v1/auth/token/ carry no session and are
not affected by a web logout.
"""

from __future__ import annotations

from urllib.parse import urlencode
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from directory.models import Member
from directory.permissions import member_page
from directory.selectors import member_for_user
from directory.tokens.selectors import access_token, tokens_of
from security import actions, audit, reauth, tokens, two_factor
from security.forms import ApiTokenForm
from security.models import ApiToken


@never_cache
@member_page
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest, member: Member) -> HttpResponse:
    """List the member's tokens; POST makes a named personal token and shows it once."""
    strong = request.user.is_verified() or reauth.is_strong_session(request)  # type: ignore[union-attr]
    if two_factor.has_confirmed_device(request.user) and not strong:
        # The member has an app but 2FA is optional here, so the session may not have
        # used it: a token takes the same proof as on the token endpoint.
        query = urlencode({"next": reverse("api-tokens")})
        return redirect(f"{reverse('two-factor-verify')}?{query}")
    form = ApiTokenForm(data=request.POST if request.method == "POST" else None)
    issued = None
    if form.is_valid():
        issued = tokens.issue_personal_token(
            user=request.user,
            name=form.cleaned_data["name"],
            # Verified whenever the account has an app (above) or must use one
            # (RequireTwoFactorMiddleware); a Pro Santé Connect session is strong already.
            issued_with_2fa=bool(strong),
            session_key=(
                request.session.session_key if form.cleaned_data["bind_to_session"] else None
            ),
        )
        form = ApiTokenForm()
    rows = [(token, tokens.status_of(token)) for token in tokens_of(member, owner=member)[:100]]
    context = {
        "form": form,
        "issued": issued,
        "rows": rows,
        "idle_minutes": settings.API_TOKEN_IDLE_TIMEOUT_MINUTES,
        "max_hours": settings.API_TOKEN_MAX_AGE_HOURS,
    }
    return render(request, "security/api_tokens.html", context)


@member_page
@require_POST
def revoke_api_token(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    """Revoke one of the member's own tokens (the coordination uses the API for others')."""
    token = access_token(member, code)
    if token.user_id != member.user_id:
        raise Http404
    if tokens.revoke_token(token=token, actor=member, reason=ApiToken.RevokedReason.OWNER):
        messages.success(
            request, gettext("Le jeton « %(name)s » est révoqué.") % {"name": token.name}
        )
    return redirect("api-tokens")


class LogoutView(auth_views.LogoutView):
    """Django's logout, which first revokes the tokens bound to this browser session."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        session_key = request.session.session_key
        authentication = reauth.authentication_of(request)
        if request.user.is_authenticated and session_key:
            tokens.revoke_tokens_of(
                user=request.user,
                actor=member_for_user(request.user),
                reason=ApiToken.RevokedReason.LOGOUT,
                session_key=session_key,
            )
            audit.record(
                actor=member_for_user(request.user),
                action=actions.LOGOUT,
                extra={"method": str(authentication.get("method") or "")},
            )
        response = super().post(request, *args, **kwargs)
        id_token = authentication.get("id_token")
        if authentication.get("method") == reauth.PSC and isinstance(id_token, str) and id_token:
            # Pro Santé Connect's session ends too (RP-initiated logout): otherwise the next
            # person at this computer clicking the PSC button would be logged in as this one.
            from directory.psc import client  # noqa: PLC0415  (it imports the models)

            end_session = client.end_session_url(
                id_token=id_token,
                post_logout_redirect_uri=request.build_absolute_uri(reverse("login")),
            )
            if end_session:
                return redirect(end_session)
        return response
