"""Request body parsers: DRF's, with a nesting limit on JSON.

A JSON body nested a few thousand levels deep makes the standard parser, and any recursive code
after it (serializers, the FHIR models), raise RecursionError: a 500 that any member can trigger
with a few kilobytes. The limit is checked once here, for every endpoint, and again by the FHIR
importer before the bundle reaches the models (it may be handed data from elsewhere).

Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE are refused before parsing (config/errors.py answers
413); form and multipart bodies are flat (Django's QueryDict), so only JSON needs a depth limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def too_deep_message() -> str:
    return _("JSON trop profondément imbriqué : %(limit)d niveaux au plus.") % {
        "limit": settings.JSON_MAX_DEPTH
    }


def exceeds_depth(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest deeper than `limit` levels (`{}` is one level).

    Iterative on purpose: a recursive walk would fail on the very input it is meant to catch.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, Mapping | list))
    return False


def check_depth(value: Any) -> None:
    """ParseError (400) when `value` nests deeper than settings.JSON_MAX_DEPTH."""
    if exceeds_depth(value, settings.JSON_MAX_DEPTH):
        raise ParseError(too_deep_message())


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; a body nested deeper than JSON_MAX_DEPTH is a 400, not a 500."""

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            # The C decoder gives up cleanly past the interpreter's recursion limit.
            raise ParseError(too_deep_message()) from None
        check_depth(data)
        return data


class FhirJSONParser(JSONParser):
    """The same, for `application/fhir+json` (FHIR import)."""

    media_type = "application/fhir+json"
