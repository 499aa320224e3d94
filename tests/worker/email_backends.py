"""A mail backend for the tests: Django's in-memory one, plus what a real server may do.

`error` is raised instead of sending (a server down, a refusal); `during_send` runs while
the message is "on the wire" (what other processes do while a slow server answers).
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Sequence
from typing import ClassVar

from django.core.mail import EmailMessage
from django.core.mail.backends.locmem import EmailBackend


class FailingBackend(EmailBackend):
    error: ClassVar[BaseException | None] = None
    during_send: ClassVar[Callable[[], None] | None] = None

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if FailingBackend.error is not None:
            raise FailingBackend.error
        if FailingBackend.during_send is not None:
            FailingBackend.during_send()
        return super().send_messages(messages)


class SessionBackend(EmailBackend):
    """Counts the sessions opened and closed; `drop_next` makes the next send find the
    session closed by the server (smtplib's SMTPServerDisconnected), as after an idle time."""

    opened: ClassVar[int] = 0
    closed: ClassVar[int] = 0
    drop_next: ClassVar[bool] = False

    def open(self) -> bool:
        SessionBackend.opened += 1
        return True

    def close(self) -> None:
        SessionBackend.closed += 1

    def send_messages(self, messages: Sequence[EmailMessage]) -> int:
        if SessionBackend.drop_next:
            SessionBackend.drop_next = False
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)
