"""The event stream (`/evenements/`): Server-Sent Events of worker.push, served over ASGI.

An async view: a stream waits on Redis (or the in-process buffer) without holding a thread,
so one push process keeps thousands open. Authentication is checked once, when the stream
opens, in a thread (the ORM is synchronous): the session cookie for pages (same origin, so
the browser's EventSource sends it), or `Authorization: Token …` for API clients, with the
same scope rule as the API (an integration token needs `read`). The stream ends after
PUSH_MAX_STREAM_SECONDS and the client reconnects with Last-Event-ID: access is checked
again then, without losing an event.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from directory.selectors import member_for_user, organisation_ids_of
from security import tokens
from worker import push
from worker.push import RedisUnavailable

logger = logging.getLogger(__name__)
RETRY_MS = 2000  # the browser's reconnection delay


@dataclass(frozen=True)
class Subscriber:
    member_id: int
    topics: list[str]


def _subscriber(request: HttpRequest) -> Subscriber | HttpResponse:
    """Who is listening, and to which topics; or the error answer (401 or 403)."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _sep, secret = header.partition(" ")
        if scheme.lower() != "token" or not secret.strip():
            return JsonResponse(
                {"detail": _("En-tête d'authentification mal formé : « Token <jeton> » attendu.")},
                status=401,
            )
        try:
            token = tokens.authenticate_token(secret.strip())
        except tokens.TokenRefused as refused:
            return JsonResponse({"detail": refused.message}, status=401)
        if not tokens.scope_allows(token, method="GET", app="worker"):
            return JsonResponse(
                {
                    "detail": _(
                        "Ce jeton d'intégration n'a pas la portée nécessaire pour cette action."
                    )
                },
                status=403,
            )
        user: object = token.user
    else:
        user = request.user
    member = member_for_user(user)
    if member is None:
        return JsonResponse(
            {"detail": _("Connectez-vous pour recevoir les mises à jour.")}, status=401
        )
    topics = [push.member_topic(member.pk)]
    topics += [push.organisation_topic(pk) for pk in organisation_ids_of(member)]
    return Subscriber(member_id=member.pk, topics=topics)


def _frame(cursor: push.Cursor, payload: dict[str, str]) -> bytes:
    data = json.dumps(payload, separators=(",", ":"))
    kind = payload.get("type", "message")
    return f"id: {push.format_cursor(cursor)}\nevent: {kind}\ndata: {data}\n\n".encode()


async def _events(subscriber: Subscriber, last_event_id: str) -> AsyncIterator[bytes]:
    reader = push.reader()
    try:
        cursor = await reader.start(subscriber.topics)
        cursor.update(push.parse_cursor(last_event_id, topics=subscriber.topics))
        # The cursor first: a client that reconnects before any event still resumes from here.
        ready = {"type": "ready"}
        yield f"retry: {RETRY_MS}\n".encode() + _frame(cursor, ready)
        loop = asyncio.get_running_loop()
        recent: deque[str] = deque(maxlen=256)
        closes_at = loop.time() + settings.PUSH_MAX_STREAM_SECONDS
        while (left := closes_at - loop.time()) > 0:
            try:
                events = await reader.read(
                    cursor, timeout=min(settings.PUSH_KEEPALIVE_SECONDS, left)
                )
            except RedisUnavailable:
                # Redis went away: end the stream; the browser reconnects with its cursor
                # and the page polls meanwhile.
                logger.warning("push: the broker is unreachable, closing a stream")
                return
            if not events:
                yield b": keep-alive\n\n"
                continue
            for event in push.in_order(events):
                cursor = push.advance(cursor, [event])
                # An event sent to two of the member's topics (their own and their service's)
                # arrives twice: sent once.
                if event.event_id in recent:
                    continue
                recent.append(event.event_id)
                yield _frame(cursor, event.public_payload)
    finally:
        await reader.close()


@require_GET
async def stream(request: HttpRequest) -> HttpResponseBase:
    """`GET /evenements/`: text/event-stream of the caller's events (see worker.push)."""
    found = await sync_to_async(_subscriber)(request)
    if isinstance(found, HttpResponse):
        return found
    if not isinstance(request, ASGIRequest):
        # Under a WSGI server (gunicorn, runserver, the tests' live server) a stream would hold
        # a worker thread for minutes, or be buffered whole: 204 tells EventSource to stop
        # trying, and the pages poll. Deployments route /evenements/ to the ASGI server.
        return HttpResponse(status=204)
    # The stream may stay open for minutes: it holds no database connection meanwhile (the
    # request's thread is the one that opened it).
    await sync_to_async(connections.close_all)()
    last_event_id = request.headers.get("Last-Event-ID", "") or request.GET.get("depuis", "")
    response = StreamingHttpResponse(
        _events(found, last_event_id), content_type="text/event-stream; charset=utf-8"
    )
    response["Cache-Control"] = "no-cache, no-store"
    response["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response
