"""How long a web session lives: an idle limit and an absolute one (PGSSI-S, DOMAIN.md §7.1).

A computer left open in a consulting room or at a hospital desk must not keep a clinician's
session forever. A session ends:

- after SESSION_IDLE_TIMEOUT_SECONDS without the person doing anything: opening a page or
  sending a form counts; a page's own background requests (the bell's polling, the live
  updates, autosave's reads) do not, or an open tab would never go idle. Browsers say which
  is which in `Sec-Fetch-Mode` ("navigate" for a page or a form); a client that does not
  send it (an old browser, the test client) counts as active, which errs on the side of the
  person, never on the side of a silent logout;
- SESSION_MAX_AGE_SECONDS after the login, whatever the activity; a re-authentication before
  a sensitive action does not extend it (security.reauth keeps `opened`).

The session is emptied the way an expired one would be, not logged out: a form sent just
after the idle limit is kept for its author until they log back in (security.drafts), as
with any expired session, and the next page says in French why they are asked to log in.
Token calls carry no session and follow the token's own limits (security.tokens).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext

from security import actions, audit
from security.principals import active_member_of
from security.reauth import SESSION_KEY, authentication_of

IDLE = "idle"
LIFETIME = "lifetime"
# "seen" is written back at most this often, so an active person costs one session write a
# minute, not one per request.
SEEN_RESOLUTION_SECONDS = 60

Handler = Callable[[HttpRequest], HttpResponse]


def limit_reached(record: dict[str, Any], now: int) -> str | None:
    """Which limit a session's authentication record has passed at `now`, if any."""
    opened, seen = record.get("opened"), record.get("seen")
    if isinstance(opened, int) and now - opened > settings.SESSION_MAX_AGE_SECONDS:
        return LIFETIME
    if isinstance(seen, int) and now - seen > settings.SESSION_IDLE_TIMEOUT_SECONDS:
        return IDLE
    return None


def is_activity(request: HttpRequest) -> bool:
    """Whether the person did something (a page, a form), not a page's background request."""
    mode = request.headers.get("Sec-Fetch-Mode")
    return request.method != "GET" or mode is None or mode == "navigate"


class SessionLimitsMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            record = authentication_of(request)
            now = int(time.time())
            reason = limit_reached(record, now)
            if reason:
                self._end(request, reason)
            elif is_activity(request):
                self._seen(request, record, now)
        return self.get_response(request)

    @staticmethod
    def _seen(request: HttpRequest, record: dict[str, Any], now: int) -> None:
        seen = record.get("seen")
        if not record:  # a session opened before these limits: they start now
            record = {"opened": now}
        elif isinstance(seen, int) and now - seen < SEEN_RESOLUTION_SECONDS:
            return
        request.session[SESSION_KEY] = {**record, "seen": now}

    @staticmethod
    def _end(request: HttpRequest, reason: str) -> None:
        audit.record(
            actor=active_member_of(request.user),
            action=actions.SESSION_EXPIRED,
            extra={"reason": reason},
        )
        request.session.flush()
        request.user = AnonymousUser()
        if reason == IDLE:
            minutes = settings.SESSION_IDLE_TIMEOUT_SECONDS // 60
            text = gettext(
                "Votre session a pris fin après %(minutes)d minutes sans activité. "
                "Reconnectez-vous pour continuer."
            ) % {"minutes": minutes}
        else:
            hours = settings.SESSION_MAX_AGE_SECONDS // 3600
            text = gettext(
                "Votre session a atteint sa durée maximale de %(hours)d heures. "
                "Reconnectez-vous pour continuer."
            ) % {"hours": hours}
        messages.info(request, text)
