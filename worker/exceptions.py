"""Errors of the delivery machinery."""

from __future__ import annotations


class DeliveryUnavailable(Exception):
    """A channel failed for a reason that may pass (SMTP down, connection refused).

    The notification is back to pending with its next attempt due in `retry_in` seconds; the
    task retries then (and the outbox sweep does, should the retry message be lost).
    """

    def __init__(self, detail: str, *, retry_in: int) -> None:
        super().__init__(detail)
        self.retry_in = retry_in
