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
    joined: str  # a path from the login account, one row per value: "member__memberships__…"
    remember: Callable[[Any, list[Any]], None]  # caches the values on the loaded user


_loading: PrincipalLoading | None = None


def load_principals_with(loading: PrincipalLoading | None) -> None:
    global _loading  # set once, at startup, by the app that knows members
    _loading = loading


def principal_loading() -> PrincipalLoading | None:
    return _loading
