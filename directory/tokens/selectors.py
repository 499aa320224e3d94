"""Which API tokens a member may see and revoke: their own, and everyone's for the coordination.

The tokens themselves are security's (security.tokens issues, checks and revokes them); who
may see which is a rule about members and roles, so it lives with them.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from directory.models import Member
from directory.selectors import is_coordinator
from security.access import get_or_not_found
from security.exceptions import NotFound
from security.models import ApiToken


def tokens_visible_to(member: Member) -> QuerySet[ApiToken]:
    """The tokens `member` may see and revoke: their own, or everyone's for the coordination."""
    tokens = ApiToken.objects.select_related("user__member").order_by("-created_at", "-pk")
    if is_coordinator(member):
        return tokens
    return tokens.filter(user_id=member.user_id)


def tokens_of(member: Member, *, owner: Member) -> QuerySet[ApiToken]:
    """`owner`'s tokens as `member` may list them (NotFound for another member's, unless admin)."""
    if owner.pk != member.pk and not is_coordinator(member):
        raise NotFound("member")
    return (
        ApiToken.objects.filter(user_id=owner.user_id)
        .select_related("user")
        .order_by("-created_at", "-pk")
    )


def access_token(member: Member, code: UUID | str) -> ApiToken:
    """The token with this public id if `member` may revoke it, else NotFound (404)."""
    return get_or_not_found(tokens_visible_to(member), "api token", code=code)
