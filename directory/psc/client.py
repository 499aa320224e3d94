"""The OpenID Connect relying party of Pro Santé Connect: discovery, authorization, tokens.

authlib's OAuth2Session builds the authorization request (PKCE S256) and exchanges the code
(client_secret_basic); joserfc, authlib's own JOSE library, verifies the signed ID token and
the signed UserInfo against the provider's JWKS. Everything else here is PSC's rules
(DOMAIN.md §7.2): `acr` at least the level asked (eidas1), the nonce of this session, the
issuer of the discovery document, this service as the audience, and a UserInfo that is about
the same `sub` as the ID token.

Every failure raises PscError with a reason code (for the log and the audit) and a French
message (for the page): a provider that is down, a discovery document that is not one, or a
token that fails a check never becomes a 500.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session  # type: ignore[import-untyped]
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext_lazy as _
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

logger = logging.getLogger(__name__)

# The levels PSC may return, weakest first: a login is accepted at the level asked or above.
EIDAS_LEVELS = ("eidas1", "eidas2", "eidas3")
ID_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_CLOCK_LEEWAY_SECONDS = 60
_REQUIRED_METADATA = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "jwks_uri",
    "userinfo_endpoint",
)


class PscError(Exception):
    """A PSC login that cannot go on; `reason` is logged and audited, `message` shown."""

    def __init__(self, reason: str, message: Any, *, status: int = 400, rpps: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message
        self.status = status
        self.rpps = rpps  # the RPPS PSC vouched for, when no member has it


PROVIDER_UNAVAILABLE = _(
    "Pro Santé Connect ne répond pas pour le moment. Réessayez dans quelques minutes ou "
    "connectez-vous avec votre identifiant et votre mot de passe si votre compte le permet."
)
LOGIN_REFUSED = _(
    "La connexion par Pro Santé Connect n'a pas pu être vérifiée. Recommencez la connexion ; "
    "si le problème persiste, prévenez le coordinateur de la CPTS."
)


def is_configured() -> bool:
    """Whether the site offers PSC: a discovery URL and a client id, and "psc" allowed."""
    return bool(
        settings.PSC_DISCOVERY_URL and settings.PSC_CLIENT_ID and "psc" in settings.AUTH_METHODS
    )


def _get_json(url: str, what: str) -> dict[str, Any]:
    try:
        response = requests.get(
            url, timeout=settings.PSC_HTTP_TIMEOUT_SECONDS, headers={"Accept": "application/json"}
        )
        response.raise_for_status()
        data = response.json()
    except (requests.RequestException, ValueError) as exc:
        logger.warning("PSC: %s unavailable at %s: %s", what, url, exc.__class__.__name__)
        raise PscError(f"{what}_unavailable", PROVIDER_UNAVAILABLE, status=503) from exc
    if not isinstance(data, dict):
        logger.warning("PSC: %s at %s is not a JSON object", what, url)
        raise PscError(f"{what}_invalid", PROVIDER_UNAVAILABLE, status=503)
    return data


def discovery_cache_key(url: str) -> str:
    return f"psc:discovery:{hashlib.sha256(url.encode()).hexdigest()[:16]}"


def discovery() -> dict[str, Any]:
    """The provider's discovery document, cached (PSC_METADATA_CACHE_SECONDS).

    A document without the endpoints this flow needs is refused, not cached: a provider in
    maintenance may answer its home page at that address.
    """
    url = settings.PSC_DISCOVERY_URL
    key = discovery_cache_key(url)
    cached = cache.get(key)
    if isinstance(cached, dict):
        return cached
    document = _get_json(url, "discovery")
    missing = [name for name in _REQUIRED_METADATA if not isinstance(document.get(name), str)]
    if missing:
        logger.warning("PSC: discovery document at %s lacks %s", url, ", ".join(missing))
        raise PscError("discovery_invalid", PROVIDER_UNAVAILABLE, status=503)
    cache.set(key, document, settings.PSC_METADATA_CACHE_SECONDS)
    return document


def _key_set(metadata: dict[str, Any], *, refresh: bool = False) -> KeySet:
    """The provider's signing keys; `refresh` refetches them (after a key rotation)."""
    url = metadata["jwks_uri"]
    key = f"psc:jwks:{hashlib.sha256(url.encode()).hexdigest()[:16]}"
    data = None if refresh else cache.get(key)
    if not isinstance(data, dict):
        data = _get_json(url, "jwks")
        cache.set(key, data, settings.PSC_METADATA_CACHE_SECONDS)
    try:
        return KeySet.import_key_set(data)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise PscError("jwks_invalid", PROVIDER_UNAVAILABLE, status=503) from exc


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    nonce: str
    code_verifier: str


