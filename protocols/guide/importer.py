"""The guide's part of the directory CSV import: the `themes` column.

The import itself belongs to the directory (directory/importer.py); the directory does not
know the guide's themes, so the guide registers this column there (ProtocolsConfig.ready).
A row names its themes by slug or by name, separated by `|`; an unknown theme rejects the
row, and the links are created in the row's savepoint, after its organisation or member.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from directory.importer import ExtraColumn, RowRejected
from directory.models import Member, Organisation
from protocols.guide.selectors import themes_with_slugs
from protocols.models import MemberTheme, OrganisationTheme, Theme


def parse_themes(row: dict[str, str]) -> list[Theme]:
    names = [part for part in re.split(r"[|]", row.get("themes", "")) if part.strip()]
    known, unknown = themes_with_slugs(names)
    if unknown:
        raise RowRejected([_("themes : thème inconnu « %(t)s ».") % {"t": ", ".join(unknown)}])
    return known


def save_themes(entry: Organisation | Member, themes: list[Theme]) -> None:
    if isinstance(entry, Organisation):
        OrganisationTheme.objects.bulk_create(
            OrganisationTheme(organisation=entry, theme=theme) for theme in themes
        )
    else:
        MemberTheme.objects.bulk_create(MemberTheme(member=entry, theme=theme) for theme in themes)


THEMES_COLUMN = ExtraColumn("themes", parse=parse_themes, save=save_themes)
