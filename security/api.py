"""The DRF exception handler: one place that turns domain errors into HTTP answers."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from security import availability
from security.exceptions import DomainError, FieldErrors


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Map DomainError to its status, Django's ValidationError to DRF's field errors.

    An outage (database unreachable or locked, broker down) is a 503 with Retry-After, so a
    client waits and retries instead of reporting a server error (security/availability.py).
    """
    if availability.is_unavailable(exc):
        request = context.get("request")
        availability.log_unavailable(exc, request.path if request is not None else "")
        set_rollback()
        response = Response(availability.unavailable_body(), status=503)
        response["Retry-After"] = availability.retry_after()
        return response
    if isinstance(exc, FieldErrors):
        return Response(exc.labelled, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DomainError):
        body: dict[str, Any] = {"detail": exc.detail or exc.code, "code": exc.code}
        body.update({key: value for key, value in exc.extra.items() if key != "detail"})
        return Response(body, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    return drf_exception_handler(exc, context)
