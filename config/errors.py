"""Error pages: JSON under /api/, French HTML elsewhere.

An API client that mistypes an id hits Django's URL resolver, not DRF; it must still get the
JSON error shape the schema documents.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.defaults import page_not_found, server_error

from security import availability


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def internal_error(request: HttpRequest) -> HttpResponse:
    """The answer to any exception nothing else handled (a view's, a middleware's).

    Django calls it while handling the exception, so sys.exc_info() names it: an outage (the
    database down or locked while a middleware reads the session, say) is a 503 to retry,
    not a 500.
    """
    if availability.is_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if _is_api(request):
        return JsonResponse({"detail": "Server error.", "code": "server_error"}, status=500)
    return server_error(request)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON under /api/, a French page (that needs no database) elsewhere."""
    response: HttpResponse
    if _is_api(request):
        response = JsonResponse(availability.unavailable_body(), status=503)
    else:
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = availability.retry_after()
    return response
