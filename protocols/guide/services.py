"""Writes on the resource guide: themes, and the guide entry of an organisation or a member.

An entry (its themes with what is offered, and its weekly office hours) is replaced as a
whole: the form and the API send the complete entry, which makes a retried request
harmless. Organisations are edited by the coordination or their own administrators; a
member edits their own entry, the coordination anyone's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import is_coordinator
from protocols import actions
from protocols.guide.selectors import may_edit_organisation_guide
from protocols.models import MemberTheme, OfficeHours, OrganisationTheme, Theme
from security import audit
from security.exceptions import FieldErrors, PermissionDenied

MAX_HOURS = 30


def _text(value: object, limit: int) -> str:
    """Trimmed, bounded, and without NUL (PostgreSQL refuses it in text columns)."""
    return str(value or "").replace("\x00", "").strip()[:limit]


@dataclass(frozen=True)
class ThemeChoice:
    theme: Theme
    note: str = ""


@transaction.atomic
def create_theme(
    *, actor: Member | None, name: str, description: str = "", position: int = 100, slug: str = ""
) -> Theme:
    """A new heading of the guide (coordination only; actor None = demo/system)."""
    if actor is not None and not is_coordinator(actor):
        raise PermissionDenied(_("Seule la coordination gère les thèmes du guide."))
    name = _text(name, 120)
    if not name:
        raise FieldErrors({"name": [_("Le nom est obligatoire.")]})
    slug = slugify(slug or name)[:60]
    if not slug:
        raise FieldErrors({"name": [_("Ce nom ne donne pas d'identifiant utilisable.")]})
    try:
        with transaction.atomic():
            theme = Theme.objects.create(
                name=name, slug=slug, description=_text(description, 300), position=position
            )
    except IntegrityError:
        raise FieldErrors({"name": [_("Ce thème existe déjà.")]}) from None
    if actor is not None:
        audit.record(actor=actor, action=actions.GUIDE_THEME_CREATE, target=theme)
    return theme


def _clean_hours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    errors: dict[str, list[str]] = {}
    cleaned = []
    if len(rows) > MAX_HOURS:
        raise FieldErrors({"office_hours": [_("%(n)d permanences au plus.") % {"n": MAX_HOURS}]})
    for index, row in enumerate(rows):
        weekday, starts, ends = row.get("weekday"), row.get("starts_at"), row.get("ends_at")
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            errors[f"office_hours.{index}.weekday"] = [
                _("Jour invalide (0 = lundi … 6 = dimanche).")
            ]
        if not isinstance(starts, time) or not isinstance(ends, time):
            errors[f"office_hours.{index}.starts_at"] = [_("Horaires invalides.")]
        elif ends <= starts:
            errors[f"office_hours.{index}.ends_at"] = [_("La fin doit suivre le début.")]
        cleaned.append(
            {
                "weekday": weekday,
                "starts_at": starts,
                "ends_at": ends,
                "location": _text(row.get("location"), 200),
                "details": _text(row.get("details"), 200),
            }
        )
    if errors:
        raise FieldErrors(errors)
    return cleaned


@transaction.atomic
def set_organisation_guide(
    *,
    actor: Member | None,
    organisation: Organisation,
    themes: list[ThemeChoice],
    office_hours: list[dict[str, Any]],
) -> Organisation:
    """Replace an organisation's themes and office hours."""
    if actor is not None and not may_edit_organisation_guide(actor, organisation):
        raise PermissionDenied(
            _("Seuls la coordination et les administrateurs de la structure le peuvent.")
        )
    hours = _clean_hours(office_hours)
    OrganisationTheme.objects.filter(organisation=organisation).delete()
    OrganisationTheme.objects.bulk_create(
        OrganisationTheme(
            organisation=organisation, theme=choice.theme, note=_text(choice.note, 300)
        )
        for choice in {c.theme.pk: c for c in themes}.values()
    )
    OfficeHours.objects.filter(organisation=organisation).delete()
    OfficeHours.objects.bulk_create(OfficeHours(organisation=organisation, **row) for row in hours)
    if actor is not None:
        audit.record(
            actor=actor,
            action=actions.ORGANISATION_GUIDE_UPDATE,
            target=organisation,
            extra={"themes": len(themes), "hours": len(hours)},
        )
    return organisation


@transaction.atomic
def set_member_guide(
    *,
    actor: Member | None,
    member: Member,
    themes: list[ThemeChoice],
    office_hours: list[dict[str, Any]],
) -> Member:
    """Replace a member's themes and office hours (themselves or the coordination)."""
    if actor is not None and actor.pk != member.pk and not is_coordinator(actor):
        raise PermissionDenied(_("Vous ne pouvez modifier que votre propre fiche du guide."))
    hours = _clean_hours(office_hours)
    MemberTheme.objects.filter(member=member).delete()
    MemberTheme.objects.bulk_create(
        MemberTheme(member=member, theme=choice.theme, note=_text(choice.note, 300))
        for choice in {c.theme.pk: c for c in themes}.values()
    )
    OfficeHours.objects.filter(member=member).delete()
    OfficeHours.objects.bulk_create(OfficeHours(member=member, **row) for row in hours)
    if actor is not None:
        audit.record(
            actor=actor,
            action=actions.MEMBER_GUIDE_UPDATE,
            target=member,
            extra={"themes": len(themes), "hours": len(hours)},
        )
    return member
