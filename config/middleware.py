"""Input no page or endpoint accepts, refused before any view runs.

- A body whose Content-Length is over REQUEST_MAX_BODY_BYTES: 413 before a byte is read (a
  proxy usually has its own limit; this one holds without it).
- A web form Django refuses to read (DATA_UPLOAD_MAX_MEMORY_SIZE and the field and file
  counts): 413 with a French page. The form is read here, before the view, so a refused form
  never reaches a view that would save part of it.
- A control character (NUL and the other C0 characters except tab, CR and LF, and DEL) in a
  query parameter or a form field, names included: 400 naming the field. No field of the
  service holds one legitimately, and PostgreSQL refuses NUL in text, so it would otherwise
  surface as a 500 from whichever query first uses the value.

API bodies are left to DRF's parsers (config/parsers.py): JSON strings go through serializer
fields, which refuse NUL themselves, and an oversized API body is answered by
config.errors.bad_request.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from django.conf import settings
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.utils.datastructures import MultiValueDict

from config.errors import BODY_TOO_LARGE, body_too_large, invalid_characters

Handler = Callable[[HttpRequest], HttpResponse]

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0  # Django reads no body then either


def _fields_with_control_characters(data: QueryDict | MultiValueDict[str, str]) -> Iterator[str]:
    for name, values in data.lists():
        if CONTROL_CHARACTERS.search(name) or any(
            isinstance(value, str) and CONTROL_CHARACTERS.search(value) for value in values
        ):
            # The name is shown back on the error page: without its control characters.
            yield CONTROL_CHARACTERS.sub("", name)


class RequestInputMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _content_length(request) > settings.REQUEST_MAX_BODY_BYTES:
            return body_too_large(request)
        bad = set(_fields_with_control_characters(request.GET))
        if request.method == "POST" and not request.path.startswith("/api/"):
            try:
                post = request.POST
            except BODY_TOO_LARGE:
                return body_too_large(request)
            except MultiPartParserError:
                post = QueryDict()  # a broken form is the CSRF check's and the view's to refuse
            bad.update(_fields_with_control_characters(post))
        if bad:
            return invalid_characters(request, bad)
        return self.get_response(request)
