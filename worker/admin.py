"""Admin views of the outbox: failed deliveries are visible, and can be retried, here too."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from worker.models import (
    Notification,
    NotificationPreference,
    NotificationSettings,
    WorkerHeartbeat,
)
from worker.services import retry_failed_notifications


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "recipient",
        "event",
        "status",
        "channel",
        "attempts",
        "created_at",
        "read_at",
    ]
    list_filter = ["status", "channel", "event"]
    search_fields = ["code", "target_code"]
    list_select_related = ["recipient"]
    date_hierarchy = "created_at"
    actions = ["retry"]
    readonly_fields = [field.name for field in Notification._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # notifications come from services, in the transaction of their change

    @admin.action(description=_("Relancer l'envoi des notifications en échec"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        ids = retry_failed_notifications(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request, _("%d notification(s) relancée(s).") % len(ids), messages.SUCCESS
        )


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["member", "event", "channel"]
    list_filter = ["channel", "event"]
    list_select_related = ["member"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["member", "quiet_hours_start", "quiet_hours_end"]
    list_select_related = ["member"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen", "hostname"]
