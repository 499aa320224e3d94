"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from directory.selectors import member_for_user


def current_member(request: HttpRequest) -> dict[str, object]:
    return {"current_member": member_for_user(getattr(request, "user", None))}
