"""Query filters of the directory lists (?search=, ?kind=, ?profession=, ...)."""

from __future__ import annotations

from uuid import UUID

import django_filters
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from directory.models import Member, Membership, Organisation
from directory.selectors import search_members, search_organisations


class OrganisationFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", label=_("Recherche sur le nom"))
    kind = django_filters.ChoiceFilter(choices=Organisation.Kind.choices)
    commune = django_filters.CharFilter(field_name="commune", lookup_expr="iexact")
    parent = django_filters.UUIDFilter(field_name="parent__code", label=_("Organisation parente"))

    class Meta:
        model = Organisation
        fields = ["search", "kind", "commune", "parent"]

    def filter_search(
        self, queryset: QuerySet[Organisation], name: str, value: str
    ) -> QuerySet[Organisation]:
        return search_organisations(queryset, value)


class MemberFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(
        method="filter_search",
        label=_("Recherche par nom, profession ou service (sans tenir compte des accents)"),
    )
    profession = django_filters.ChoiceFilter(choices=Member.Profession.choices)
    organisation_kind = django_filters.ChoiceFilter(
        choices=Organisation.Kind.choices,
        method="filter_organisation_kind",
        label=_("Type de structure d'exercice"),
    )
    commune = django_filters.CharFilter(method="filter_commune", label=_("Commune d'exercice"))
    organisation = django_filters.UUIDFilter(method="filter_organisation", label=_("Organisation"))

    class Meta:
        model = Member
        fields = ["search", "profession", "organisation_kind", "commune", "organisation"]

    def filter_search(self, queryset: QuerySet[Member], name: str, value: str) -> QuerySet[Member]:
        return search_members(queryset, value)

    def filter_organisation_kind(
        self, queryset: QuerySet[Member], name: str, value: str
    ) -> QuerySet[Member]:
        ids = Membership.objects.filter(organisation__kind=value).values("member_id")
        return queryset.filter(pk__in=ids)

    # Membership joins can repeat a member: filter through pk__in instead of distinct().
    def filter_commune(self, queryset: QuerySet[Member], name: str, value: str) -> QuerySet[Member]:
        ids = Membership.objects.filter(organisation__commune__iexact=value).values("member_id")
        return queryset.filter(pk__in=ids)

    def filter_organisation(
        self, queryset: QuerySet[Member], name: str, value: UUID
    ) -> QuerySet[Member]:
        ids = Membership.objects.filter(organisation__code=value).values("member_id")
        return queryset.filter(pk__in=ids)
