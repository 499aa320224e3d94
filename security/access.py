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
sensitive (the audit trail) use `require_coordinator`, which also answers 404.
"""

from __future__ import annotations

from typing import Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Model, QuerySet

from directory.models import Member
from directory.selectors import is_directory_admin
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


def is_coordinator(member: Member | None) -> bool:
    """Whether `member` belongs to the CPTS coordination (an admin of a CPTS organisation).

    The coordination runs the CPTS: it keeps the directory and answers for the audit trail.
    It sees no patient data by virtue of that role.
    """
    if member is None or not member.is_active:
        return False
    return is_directory_admin(member)


def require_coordinator(member: Member | None, *, what: str) -> None:
    """Raise NotFound (404) naming only `what` unless `member` belongs to the coordination.

    404 rather than 403 for resources such as the audit trail: a refusal would still tell
    the caller what the resource is about, and the trail reveals who touched which
    patient's records.
    """
    if not is_coordinator(member):
        raise NotFound(what)
