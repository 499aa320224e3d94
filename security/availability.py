"""When a request cannot be served: 503 with Retry-After, never a 500.

A database that is down, restarting or holding a lock past its timeout, or a broker that
does not answer when a request needs it, is an outage, not a bug in the request: the client
should wait and try again. Both paths answer the same way:

- DRF views through security.api.exception_handler (JSON, the usual `{detail, code}`);
- everything else (a middleware reading the session, a web page) through Django's 500
  handler, config.errors.internal_error, which answers 503 when the exception being handled
  is one of these (JSON under /api/, a French page elsewhere).

What is *not* in the list stays a 500: an IntegrityError or a ProgrammingError is a bug.
Redis as a cache never gets here (security/cache.py falls back); Celery publishing after
commit never does either (worker/, the outbox).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils.translation import gettext
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis import exceptions as redis_errors

logger = logging.getLogger(__name__)

UNAVAILABLE: tuple[type[BaseException], ...] = (
    OperationalError,  # connection refused or lost, lock or statement timeout
    InterfaceError,  # a connection that was closed under the request
    BrokerUnavailable,
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
)


def is_unavailable(error: BaseException | None) -> bool:
    return isinstance(error, UNAVAILABLE)


def unavailable_body() -> dict[str, str]:
    # Built per request, in the caller's language: plain gettext, not the lazy variant.
    return {
        "detail": gettext(
            "Service momentanément indisponible : votre demande n'a pas pu être traitée. "
            "Réessayez dans quelques instants."
        ),
        "code": "service_unavailable",
    }


def retry_after() -> str:
    return str(settings.SERVICE_UNAVAILABLE_RETRY_AFTER)


def log_unavailable(error: BaseException, path: str) -> None:
    """Logged as an error with its traceback, as Django would log the 500 it replaces."""
    logger.error("request not served (503), %s: %s", type(error).__name__, path, exc_info=error)