def _session(redirect_uri: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=settings.PSC_CLIENT_ID,
        client_secret=settings.PSC_CLIENT_SECRET,
        scope=settings.PSC_SCOPES,
        redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )


def authorization_request(*, redirect_uri: str, force_login: bool = False) -> AuthorizationRequest:
    """Where to send the browser, with fresh state, nonce and PKCE verifier to keep.

    `force_login` (re-authentication before a sensitive action) asks the provider to
    authenticate the person again now (prompt=login, max_age=0), not to reuse its session.
    """
    metadata = discovery()
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    code_verifier = secrets.token_urlsafe(48)
    extra: dict[str, str] = {"nonce": nonce}
    if settings.PSC_ACR_VALUES:
        extra["acr_values"] = settings.PSC_ACR_VALUES
    if force_login:
        extra["prompt"] = "login"
        extra["max_age"] = "0"
    url, _state = _session(redirect_uri).create_authorization_url(
        metadata["authorization_endpoint"], state=state, code_verifier=code_verifier, **extra
    )
    return AuthorizationRequest(url=url, state=state, nonce=nonce, code_verifier=code_verifier)


@dataclass(frozen=True)
class PscIdentity:
    """What a verified PSC login says: the claims, and what the audit and logout need."""

    subject: str
    acr: str
    sid: str
    auth_time: int | None
    id_token: str
    userinfo: dict[str, Any]


def _verify_jwt(
    token: str, metadata: dict[str, Any], *, what: str, registry: jwt.JWTClaimsRegistry
) -> dict[str, Any]:
    """Decode and check a JWT signed by the provider; the JWKS is refetched once if a key
    is unknown (the provider rotated its keys since we cached them)."""
    for refresh in (False, True):
        keys = _key_set(metadata, refresh=refresh)
        try:
            decoded = jwt.decode(token, keys, algorithms=ID_TOKEN_ALGORITHMS)
            break
        except JoseError as exc:
            if refresh:
                logger.warning("PSC: %s refused: %s", what, exc.__class__.__name__)
                raise PscError(f"{what}_signature", LOGIN_REFUSED) from exc
        except ValueError as exc:  # no key with this kid, a malformed token
            if refresh:
                logger.warning("PSC: %s refused: %s", what, exc)
                raise PscError(f"{what}_signature", LOGIN_REFUSED) from exc
    claims = dict(decoded.claims)
    try:
        registry.validate(claims)
    except JoseError as exc:
        logger.warning("PSC: %s refused: %s", what, exc)
        reason = "expired" if "expire" in str(exc).lower() else "claims"
        raise PscError(f"{what}_{reason}", LOGIN_REFUSED) from exc
    return claims


def acr_is_enough(acr: str, required: str) -> bool:
    """Whether `acr` is at least the level asked (PSC's eidas levels, weakest first)."""
    if not required:
        return True
    wanted = required.split(maxsplit=1)[0]
    if acr not in EIDAS_LEVELS or wanted not in EIDAS_LEVELS:
        return acr == wanted
    return EIDAS_LEVELS.index(acr) >= EIDAS_LEVELS.index(wanted)


