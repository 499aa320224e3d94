"""The address guard: password spraying is slowed down, then blocked, per client address.

django-axes locks one username on one address after AXES_FAILURE_LIMIT wrong passwords. A
sprayer tries one or two common passwords on many usernames and never trips it. This guard
counts the failed logins of one client address (security.client_address; an IPv6 client by
its /64, which one subscriber holds whole), whatever the username:

- past LOGIN_ADDRESS_SLOWDOWN_AFTER failures within LOGIN_ADDRESS_WINDOW_MINUTES, a login
  attempt from the address must wait LOGIN_ADDRESS_SLOWDOWN_SECONDS after the address's last
  failure. The wait is a refusal with Retry-After, not a sleep: a sleeping gunicorn worker is
  one an attacker holds.
- past LOGIN_ADDRESS_BLOCK_AFTER failures, every login from the address is refused for
  LOGIN_ADDRESS_BLOCK_MINUTES, good passwords included (answering a good password differently
  would keep the guessing going). The block is logged and audited once, with counts only.

Only failures count, never successes: a hospital's NAT address, behind which hundreds of
members log in at 8 a.m., is held back only if it also produces many wrong passwords. A
refused attempt was not checked, so it counts neither here nor for the account in
django-axes (AXES_WHITELIST_CALLABLE below): a member stuck behind a blocked address cannot
lock their own account by retrying.

Where it hooks in: both doors (the web login form and POST /api/v1/auth/token/, and the
admin's login) call django.contrib.auth.authenticate(request, ...). LoginAddressGuardBackend,
first in AUTHENTICATION_BACKENDS, refuses a held-back address before any password is checked;
the user_login_failed signal, which authenticate sends on every failure, counts. The refusal
is left on the request (`login_refusal_of`) for the answer: the token endpoint's 429 JSON
(security.throttling.LoginLockedOut), the login page's message, and the 429 status set by
security.middleware.LoginRefusalMiddleware.

The counters live in Django's cache, shared by every web process through Redis in
production: per-minute buckets added up over the window, so increments stay atomic.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import ngettext

from security import actions
from security.audit import record
from security.client_address import client_address, parse_address

logger = logging.getLogger(__name__)

_REFUSAL_ATTRIBUTE = "login_address_refusal"
_KEY_PREFIX = "login-guard"


@dataclass(frozen=True)
class LoginRefusal:
    """Why a login from this address is refused before any check, and for how long."""

    blocked: bool  # False: slowed down (wait a few seconds); True: blocked (wait minutes)
    retry_after: int  # seconds

    @property
    def code(self) -> str:
        return "address_blocked" if self.blocked else "address_slowed_down"

    @property
    def message(self) -> str:
        # Built when shown, in the caller's language: plain gettext, not the lazy variants.
        if self.blocked:
            minutes = max(1, math.ceil(self.retry_after / 60))
            return ngettext(
                "Trop de tentatives de connexion ont échoué depuis votre adresse réseau : les "
                "connexions depuis cette adresse sont bloquées par sécurité. Réessayez dans "
                "%(minutes)d minute.",
                "Trop de tentatives de connexion ont échoué depuis votre adresse réseau : les "
                "connexions depuis cette adresse sont bloquées par sécurité. Réessayez dans "
                "%(minutes)d minutes.",
                minutes,
            ) % {"minutes": minutes}
        return ngettext(
            "Trop de tentatives de connexion ont échoué depuis votre adresse réseau. Patientez "
            "%(seconds)d seconde avant de réessayer.",
            "Trop de tentatives de connexion ont échoué depuis votre adresse réseau. Patientez "
            "%(seconds)d secondes avant de réessayer.",
            self.retry_after,
        ) % {"seconds": self.retry_after}


def login_refusal_of(request: HttpRequest) -> LoginRefusal | None:
    """The refusal the guard gave this request's login attempt, if it gave one."""
    refusal = getattr(request, _REFUSAL_ATTRIBUTE, None)
    return refusal if isinstance(refusal, LoginRefusal) else None


def refused_before_checking(request: HttpRequest, credentials: dict[str, Any] | None) -> bool:
    """AXES_WHITELIST_CALLABLE: an attempt this guard refused is not counted for the account.

    django-axes asks this before recording a failure (and before its own lockout check, where
    it is False: the guard has not refused anything yet when axes' backend runs).
    """
    return login_refusal_of(request) is not None


def address_key(address: str) -> str:
    """What the guard counts by: the IPv4 address, or the /64 of an IPv6 address."""
    parsed = parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else ""


