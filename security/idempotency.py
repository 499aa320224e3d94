"""Idempotency-Key replays: a service tells its API that it answered a retry.

A client that retries a write with the same `Idempotency-Key` gets the first request's result,
and the answer says so with `Idempotent-Replayed: true` (declared on every such operation by
config/schema.py), so the client can tell "done now" from "done before". The service knows
which it was; the model instance it returns carries the mark to the API.
"""

from __future__ import annotations

from typing import TypeVar

from rest_framework.response import Response

REPLAYED_HEADER = "Idempotent-Replayed"
_MARK = "_idempotent_replay"

T = TypeVar("T")


def mark_replayed(instance: T) -> T:
    """Return `instance`, marked as the result of an earlier request with the same key."""
    setattr(instance, _MARK, True)
    return instance


def was_replayed(instance: object) -> bool:
    return bool(getattr(instance, _MARK, False))


def tell_replay(response: Response, *, replayed: bool) -> Response:
    """Add `Idempotent-Replayed: true` to the answer of a replay; return the response."""
    if replayed:
        response[REPLAYED_HEADER] = "true"
    return response
