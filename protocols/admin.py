"""Admin: read-only views of protocols (their lifecycle goes through the pages and the API),
and plain editing of the guide's themes."""

from django.contrib import admin

from protocols.models import OfficeHours, Protocol, ProtocolVersion, Theme


@admin.register(Theme)
class ThemeAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    prepopulated_fields = {"slug": ("name",)}


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: object) -> bool:
        return False

    def has_change_permission(self, request: object, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Protocol)
class ProtocolAdmin(ReadOnlyAdmin):
    list_display = ["title", "reference", "kind", "status", "updated_at"]
    list_filter = ["kind", "status"]
    search_fields = ["title", "reference"]
    fields = ["code", "title", "reference", "kind", "status", "current_version", "created_by"]


@admin.register(ProtocolVersion)
class ProtocolVersionAdmin(ReadOnlyAdmin):
    list_display = ["protocol", "number", "status", "author", "published_at", "review_date"]
    list_filter = ["status"]
    fields = ["code", "protocol", "number", "status", "author", "review_date", "published_at"]


@admin.register(OfficeHours)
class OfficeHoursAdmin(admin.ModelAdmin):
    list_display = ["__str__", "organisation", "member", "location"]
