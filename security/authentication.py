"""DRF authentication by API token (`Authorization: Token <token>`), and its schema entry.

Listed first in DEFAULT_AUTHENTICATION_CLASSES: DRF asks the first class for the
`WWW-Authenticate` header, so an unauthenticated API call answers 401 with
`WWW-Authenticate: Token` (with the session first it would be a bare 403). A request with a
session cookie and no Authorization header still falls through to the session.

Integration scopes are enforced here rather than in a permission class: every request a token
authenticates passes through this class, while a view may replace its permission classes.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from security import tokens
from security.models import ApiToken

KEYWORD = "Token"


class ApiTokenAuthentication(BaseAuthentication):
    """Our hashed, expiring tokens (security.tokens); DRF's authtoken is not used."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None  # no token: let the session try
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                gettext("En-tête d'authentification mal formé : « Token <jeton> » attendu."),
                code="token_malformed",
            )
        try:
            secret = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                gettext("Jeton d'API inconnu."), code="token_unknown"
            ) from None
        try:
            token = tokens.authenticate_token(secret)
        except tokens.TokenRefused as refused:
            raise exceptions.AuthenticationFailed(refused.message, code=refused.code) from None
        view = request.parser_context.get("view") if request.parser_context else None
        app = type(view).__module__.split(".", 1)[0] if view is not None else ""
        if not tokens.scope_allows(token, method=request.method or "GET", app=app):
            raise exceptions.PermissionDenied(
                gettext("Ce jeton d'intégration n'a pas la portée nécessaire pour cette action."),
                code="token_scope",
            )
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How drf-spectacular describes the token in the OpenAPI schema."""

    target_class = "security.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <token>`, from `POST /api/v1/auth/token/` (personal, expires after "
                "API_TOKEN_IDLE_TIMEOUT_MINUTES idle and API_TOKEN_MAX_AGE_HOURS in all) or an "
                "integration token made by the coordination (scoped)."
            ),
        }