def login_refusal_for(address: str) -> LoginRefusal | None:
    """Whether a login from `address` must be refused now (blocked, or too soon after a
    failure while slowed down), reading the shared counters in one round trip."""
    key = address_key(address)
    if not key:
        return None  # no address to hold back (see client_address); never lump them together
    now = time.time()
    buckets = _bucket_keys(key, now)
    values = cache.get_many([_blocked_key(key), _last_failure_key(key), *buckets])
    blocked_until = values.get(_blocked_key(key))
    if blocked_until is not None and blocked_until > now:
        return LoginRefusal(blocked=True, retry_after=math.ceil(blocked_until - now))
    slowdown_after = settings.LOGIN_ADDRESS_SLOWDOWN_AFTER
    last_failure = values.get(_last_failure_key(key))
    if slowdown_after and last_failure is not None:
        failures = sum(int(values.get(bucket) or 0) for bucket in buckets)
        wait = last_failure + settings.LOGIN_ADDRESS_SLOWDOWN_SECONDS - now
        if failures >= slowdown_after and wait > 0:
            return LoginRefusal(blocked=False, retry_after=math.ceil(wait))
    return None


def record_login_failure(address: str) -> None:
    """Count one failed login from `address`; block the address when it crosses the limit."""
    key = address_key(address)
    if not key:
        return
    now = time.time()
    window_seconds = settings.LOGIN_ADDRESS_WINDOW_MINUTES * 60
    buckets = _bucket_keys(key, now)
    bucket = buckets[0]
    cache.add(bucket, 0, timeout=window_seconds + 60)
    try:
        cache.incr(bucket)
    except ValueError:  # the bucket expired between add and incr
        cache.set(bucket, 1, timeout=window_seconds + 60)
    cache.set(_last_failure_key(key), now, timeout=max(settings.LOGIN_ADDRESS_SLOWDOWN_SECONDS, 1))

    failures = sum(int(count or 0) for count in cache.get_many(buckets).values())
    block_after = settings.LOGIN_ADDRESS_BLOCK_AFTER
    block_seconds = settings.LOGIN_ADDRESS_BLOCK_MINUTES * 60
    if block_after and block_seconds and failures >= block_after:
        _block(key, failures=failures, until=now + block_seconds, buckets=buckets)
    elif failures == settings.LOGIN_ADDRESS_SLOWDOWN_AFTER:
        logger.info("Login address guard: %s slowed down after %d failed logins", key, failures)


def _block(key: str, *, failures: int, until: float, buckets: list[str]) -> None:
    # add, not set: when several processes cross the limit together, one of them blocks,
    # logs and audits; the others find the block in place.
    if not cache.add(_blocked_key(key), until, timeout=settings.LOGIN_ADDRESS_BLOCK_MINUTES * 60):
        return
    # The failures that led here are spent: when the block ends, the address starts over.
    cache.delete_many(buckets)
    logger.warning(
        "Login address guard: %s blocked for %d minutes after %d failed logins (any username) "
        "in %d minutes",
        key,
        settings.LOGIN_ADDRESS_BLOCK_MINUTES,
        failures,
        settings.LOGIN_ADDRESS_WINDOW_MINUTES,
    )
    extra: dict[str, object] = {
        "failures": failures,
        "window_minutes": settings.LOGIN_ADDRESS_WINDOW_MINUTES,
        "block_minutes": settings.LOGIN_ADDRESS_BLOCK_MINUTES,
    }
    if "/" in key:
        extra["ipv6_prefix"] = key  # the entry's ip is one address; the block holds the /64
    record(actor=None, action=actions.LOGIN_ADDRESS_BLOCKED, extra=extra)


def _bucket_keys(key: str, now: float) -> list[str]:
    """The per-minute failure counters of the window, the current minute first."""
    minute = int(now // 60)
    return [
        f"{_KEY_PREFIX}:{key}:failures:{minute - age}"
        for age in range(settings.LOGIN_ADDRESS_WINDOW_MINUTES)
    ]


def _blocked_key(key: str) -> str:
    return f"{_KEY_PREFIX}:{key}:blocked-until"


def _last_failure_key(key: str) -> str:
    return f"{_KEY_PREFIX}:{key}:last-failure"


class LoginAddressGuardBackend:
    """First in AUTHENTICATION_BACKENDS: refuses a held-back address before any check.

    It never authenticates anyone (it returns None and lets the next backends decide). When
    it refuses, PermissionDenied makes authenticate() stop and send user_login_failed, and
    the refusal stays on the request for the answer.
    """

    def authenticate(self, request: HttpRequest | None, **credentials: Any) -> None:
        if request is None:
            return  # a script calling authenticate() without a request: nothing to key on
        refusal = login_refusal_for(client_address(request))
        if refusal is not None:
            setattr(request, _REFUSAL_ATTRIBUTE, refusal)
            raise PermissionDenied(refusal.code)


@receiver(user_login_failed, dispatch_uid="security.login_guard.count_failed_login")
def count_failed_login(
    sender: object, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    """Every failed login through authenticate(), except those this guard refused unchecked."""
    if request is None or login_refusal_of(request) is not None:
        return
    record_login_failure(client_address(request))
