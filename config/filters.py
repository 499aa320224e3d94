"""Filtering shared by every list endpoint."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

ALWAYS_ALLOWED = {"page", "page_size", "format"}


class StrictFilterBackend(DjangoFilterBackend):
    """django-filter, but an unknown query parameter is a 400 instead of being ignored.

    A typo in a filter (`?profesion=infirmier`) would otherwise return the unfiltered list,
    which for a directory or a worklist silently answers another question.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> Any:
        filterset_class = self.get_filterset_class(view, queryset)
        known = set(filterset_class.base_filters) if filterset_class else set()
        unknown = sorted(set(request.query_params) - known - ALWAYS_ALLOWED)
        if unknown:
            raise ValidationError({name: [_("Paramètre inconnu.")] for name in unknown})
        return super().filter_queryset(request, queryset, view)
