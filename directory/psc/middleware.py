"""The CSP addition a Pro Santé Connect session needs to log out at the provider."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from directory.psc.client import logout_origin
from security.reauth import is_strong_session

Handler = Callable[[HttpRequest], HttpResponse]


class ProviderLogoutCspMiddleware:
    """Let a Pro Santé Connect session's logout form lead to the provider's logout page.

    The CSP allows forms to post to this site only (form-action 'self'), and browsers apply
    form-action to the redirects that follow a form: the logout's redirect to PSC's
    end_session_endpoint would be blocked. Only in a PSC session, the provider's origin is
    added. Placed after CSPMiddleware, so that it runs first on the way out.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if hasattr(request, "session") and is_strong_session(request):
            origin = logout_origin()
            if origin:
                response._csp_update = {"form-action": [origin]}  # type: ignore[attr-defined]
        return response
