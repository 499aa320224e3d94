"""Access rules that several apps share: written once here, called by each app's selectors.

The pattern every `access_<thing>(member, code)` follows (STYLE §2.5):

    def access_liaison_sheet(member: Member, code: UUID | str) -> LiaisonSheet:
        sheet = get_or_not_found(
            liaison_sheets_visible_to(member), "liaison sheet", code=code
        )
        audit.record(actor=member, action=actions.LIAISON_SHEET_READ, target=sheet)
        return sheet

The lookup starts from the member's visible queryset, so "missing" and "forbidden" are the
same miss and raise the same NotFound (404): a 403 would confirm that the object exists, and
for a patient's sheet that alone is health data. Role-gated resources whose mere content is
sensitive (the audit trail) use `directory.selectors.require_coordinator`, which also answers
404.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet

from security.exceptions import NotFound

M = TypeVar("M", bound=Model)


def get_or_not_found(queryset: QuerySet[M], what: str, **lookup: Any) -> M:
    """The one object of `queryset` matching `lookup`, or NotFound naming only `what`.

    A malformed lookup value (a code that is not a UUID) is a miss too, not a 400 or a 500:
    the caller learns nothing more from a typo than from a forbidden object.
    """
    try:
        return queryset.get(**lookup)
    except (ObjectDoesNotExist, ValueError, ValidationError):
        raise NotFound(what) from None
