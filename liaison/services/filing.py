"""Filing ("Classer"): a member puts away a sheet they have dealt with.

A filed sheet leaves the member's "À traiter" list and stays under "Classées"; un-filing
brings it back. Per member: a colleague of the same service still has it to handle. Both
are idempotent (filing twice keeps the first time and records one audit entry) and audited.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from directory.models import Member
from liaison import actions
from liaison.models import LiaisonSheet, SheetFiling
from liaison.services.transitions import mark_read
from security import audit
from security.exceptions import InvalidTransition
from worker.services import mark_target_notifications_read

SheetStatus = LiaisonSheet.Status

# A referral still waiting for the service's answer is not something to put away yet.
AWAITING_ANSWER = (SheetStatus.SENT, SheetStatus.RECEIVED)


def can_file(sheet: LiaisonSheet) -> bool:
    """A received discharge letter, or a referral that was answered, may be filed."""
    if sheet.status == SheetStatus.DRAFT:
        return False
    return not (sheet.is_referral and sheet.status in AWAITING_ANSWER)


@transaction.atomic
def file_sheet(*, actor: Member, sheet: LiaisonSheet) -> bool:
    """File `sheet` for `actor` (who may see it: the caller used access_sheet).

    Returns True if this call filed it, False if it already was. Filing also marks the
    member's notifications about it read: it no longer needs them. 409 for a draft or a
    referral still awaiting its answer.
    """
    if sheet.status == SheetStatus.DRAFT:
        raise InvalidTransition(_("Un brouillon ne se classe pas."))
    if not can_file(sheet):
        raise InvalidTransition(
            _("Cette fiche attend encore la réponse du service : elle ne peut pas être classée.")
        )
    mark_target_notifications_read(actor=actor, target=sheet)
    if SheetFiling.objects.filter(sheet=sheet, member=actor).exists():
        return False
    try:
        with transaction.atomic():
            SheetFiling.objects.create(sheet=sheet, member=actor)
    except IntegrityError:  # filed by a concurrent request of the same member
        return False
    audit.record(actor=actor, action=actions.SHEET_FILE, target=sheet)
    return True


@transaction.atomic
def unfile_sheet(*, actor: Member, sheet: LiaisonSheet) -> bool:
    """Put a filed sheet back in the member's lists; True if it was filed."""
    deleted, _rows = SheetFiling.objects.filter(sheet=sheet, member=actor).delete()
    if deleted:
        audit.record(actor=actor, action=actions.SHEET_UNFILE, target=sheet)
    return bool(deleted)


def open_sheet(*, actor: Member, sheet: LiaisonSheet) -> bool:
    """The member opened the sheet: record their read receipt and mark read their
    notifications about it (the bell counts what still needs them). True if the receipt
    was recorded by this call."""
    mark_target_notifications_read(actor=actor, target=sheet)
    return mark_read(actor=actor, sheet=sheet)
