"""The notification badge of the web header, on every page of a logged-in member."""

from __future__ import annotations

from functools import cached_property

from django.http import HttpRequest

from directory.models import Member
from directory.selectors import member_for_user
from worker import selectors

HEADER_ITEMS = 5
# Rows read to fill the header's lines: identical ones fold, so a few more than the lines.
HEADER_ROWS = 20


class HeaderNotifications:
    """Queried only if the page renders the header: the count, the latest, and one query
    per type of object they are about (their describers)."""

    def __init__(self, member: Member) -> None:
        self.member = member

    @cached_property
    def unread_count(self) -> int:
        return selectors.unread_count(self.member)

    @cached_property
    def latest(self) -> list[selectors.NotificationLine]:
        notifications = list(selectors.notifications_visible_to(self.member)[:HEADER_ROWS])
        return selectors.notification_lines(notifications, reader=self.member)[:HEADER_ITEMS]


def notifications(request: HttpRequest) -> dict[str, object]:
    member = member_for_user(getattr(request, "user", None))
    return {"notifications_header": HeaderNotifications(member) if member else None}