def complete_login(
    *, code: str, redirect_uri: str, nonce: str, code_verifier: str, max_age: int | None = None
) -> PscIdentity:
    """Exchange the code, verify the ID token, read the UserInfo: the verified identity."""
    metadata = discovery()
    try:
        token = _session(redirect_uri).fetch_token(
            metadata["token_endpoint"],
            code=code,
            code_verifier=code_verifier,
            grant_type="authorization_code",
            timeout=settings.PSC_HTTP_TIMEOUT_SECONDS,
        )
    except requests.RequestException as exc:
        logger.warning("PSC: token endpoint unavailable: %s", exc.__class__.__name__)
        raise PscError("token_unavailable", PROVIDER_UNAVAILABLE, status=503) from exc
    except Exception as exc:  # authlib's OAuthError, or a body that is not a token response
        logger.warning("PSC: token request refused: %s", exc)
        raise PscError("token_refused", LOGIN_REFUSED) from exc
    id_token = token.get("id_token")
    access_token = token.get("access_token")
    if not isinstance(id_token, str) or not isinstance(access_token, str):
        raise PscError("token_incomplete", LOGIN_REFUSED)

    registry = jwt.JWTClaimsRegistry(
        leeway=_CLOCK_LEEWAY_SECONDS,
        iss={"essential": True, "value": metadata["issuer"]},
        aud={"essential": True, "value": settings.PSC_CLIENT_ID},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    claims = _verify_jwt(id_token, metadata, what="id_token", registry=registry)
    acr = str(claims.get("acr") or "")
    if not acr_is_enough(acr, settings.PSC_ACR_VALUES):
        logger.warning("PSC: acr %r below %r", acr, settings.PSC_ACR_VALUES)
        raise PscError("acr_too_low", LOGIN_REFUSED)
    auth_time = claims.get("auth_time")
    if max_age is not None and (
        not isinstance(auth_time, int) or auth_time + max_age + _CLOCK_LEEWAY_SECONDS < time.time()
    ):
        raise PscError("auth_time_too_old", LOGIN_REFUSED)

    userinfo = _userinfo(metadata, access_token)
    if userinfo.get("sub") != claims["sub"]:
        logger.warning("PSC: userinfo is about another subject than the ID token")
        raise PscError("userinfo_subject", LOGIN_REFUSED)
    return PscIdentity(
        subject=str(claims["sub"]),
        acr=acr,
        sid=str(claims.get("sid") or ""),
        auth_time=auth_time if isinstance(auth_time, int) else None,
        id_token=id_token,
        userinfo=userinfo,
    )


def _userinfo(metadata: dict[str, Any], access_token: str) -> dict[str, Any]:
    """PSC's UserInfo: a signed JWT (application/jwt) when the client registered for it,
    plain JSON otherwise; both are accepted, a signed one is verified."""
    try:
        response = requests.get(
            metadata["userinfo_endpoint"],
            headers={
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/jwt, application/json",
            },
            timeout=settings.PSC_HTTP_TIMEOUT_SECONDS,
        )
        response.raise_for_status()
    except requests.RequestException as exc:
        logger.warning("PSC: userinfo unavailable: %s", exc.__class__.__name__)
        raise PscError("userinfo_unavailable", PROVIDER_UNAVAILABLE, status=503) from exc
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if content_type == "application/jwt":
        registry = jwt.JWTClaimsRegistry(
            leeway=_CLOCK_LEEWAY_SECONDS,
            iss={"value": metadata["issuer"]},
            aud={"value": settings.PSC_CLIENT_ID},
            sub={"essential": True},
        )
        return _verify_jwt(response.text.strip(), metadata, what="userinfo", registry=registry)
    try:
        data = response.json()
    except ValueError as exc:
        raise PscError("userinfo_invalid", LOGIN_REFUSED) from exc
    if not isinstance(data, dict):
        raise PscError("userinfo_invalid", LOGIN_REFUSED)
    return data


def end_session_url(*, id_token: str, post_logout_redirect_uri: str) -> str | None:
    """The provider's logout address for this session (RP-initiated logout), if it has one.

    Never raises: a provider that is down must not keep the person logged in here.
    """
    try:
        endpoint = discovery().get("end_session_endpoint")
    except PscError:
        return None
    if not isinstance(endpoint, str) or not endpoint:
        return None
    query = urlencode(
        {
            "id_token_hint": id_token,
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": settings.PSC_CLIENT_ID,
        }
    )
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query}"


def pkce_challenge(verifier: str) -> str:
    """S256 code challenge of a verifier (RFC 7636), for the tests' own checks."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def logout_origin() -> str:
    """The origin of the provider's end_session_endpoint ("" if unknown), for the CSP."""
    if not is_configured():
        return ""
    try:
        endpoint = discovery().get("end_session_endpoint")
    except PscError:
        endpoint = settings.PSC_DISCOVERY_URL
    parts = urlsplit(str(endpoint or ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
