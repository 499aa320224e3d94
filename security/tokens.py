"""API tokens: the only place that issues, checks, touches and revokes them.

Who may list and revoke which token is a question about members and the coordination: it is
answered a floor up, in directory.tokens.selectors.

A token is `cpts_` followed by 43 URL-safe characters (256 random bits). It is shown once,
when it is made; the database keeps its SHA-256 digest and its first characters. A person gets
a personal token (POST /api/v1/auth/token/ with password and, when the account has a second
factor or REQUIRE_2FA is on, the current TOTP code; or the "Jetons d'API" page); a hospital's
system gets an integration token made by the coordination (directory.services
.create_integration_token), tied to a service account of that organisation and limited to
scopes.

A token dies:
- after an idle period and at an absolute deadline (settings API_TOKEN_*, fixed when the
  token is issued);
- when revoked by its owner or the coordination, or by the logout of the web session that
  made it (tokens made on the page may be bound to that session);
- for every token of the account at once: password change (detected by a fingerprint of the
  password hash, whatever changed it), deactivation, reset of the second factor;
- a personal token issued without the second factor stops working as soon as two-factor
  authentication becomes mandatory for the account.

Creation and revocation are audited (kind, prefix, reason; never the secret).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils.timezone import now
from django.utils.translation import gettext, gettext_lazy

from security import actions, audit
from security.compiled import CompiledQuery
from security.exceptions import FieldErrors
from security.models import ApiToken
from security.principals import Actor, PrincipalLoading, active_member_of, principal_loading
from security.two_factor import two_factor_required_for

TOKEN_PREFIX = "cpts_"  # noqa: S105  (the public marker of our tokens, not a secret)
PREFIX_LENGTH = len(TOKEN_PREFIX) + 6  # shown in lists: enough to tell tokens apart
MAX_TOKEN_LENGTH = 100  # anything longer in the header is not one of ours
# last_used_at is written at most this often: an UPDATE on every API call would double the
# writes of a busy client for no gain, at the cost of idle timeouts being up to this late.
TOUCH_INTERVAL = timedelta(minutes=1)
NAME_MAX_LENGTH = 100

# Integration scopes. Reads are one scope: the service account sees what any member of its
# organisation sees. Writes are granted per app; everything else (directory, protocols,
# notifications, tokens) stays closed to integrations.
SCOPE_READ = "read"
SCOPE_LIAISON_WRITE = "liaison:write"
SCOPE_MESSAGING_WRITE = "messaging:write"
INTEGRATION_SCOPES = {
    SCOPE_READ: gettext_lazy("Lecture (tout ce que voit un membre de l'organisation)"),
    SCOPE_LIAISON_WRITE: gettext_lazy("Fiches de liaison : créer, envoyer, répondre"),
    SCOPE_MESSAGING_WRITE: gettext_lazy("Messagerie : écrire"),
}
WRITE_SCOPE_BY_APP = {"liaison": SCOPE_LIAISON_WRITE, "messaging": SCOPE_MESSAGING_WRITE}
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret: the only moment the secret exists outside the client."""

    token: ApiToken
    secret: str


class TokenRefused(Exception):
    """The token in the request cannot be used; the API answers 401 with `message`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# --- hashing ---------------------------------------------------------------------------


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def password_fingerprint(user: Any) -> str:
    """A digest of the account's password hash: it changes whenever the password does.

    Unkeyed on purpose: the password hash sits in the same database, so this reveals nothing
    more, and it does not tie the tokens to SECRET_KEY's rotation. A password hasher upgrade
    (Django rehashing on login) also changes it, and the tokens then die: rare and safe.
    """
    return hashlib.sha256(str(user.password).encode("utf-8")).hexdigest()


def session_digest(session_key: str | None) -> str:
    return digest_of(session_key) if session_key else ""


# --- issuing ---------------------------------------------------------------------------


def default_token_name(user_agent: str) -> str:
    """A name for a token requested without one: the client's user agent, else "API"."""
    name = " ".join(user_agent.split())[:NAME_MAX_LENGTH]
    return name or "API"


@transaction.atomic
def issue_personal_token(
    *,
    user: Any,
    name: str,
    issued_with_2fa: bool,
    session_key: str | None = None,
) -> IssuedToken:
    """A new personal token for `user`, valid for the configured idle and absolute lifetimes.

    Each call makes a new token (one per device or script, each revocable on its own).
    `session_key`, when given, binds the token to that web session: its logout revokes it.
    """
    return _issue(
        user=user,
        kind=ApiToken.Kind.PERSONAL,
        name=name,
        scopes=[],
        issued_with_2fa=issued_with_2fa,
        max_age=timedelta(hours=settings.API_TOKEN_MAX_AGE_HOURS),
        idle_timeout=timedelta(minutes=settings.API_TOKEN_IDLE_TIMEOUT_MINUTES),
        session_key=session_key,
        actor=active_member_of(user),
    )


