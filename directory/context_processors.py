"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from directory.selectors import is_coordinator, member_for_user


def current_member(request: HttpRequest) -> dict[str, object]:
    """The member behind the session, and whether they coordinate the CPTS (navigation)."""
    member = member_for_user(getattr(request, "user", None))
    return {
        "current_member": member,
        "is_coordinator": is_coordinator(member),
    }
