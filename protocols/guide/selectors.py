"""Reads of the resource guide: who does what, by theme and commune, with office hours.

The guide is the directory seen by theme: every active member may read it (no patient data).
It is built in five queries whatever its size (themes, organisation links, member links with
their organisations, office hours), then grouped in Python.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from uuid import UUID

from django.db import models
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from directory.models import Member, Membership, Organisation
from directory.selectors import is_coordinator
from protocols.models import MemberTheme, OfficeHours, OrganisationTheme, Theme

NO_COMMUNE = "—"


def themes() -> QuerySet[Theme]:
    return Theme.objects.order_by("position", "name", "pk")


def themes_with_slugs(slugs: list[str]) -> tuple[list[Theme], list[str]]:
    """(known themes, unknown slugs or names): accepts a slug or the exact name."""
    wanted = [s.strip() for s in slugs if s and s.strip()]
    found = {t.slug: t for t in Theme.objects.filter(slug__in=wanted)}
    found.update({t.name.lower(): t for t in Theme.objects.filter(name__in=wanted)})
    known, unknown = [], []
    for item in wanted:
        theme = found.get(item) or found.get(item.lower())
        if theme is None:
            unknown.append(item)
        elif theme not in known:
            known.append(theme)
    return known, unknown


class GuideEntryKind(models.TextChoices):
    ORGANISATION = "organisation"
    MEMBER = "member"


@dataclass
class GuideEntry:
    kind: str  # "organisation" or "member"
    code: UUID
    name: str
    role: str  # the organisation's type or the member's profession
    note: str
    address: str
    phone: str
    email: str
    office_hours: list[OfficeHours] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)

    @property
    def contact(self) -> str:
        return " · ".join(part for part in (self.address, self.phone, self.email) if part)


@dataclass
class GuideCommune:
    name: str
    entries: list[GuideEntry] = field(default_factory=list)


@dataclass
class GuideTheme:
    theme: Theme
    communes: list[GuideCommune] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(commune.entries) for commune in self.communes)


def _hours_by_owner() -> tuple[dict[int, list[OfficeHours]], dict[int, list[OfficeHours]]]:
    by_organisation: dict[int, list[OfficeHours]] = defaultdict(list)
    by_member: dict[int, list[OfficeHours]] = defaultdict(list)
    for hours in OfficeHours.objects.order_by("weekday", "starts_at", "pk"):
        if hours.organisation_id is not None:
            by_organisation[hours.organisation_id].append(hours)
        elif hours.member_id is not None:  # one owner or the other (a check constraint)
            by_member[hours.member_id].append(hours)
    return by_organisation, by_member


def guide(*, theme: str = "", commune: str = "") -> list[GuideTheme]:
    """The guide: themes (in their order) → communes (alphabetical) → entries (by name).

    `theme` (a slug) and `commune` narrow it. Themes without any entry are left out.
    """
    chosen = themes()
    if theme:
        chosen = chosen.filter(slug=theme)
    theme_list = list(chosen)
    ids = [t.pk for t in theme_list]
    hours_of_organisation, hours_of_member = _hours_by_owner()
    grouped: dict[int, dict[str, list[GuideEntry]]] = {pk: defaultdict(list) for pk in ids}

    organisation_links = OrganisationTheme.objects.filter(theme_id__in=ids).select_related(
        "organisation", "organisation__parent"
    )
    for link in organisation_links:
        org = link.organisation
        place = org.commune or NO_COMMUNE
        name = f"{org.parent.name} — {org.name}" if org.parent else org.name
        grouped[link.theme_id][place].append(
            GuideEntry(
                kind="organisation",
                code=org.code,
                name=name,
                role=str(org.get_kind_display()),
                note=link.note,
                address=" ".join(p for p in (org.address, org.postcode, org.commune) if p),
                phone=org.phone,
                email=org.email,
                office_hours=hours_of_organisation.get(org.pk, []),
            )
        )

    memberships = Membership.objects.select_related("organisation").order_by("organisation__name")
    member_links = (
        MemberTheme.objects.filter(theme_id__in=ids, member__is_active=True)
        .select_related("member", "member__user")
        .prefetch_related(Prefetch("member__memberships", queryset=memberships))
    )
    for member_link in member_links:
        person = member_link.member
        organisations = [m.organisation for m in person.memberships.all()]
        places = sorted({o.commune for o in organisations if o.commune}) or [NO_COMMUNE]
        for place in places:
            grouped[member_link.theme_id][place].append(
                GuideEntry(
                    kind="member",
                    code=person.code,
                    name=f"{person.family_name.upper()} {person.given_name}",
                    role=str(person.get_profession_display())
                    + (f" ({person.specialty})" if person.specialty else ""),
                    note=member_link.note,
                    address="",
                    phone=person.phone,
                    email=person.user.email,
                    office_hours=hours_of_member.get(person.pk, []),
                    organisations=[o.name for o in organisations],
                )
            )

    result = []
    for item in theme_list:
        communes = [
            GuideCommune(
                name, sorted(entries, key=lambda e: (e.kind != "organisation", e.name.lower()))
            )
            for name, entries in sorted(
                grouped[item.pk].items(), key=lambda pair: (pair[0] == NO_COMMUNE, pair[0])
            )
            if not commune or name == commune
        ]
        if communes:
            result.append(GuideTheme(item, communes))
    return result


def guide_communes() -> list[str]:
    """Communes that appear in the guide, for the filter."""
    values = Organisation.objects.exclude(commune="").values_list("commune", flat=True)
    return sorted(set(values))


def cpts_name() -> str:
    cpts = Organisation.objects.filter(kind=Organisation.Kind.CPTS).order_by("pk").first()
    return cpts.name if cpts else _("CPTS")


def organisation_guide(
    organisation: Organisation,
) -> tuple[list[OrganisationTheme], list[OfficeHours]]:
    links = list(
        OrganisationTheme.objects.filter(organisation=organisation)
        .select_related("theme")
        .order_by("theme__position", "theme__name")
    )
    return links, list(OfficeHours.objects.filter(organisation=organisation))


def member_guide(member: Member) -> tuple[list[MemberTheme], list[OfficeHours]]:
    links = list(
        MemberTheme.objects.filter(member=member)
        .select_related("theme")
        .order_by("theme__position", "theme__name")
    )
    return links, list(OfficeHours.objects.filter(member=member))


def may_edit_organisation_guide(actor: Member, organisation: Organisation) -> bool:
    """The coordination, or an administrator of that organisation."""
    if is_coordinator(actor):
        return True
    return Membership.objects.filter(
        member=actor, organisation=organisation, role=Membership.Role.ADMIN
    ).exists()
