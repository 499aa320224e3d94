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
