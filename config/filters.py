"""The query parameters of every endpoint: an unknown one is a 400 that names it.

A typo in a filter (`?profesion=infirmier`) would otherwise return the unfiltered list,
which for a directory or a worklist silently answers another question. Every endpoint that
reads its query string checks it here, one way: the parameters it declares (its filterset,
or the serializer that validates its query), the paginator's (`page`, `page_size`, or
`cursor` and `page_size`), and DRF's `format`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

UNKNOWN_PARAMETER = _("Paramètre inconnu.")


def _pagination_parameters(view: Any) -> set[str]:
    paginator = getattr(view, "paginator", None) if view is not None else None
    names = (
        getattr(paginator, attribute, None)
        for attribute in ("page_query_param", "page_size_query_param", "cursor_query_param")
    )
    return {name for name in names if name}


def refuse_unknown_parameters(request: Request, known: Iterable[str], view: Any = None) -> None:
    """400 naming each query parameter that is neither in `known`, nor `view`'s pagination's,
    nor `format`."""
    allowed = {*known, "format", *_pagination_parameters(view)}
    unknown = sorted(set(request.query_params) - allowed)
    if unknown:
        raise ValidationError({name: [UNKNOWN_PARAMETER] for name in unknown})


def validated_query(
    request: Request, serializer_class: type[serializers.Serializer], view: Any = None
) -> dict[str, Any]:
    """The query string validated by `serializer_class`, whose fields are the parameters."""
    refuse_unknown_parameters(request, serializer_class().fields, view)
    query = serializer_class(data=request.query_params)
    query.is_valid(raise_exception=True)
    return dict(query.validated_data)


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, with the parameters checked by refuse_unknown_parameters first."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        known = filterset_class.base_filters if filterset_class else ()
        refuse_unknown_parameters(request, known, view)
        return super().filter_queryset(request, queryset, view)
