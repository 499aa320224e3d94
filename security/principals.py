"""Who is acting, as the ground floor sees it: a login account and the member behind it.

security records who did what (audit entries, tokens) and decides who must pass a second
factor, but it sits below the directory that defines members (directory.Member): it imports
no app. It knows a member only through the login account (settings.AUTH_USER_MODEL), whose
one-to-one profile is reached as `user.member`, the way django.contrib.auth knows its user
model only through a setting. What security reads of a member is the `Actor` below.

The rule "the member behind a login counts only while active" is written here, once:
`directory.selectors.member_for_user` returns the same answer, typed as a Member, for the
floors above.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from django.db import models
from django.db.models import F

from security.compiled import CompiledQuery


class Actor(Protocol):
    """A member as security stores it: a database key for the foreign keys, a public code
    for the audit chain (which seals the code, never the key)."""

    @property
    def pk(self) -> Any: ...

    @property
    def code(self) -> UUID: ...

    @property
    def is_active(self) -> bool: ...


def active_member_of(user: object) -> Any:
    """The active member behind a login, or None.

    None for an anonymous visitor, a bare account without a profile (a superuser made with
    createsuperuser) and a deactivated member: none of them may act as a member. Typed Any:
    the caller above knows it is a directory.Member.
    """
    if not getattr(user, "is_authenticated", False):
        return None
    load_principal(user)
    # A missing one-to-one raises RelatedObjectDoesNotExist, an AttributeError.
    member = getattr(user, "member", None)
    if member is None or not member.is_active:
        return None
    return member


# --- Loading the member with the login ------------------------------------------------------


@dataclass(frozen=True)
class PrincipalLoading:
    """How the floor above loads, in the authentication's own query, what each request asks
    of its member next: the profile (`user.<related>`) and one value per joined row (the
    directory: the member's organisations, which every access rule starts from).

    Security cannot name the directory's models; the directory declares this at startup
    (directory.apps), and the token lookup then resolves token → user → member →
    memberships in one query instead of three.
    """

    related: str  # the login account's one-to-one profile: "member"
    joined: str  # a path from the profile, one row per value: "memberships__organisation_id"
    remember: Callable[[Any, list[Any]], None]  # caches the values on the loaded user


_loading: PrincipalLoading | None = None


def load_principals_with(loading: PrincipalLoading | None) -> None:
    global _loading  # set once, at startup, by the app that knows members
    _loading = loading


def principal_loading() -> PrincipalLoading | None:
    return _loading


def load_principal(user: object) -> None:
    """Load the profile behind a login account, with the declared values, in one query.

    For a login that came without it (the session: Django loads the account alone); a token
    lookup already loaded both (security.tokens). Without a declaration, nothing: the
    profile then loads on first access, as Django does.
    """
    loading = _loading
    if loading is None or not isinstance(user, models.Model):
        return
    # __class__, not type(): request.user is a lazy proxy of the account.
    relation = getattr(user.__class__, loading.related).related  # the reverse one-to-one
    if relation.is_cached(user):
        return
    rows = _profile_query(loading, relation).fetch(user_id=user.pk)
    profile = rows[0] if rows else None
    relation.set_cached_value(user, profile)  # None: "no profile", as Django caches it
    if profile is not None:
        relation.field.set_cached_value(profile, user)
        values = [getattr(row, "_joined") for row in rows]  # noqa: B009 (an annotation)
        loading.remember(user, [value for value in values if value is not None])


_PROFILE_QUERIES: dict[PrincipalLoading, CompiledQuery[Any]] = {}


def _profile_query(loading: PrincipalLoading, relation: Any) -> CompiledQuery[Any]:
    """The profile of a login with its joined values, compiled once per thread: every page
    request of a logged-in member runs it (security.compiled)."""
    query = _PROFILE_QUERIES.get(loading)
    if query is None:
        manager = relation.related_model._default_manager
        key = f"{relation.field.name}_id"

        def build(user_id: Any) -> models.QuerySet[Any]:
            return manager.filter(**{key: user_id}).annotate(_joined=F(loading.joined)).order_by()

        query = _PROFILE_QUERIES[loading] = CompiledQuery(build, user_id=int)
    return query
