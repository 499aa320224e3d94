from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from directory.models import Member, Membership, Organisation, User

admin.site.register(User, UserAdmin)


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "finess", "commune", "parent"]
    list_filter = ["kind"]
    search_fields = ["name", "finess", "commune"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ["family_name", "given_name", "profession", "rpps", "is_active"]
    list_filter = ["profession", "is_active"]
    search_fields = ["family_name", "given_name", "rpps", "adeli"]
    inlines = [MembershipInline]
