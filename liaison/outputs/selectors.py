"""Reads of the outputs that are not the sheet itself (the sheet goes through access_sheet)."""

from __future__ import annotations

import uuid
from datetime import date

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import (
    access_organisation,
    members_visible_to,
    organisations_visible_to,
)
from directory.selectors import require_coordinator as directory_require_coordinator
from liaison.outputs.indicators import Indicators, liaison_indicators
from security.exceptions import FieldErrors, NotFound


def members_by_identifiers(
    member: Member, *, codes: list[str], rpps: list[str]
) -> QuerySet[Member]:
    """Active members named in an imported document, by our id or by their RPPS."""
    valid_codes = []
    for code in codes:
        try:
            valid_codes.append(uuid.UUID(code))
        except ValueError:
            continue
    return members_visible_to(member).filter(
        Q(code__in=valid_codes) | Q(rpps__in=[r for r in rpps if r])
    )


def require_coordinator(member: Member) -> None:
    """NotFound (404) naming the indicators unless `member` coordinates the CPTS (the rule
    and its cache: directory.selectors)."""
    directory_require_coordinator(member, what="indicators")


def access_liaison_indicators(
    member: Member,
    *,
    start: date,
    end: date,
    organisation: uuid.UUID | str | None = None,
    counters: dict[str, tuple[str, str]] | None = None,
) -> Indicators:
    """The coordinator's monthly indicators; NotFound (404) for anyone else.

    They hold no patient data, but they are the CPTS's management figures: only the
    coordination team (directory admins) sees them, and to others the page does not exist.
    """
    require_coordinator(member)
    chosen = None
    if organisation:
        try:
            chosen = access_organisation(member, organisation)
        except NotFound:
            raise FieldErrors({"organisation": [_("Organisation inconnue.")]}) from None
    return liaison_indicators(start=start, end=end, organisation=chosen, counters=counters)


def organisations_for_filter(member: Member) -> QuerySet[Organisation]:
    """The organisations a coordinator may filter the indicators on (services excluded:
    choosing a hospital includes its services)."""
    return organisations_visible_to(member).exclude(kind=Organisation.Kind.HOSPITAL_SERVICE)
