"""Fixtures of the notification tests: an SMTP server that fails on demand, quick notices."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core import mail

from directory.models import Member
from worker.models import Notification
from worker.services import enqueue_notification


@pytest.fixture(autouse=True)
def _clean_outbox() -> None:
    mail.outbox = []


@pytest.fixture
def smtp_fails(settings: Any) -> Iterator[Callable[[BaseException | None], None]]:
    """`smtp_fails(exc)`: the mail server raises `exc` on send until `smtp_fails(None)`.

    SMTP is what leaves the project: it is the one thing these tests replace.
    """
    from tests.worker.email_backends import FailingBackend

    settings.EMAIL_BACKEND = "tests.worker.email_backends.FailingBackend"

    def fail_with(exc: BaseException | None) -> None:
        FailingBackend.error = exc

    yield fail_with
    FailingBackend.error = None


@pytest.fixture
def smtp_is_slow(settings: Any) -> Iterator[Callable[[Callable[[], None]], None]]:
    """`smtp_is_slow(callback)`: while the server takes its time, `callback` happens."""
    from tests.worker.email_backends import FailingBackend

    settings.EMAIL_BACKEND = "tests.worker.email_backends.FailingBackend"

    def meanwhile(callback: Callable[[], None]) -> None:
        FailingBackend.during_send = callback

    yield meanwhile
    FailingBackend.during_send = None


@pytest.fixture
def notify(demo: dict[str, Member]) -> Callable[..., Notification]:
    """`notify(recipient="dr.martin", event="notifications.test", actor="coord")`."""

    def make(
        recipient: str = "dr.martin", event: str = "notifications.test", actor: str = "coord"
    ) -> Notification:
        return enqueue_notification(
            recipient=demo[recipient], event=event, actor=demo[actor], url="/notifications/"
        )

    return make