@transaction.atomic
def issue_integration_token(
    *, user: Any, name: str, scopes: Iterable[str], actor: Actor | None
) -> IssuedToken:
    """A long-lived scoped token for a hospital's system, whose service account logs in as
    `user`.

    Called by directory.services.create_integration_token, which checks the actor and finds
    or creates the service account.
    """
    checked = check_scopes(scopes)
    return _issue(
        user=user,
        kind=ApiToken.Kind.INTEGRATION,
        name=name,
        scopes=checked,
        # Made by the coordination for a system that has no second factor of its own: the
        # 2FA rule for personal tokens does not apply (see authenticate_token).
        issued_with_2fa=False,
        max_age=timedelta(days=settings.API_TOKEN_INTEGRATION_MAX_AGE_DAYS),
        idle_timeout=timedelta(days=settings.API_TOKEN_INTEGRATION_IDLE_TIMEOUT_DAYS),
        session_key=None,
        actor=actor,
    )


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, deduplicated and in a stable order; FieldErrors on `scopes` otherwise."""
    requested = list(dict.fromkeys(scopes))
    unknown = [scope for scope in requested if scope not in INTEGRATION_SCOPES]
    if unknown or not requested:
        message = gettext("Portées possibles : %(scopes)s.") % {
            "scopes": ", ".join(INTEGRATION_SCOPES)
        }
        raise FieldErrors({"scopes": [message]})
    return [scope for scope in INTEGRATION_SCOPES if scope in requested]


def _issue(
    *,
    user: Any,
    kind: str,
    name: str,
    scopes: list[str],
    issued_with_2fa: bool,
    max_age: timedelta,
    idle_timeout: timedelta,
    session_key: str | None,
    actor: Actor | None,
) -> IssuedToken:
    name = " ".join(name.split())[:NAME_MAX_LENGTH]
    if not name:
        raise FieldErrors({"name": [gettext("Donnez un nom à ce jeton (poste, script...).")]})
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    issued_at = now()
    token = ApiToken.objects.create(
        user=user,
        kind=kind,
        name=name,
        prefix=secret[:PREFIX_LENGTH],
        digest=digest_of(secret),
        scopes=scopes,
        issued_with_2fa=issued_with_2fa,
        password_fingerprint=password_fingerprint(user),
        session_digest=session_digest(session_key),
        created_by_id=actor.pk if actor is not None else None,
        created_at=issued_at,
        last_used_at=issued_at,
        expires_at=issued_at + max_age,
        idle_timeout=idle_timeout,
    )
    audit.record(
        actor=actor,
        action=actions.API_TOKEN_CREATE,
        target=token,
        extra={
            "kind": kind,
            "prefix": token.prefix,
            "scopes": scopes,
            "with_2fa": issued_with_2fa,
            "bound_to_session": bool(session_key),
        },
    )
    return IssuedToken(token=token, secret=secret)


# --- checking --------------------------------------------------------------------------


def authenticate_token(secret: str) -> ApiToken:
    """The live token behind `secret`, its user loaded; TokenRefused (→ 401) otherwise.

    One query for a token in use (the token with its user, its member profile and the
    member's organisations, which the API reads next: see `_token_with_principal`), and an
    UPDATE of last_used_at at most once a minute. A token found
    to belong to a changed password or a deactivated account is revoked with all its
    siblings there and then, so that lists and the audit trail say so.
    """
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > MAX_TOKEN_LENGTH:
        raise TokenRefused("token_unknown", gettext("Jeton d'API inconnu."))
    token = _token_with_principal(digest_of(secret))
    if token is None:
        raise TokenRefused("token_unknown", gettext("Jeton d'API inconnu."))
    if token.revoked_at is not None:
        raise TokenRefused(
            "token_revoked", gettext("Ce jeton d'API a été révoqué : demandez-en un nouveau.")
        )
    at = now()
    if token.is_expired(at):
        raise TokenRefused(
            "token_expired", gettext("Ce jeton d'API a expiré : demandez-en un nouveau.")
        )
    user = token.user
    member = getattr(user, "member", None)  # cached on the user: the API reads it next
    if not user.is_active or (member is not None and not member.is_active):
        revoke_tokens_of(user=user, actor=None, reason=ApiToken.RevokedReason.DEACTIVATED)
        raise TokenRefused("token_revoked", gettext("Ce compte est désactivé."))
    if token.password_fingerprint != password_fingerprint(user):
        revoke_tokens_of(user=user, actor=None, reason=ApiToken.RevokedReason.PASSWORD_CHANGED)
        raise TokenRefused(
            "token_revoked",
            gettext(
                "Ce jeton d'API a été révoqué par un changement de mot de passe : "
                "demandez-en un nouveau."
            ),
        )
    if (
        token.kind == ApiToken.Kind.PERSONAL
        and not token.issued_with_2fa
        and two_factor_required_for(user)
    ):
        raise TokenRefused(
            "token_2fa_required",
            gettext(
                "Ce jeton d'API a été émis sans double authentification, désormais "
                "obligatoire : demandez-en un nouveau avec le code de votre application."
            ),
        )
    if at - token.last_used_at >= TOUCH_INTERVAL:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=at)
        token.last_used_at = at
    return token


def _token_with_principal(digest: str) -> ApiToken | None:
    """The token with this digest, its user and what the floor above declared it reads next.

    Without a declaration (security alone), the token and its user. With one (the directory's
    member and organisations), the same query LEFT JOINs the profile and the joined rows: one
    row per organisation, each carrying the same token. The digest is unique, so every row is
    the same token; the values are handed to the declaration to cache on the member. The
    query is compiled once per thread (security.compiled): it runs on every API call.
    """
    loading = principal_loading()
    rows = _token_query(loading).fetch(digest=digest)
    if not rows:
        return None
    token = rows[0]
    if loading is not None:
        values = [getattr(row, "_joined") for row in rows]  # noqa: B009 (an annotation)
        loading.remember(token.user, [value for value in values if value is not None])
    return token


_TOKEN_QUERIES: dict[PrincipalLoading | None, CompiledQuery[ApiToken]] = {}


def _token_query(loading: PrincipalLoading | None) -> CompiledQuery[ApiToken]:
    query = _TOKEN_QUERIES.get(loading)
    if query is None:

        def build(digest: str) -> QuerySet[ApiToken]:
            queryset = ApiToken.objects.filter(digest=digest).order_by()
            if loading is None:
                return queryset.select_related("user")
            return queryset.select_related(f"user__{loading.related}").annotate(
                _joined=F(f"user__{loading.related}__{loading.joined}")
            )

        query = _TOKEN_QUERIES[loading] = CompiledQuery(build, digest=str)
    return query


def scope_allows(token: ApiToken, *, method: str, app: str) -> bool:
    """Whether `token` may call a `method` endpoint of `app` (personal tokens: always).

    An integration needs `read` for safe methods and the app's write scope for the others;
    apps without a write scope (directory, protocols, notifications, security) refuse every
    integration write.
    """
    if token.kind != ApiToken.Kind.INTEGRATION:
        return True
    if method.upper() in SAFE_METHODS:
        return SCOPE_READ in token.scopes
    scope = WRITE_SCOPE_BY_APP.get(app)
    return scope is not None and scope in token.scopes


# --- revoking --------------------------------------------------------------------------


@transaction.atomic
def revoke_token(*, token: ApiToken, actor: Actor | None, reason: str) -> bool:
    """Revoke one token; False if it was already revoked (the first revocation stands)."""
    at = now()
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=at, revoked_reason=reason
    )
    if updated != 1:
        return False
    token.revoked_at, token.revoked_reason = at, reason
    _audit_revocation(token, actor=actor, reason=reason)
    return True


@transaction.atomic
def revoke_tokens_of(
    *, user: Any, actor: Actor | None, reason: str, session_key: str | None = None
) -> int:
    """Revoke every live token of `user` (only those bound to `session_key`, if given).

    Called on password change, deactivation, reset of the second factor, and (with the
    session key) on logout. Returns how many were revoked.
    """
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if session_key is not None:
        live = live.filter(session_digest=session_digest(session_key))
    # Locked, then updated by id: the audit entries name exactly the tokens this call
    # revoked, even if another request revokes some of them at the same moment.
    tokens = list(live.select_for_update().order_by("pk"))
    if not tokens:
        return 0
    at = now()
    ApiToken.objects.filter(pk__in=[token.pk for token in tokens]).update(
        revoked_at=at, revoked_reason=reason
    )
    for token in tokens:
        token.revoked_at, token.revoked_reason = at, reason
        _audit_revocation(token, actor=actor, reason=reason)
    return len(tokens)


def _audit_revocation(token: ApiToken, *, actor: Actor | None, reason: str) -> None:
    audit.record(
        actor=actor,
        action=actions.API_TOKEN_REVOKE,
        target=token,
        extra={"kind": token.kind, "prefix": token.prefix, "reason": reason},
    )


# --- reading ---------------------------------------------------------------------------


def status_of(token: ApiToken, *, at: datetime | None = None) -> str:
    """`active`, `revoked` or `expired`, as authenticate_token would judge it (bar 2FA)."""
    at = at or now()
    if token.revoked_at is not None or token.password_fingerprint != password_fingerprint(
        token.user
    ):
        return "revoked"
    if token.is_expired(at):
        return "expired"
    return "active"
