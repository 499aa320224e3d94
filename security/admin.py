"""The audit trail in the Django admin: read-only, for looking things up.

No add, change or delete: entries are appended by `security.audit.record` only, and the
model refuses edits anyway; hiding the buttons keeps the screen honest about it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from security.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = [
        "sequence",
        "id",
        "created_at",
        "action",
        "actor",
        "target_type",
        "target_code",
        "ip",
    ]
    list_filter = ["action", "target_type", "created_at"]
    list_select_related = ["actor"]
    search_fields = ["actor__family_name", "actor__given_name"]
    search_help_text = "Identifiant (UUID) d'un objet ou d'un membre, ou nom d'un membre."
    date_hierarchy = "created_at"
    actions = None
    show_full_result_count = False  # COUNT(*) over a large append-only table on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[AuditEntry], search_term: str
    ) -> tuple[QuerySet[AuditEntry], bool]:
        """A UUID finds the entries about that object or by that member; text, member names.

        UUID columns are matched exactly: a partial match on them would scan the table and
        is not how anyone looks up an entry.
        """
        try:
            code = UUID(search_term.strip())
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(Q(target_code=code) | Q(actor_code=code)), False
