"""The notification badge of the web header, on every page of a logged-in member."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from directory.models import Member
from directory.selectors import member_for_user
from worker import selectors
from worker.models import Notification

HEADER_ITEMS = 5


class HeaderNotifications:
    """Queried only if the page renders the header (two queries: the count, the latest)."""

    def __init__(self, member: Member) -> None:
        self.member = member

    @cached_property
    def unread_count(self) -> int:
        return selectors.unread_count(self.member)

    @cached_property
    def latest(self) -> list[tuple[Notification, str]]:
        notifications = selectors.notifications_visible_to(self.member)[:HEADER_ITEMS]
        return [(n, selectors.notification_text(n)) for n in notifications]


def notifications(request: HttpRequest) -> dict[str, object]:
    member = member_for_user(getattr(request, "user", None))
    return {"notifications_header": HeaderNotifications(member) if member else None}
