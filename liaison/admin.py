"""Admin: metadata only. Clinical content is encrypted and read through the audited pages."""

from django.contrib import admin

from liaison.models import LiaisonSheet


@admin.register(LiaisonSheet)
class LiaisonSheetAdmin(admin.ModelAdmin):
    list_display = ["code", "kind", "status", "urgency", "sender_organisation",
                    "recipient_organisation", "sent_at"]  # fmt: skip
    list_filter = ["kind", "status", "urgency"]
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
