"""Who is asking, from where: the request facts the audit trail records.

Set by security.middleware.RequestContextMiddleware for web and API requests; empty in
workers and management commands, where the audit entry says so.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str = ""
    user_agent: str = ""


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("request_context", default=None)


def current_request_context() -> RequestContext:
    return _current.get() or _EMPTY


def set_request_context(context: RequestContext) -> object:
    return _current.set(context)


def reset_request_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]
