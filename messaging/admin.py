"""Admin: metadata only. Subjects, bodies and files are encrypted: the audited pages show them."""

from django.contrib import admin

from messaging.models import Conversation


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "created_by",
        "organisation_inbox",
        "created_at",
        "last_message_at",
        "retain_until",
    ]
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False
