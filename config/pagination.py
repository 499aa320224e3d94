"""Page-number pagination with a clear 400 for malformed parameters."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class PagePagination(PageNumberPagination):
    """`?page=N&page_size=M`, M up to 200.

    DRF silently ignores a malformed page_size and answers 404 for a page that is not a
    number; a client that sends garbage deserves to be told which parameter is wrong.
    """

    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        for name in (self.page_query_param, self.page_size_query_param):
            value = request.query_params.get(name)
            if value is not None and (not value.isdigit() or int(value) < 1):
                raise ValidationError({name: [_("Un entier positif est attendu.")]})
        return super().paginate_queryset(queryset, request, view)
