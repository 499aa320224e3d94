"""Error pages: JSON under /api/, French HTML elsewhere.

An API client that mistypes an id hits Django's URL resolver, not DRF; it must still get the
JSON error shape the schema documents. The same goes for the answers given before any view runs
(config/middleware.py) and for the bodies Django refuses to read (too large, too many fields):
Django turns those into a bare 400 page, whether the caller is a browser or an API client.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.defaults import page_not_found, server_error

from security import availability, drafts

# Django raises these while reading a body over its limits (DATA_UPLOAD_MAX_MEMORY_SIZE,
# DATA_UPLOAD_MAX_NUMBER_FIELDS, DATA_UPLOAD_MAX_NUMBER_FILES); each means "too large".
BODY_TOO_LARGE = (RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _page(template: str, context: dict[str, object], status: int) -> HttpResponse:
    # Rendered without the request: these pages may be answered before the session and the
    # user are known (config/middleware.py), so no context processor may run.
    return HttpResponse(render_to_string(template, context), status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's answer to a SuspiciousOperation; the body limits become a 413."""
    if isinstance(exception, BODY_TOO_LARGE):
        return body_too_large(request)
    if _is_api(request):
        return JsonResponse({"detail": _("Requête invalide."), "code": "bad_request"}, status=400)
    return _page("400.html", {"fields": []}, status=400)


def body_too_large(request: HttpRequest) -> HttpResponse:
    """413: the body is over a size limit. Nothing was read into a form, so nothing was saved."""
    if _is_api(request):
        return JsonResponse(
            {
                "detail": _(
                    "Requête trop volumineuse : réduisez le contenu ou les fichiers joints."
                ),
                "code": "request_too_large",
            },
            status=413,
        )
    return _page("413.html", {}, status=413)


# What a person calls the query parameters the pages share; a page reader never sees a key.
PARAMETER_LABELS = {
    "q": gettext_lazy("Recherche"),
    "page": gettext_lazy("Page"),
    "state": gettext_lazy("État"),
    "service": gettext_lazy("Service"),
    "urgency": gettext_lazy("Urgence"),
    "period": gettext_lazy("Période"),
    "profession": gettext_lazy("Profession"),
    "organisation": gettext_lazy("Structure"),
    "subject": gettext_lazy("Objet"),
    "body": gettext_lazy("Message"),
}


def invalid_characters(request: HttpRequest, fields: Iterable[str]) -> HttpResponse:
    """400 naming the parameters or form fields that hold a control character.

    The API answers with the keys (its clients code against them); the page names the fields
    in words, and says "un champ de la page" for one it has no word for rather than a key.
    """
    message = _("Caractère de contrôle interdit (octet nul ou caractère non imprimable).")
    names = sorted(set(fields))
    if _is_api(request):
        return JsonResponse({name: [message] for name in names}, status=400)
    labels = sorted({str(PARAMETER_LABELS.get(name, _("un champ de la page"))) for name in names})
    return _page("400.html", {"fields": labels, "message": message}, status=400)


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


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """403 in French when the form's security cookie is missing or stale (CSRF_FAILURE_VIEW).

    Usually harmless: cookies cleared, a page left open across a browser restart, another tab
    that logged out. The page explains and offers to go back to the form, which sets a new
    cookie; when the form came from this site (its Origin header says so) and the person is
    logged in, what they typed is kept and put back in the form (security.drafts). A form
    posted from another site is only refused: its content is not the person's.
    """
    if _is_api(request):
        return JsonResponse(
            {"detail": _("Jeton CSRF manquant ou invalide."), "code": "csrf_failed"}, status=403
        )
    own_origin = request.build_absolute_uri("/").rstrip("/")
    same_site = request.headers.get("Origin", "") == own_origin
    referer = request.headers.get("Referer", "")
    retry_url = "/"
    if same_site and referer.startswith(own_origin + "/"):
        retry_url = urlsplit(referer).path or "/"
    kept = False
    user = getattr(request, "user", None)
    if same_site and request.method == "POST" and user is not None and user.is_authenticated:
        data = drafts.typed_fields(request.POST)
        if data and hasattr(request, "session"):
            key = drafts.keep(user_id=user.pk, path=retry_url, data=data)
            if key is not None:
                request.session[drafts.SESSION_KEY] = {"key": key, "path": retry_url}
                kept = True
    return _page("403_csrf.html", {"retry_url": retry_url, "kept": kept}, status=403)
