"""Scheduled alerts of the loop: nothing falls through when nobody acts.

Each job selects overdue rows in bounded batches, claims each one with a conditional UPDATE
of its marker (so two beats, or two workers, send one alert), notifies the people still
missing, and returns how many it handled. On PostgreSQL the batch is read with
SELECT ... FOR UPDATE SKIP LOCKED, so concurrent runs split the work instead of waiting.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.timezone import localdate, now

from directory.models import Member, Organisation
from directory.selectors import coordinators
from liaison import events
from liaison.models import LiaisonSheet, SheetParticipant
from liaison.selectors import participant_members, recipient_side_members
from worker.services import notify

logger = logging.getLogger(__name__)
SheetStatus = LiaisonSheet.Status
SheetKind = LiaisonSheet.Kind
BATCH = 200


def receipt_delay(urgency: str) -> timedelta:
    """How long a service has to take a referral, by urgency (settings, in minutes)."""
    minutes = settings.LIAISON_RECEIPT_DELAY_MINUTES.get(urgency or "routine")
    return timedelta(minutes=minutes or settings.LIAISON_RECEIPT_DELAY_MINUTES["routine"])


def _locked(queryset: QuerySet[LiaisonSheet]) -> list[LiaisonSheet]:
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(queryset[:BATCH])


def _claim(sheet: LiaisonSheet, marker: str, at: datetime) -> bool:
    return (
        LiaisonSheet.objects.filter(pk=sheet.pk, **{f"{marker}__isnull": True}).update(
            **{marker: at}
        )
        == 1
    )


def _service(sheet: LiaisonSheet) -> list[Organisation]:
    """The recipient service of a referral, as an alert names it."""
    return [sheet.recipient_organisation] if sheet.recipient_organisation else []


def _alert(
    event: str,
    members: list[Member],
    sheet: LiaisonSheet,
    *,
    missing: Sequence[Member | Organisation],
) -> None:
    """An alert of a job: nobody acted, so no actor; `missing` names who is still expected."""
    notify(
        event=event,
        recipients=members,
        actor=None,
        target=sheet,
        url=events.sheet_url(sheet),
        mentions=missing,
    )


@transaction.atomic
def alert_unreceived_referrals(*, at: datetime | None = None) -> int:
    """Referrals nobody took in time: alert the service, then escalate to the coordinator."""
    at = at or now()
    handled = 0
    shortest = min(settings.LIAISON_RECEIPT_DELAY_MINUTES.values())
    candidates = LiaisonSheet.objects.filter(
        kind=SheetKind.REFERRAL,
        status=SheetStatus.SENT,
        sent_at__lte=at - timedelta(minutes=shortest),
    ).filter(Q(receipt_alerted_at__isnull=True) | Q(receipt_escalated_at__isnull=True))
    for sheet in _locked(candidates.order_by("sent_at")):
        delay = receipt_delay(sheet.urgency)
        assert sheet.sent_at is not None
        if sheet.receipt_alerted_at is None:
            if sheet.sent_at <= at - delay and _claim(sheet, "receipt_alerted_at", at):
                _alert(
                    events.REFERRAL_NOT_RECEIVED,
                    recipient_side_members(sheet),
                    sheet,
                    missing=_service(sheet),
                )
                handled += 1
        elif sheet.sent_at <= at - 2 * delay and _claim(sheet, "receipt_escalated_at", at):
            # The coordinator calls the service: name it and the members who could take it.
            _alert(
                events.REFERRAL_ESCALATED,
                coordinators(),
                sheet,
                missing=[*_service(sheet), *recipient_side_members(sheet)],
            )
            handled += 1
    logger.info("liaison alerts: %d unreceived referrals handled", handled)
    return handled


@transaction.atomic
def remind_missing_discharge_letters(*, at: datetime | None = None) -> int:
    """Accepted referrals past their planned date (plus a grace period) with no letter sent."""
    at = at or now()
    limit = localdate(at) - timedelta(days=settings.LIAISON_DISCHARGE_GRACE_DAYS)
    sent_letter = LiaisonSheet.objects.filter(referral=OuterRef("pk"), status=SheetStatus.SENT)
    candidates = LiaisonSheet.objects.filter(
        kind=SheetKind.REFERRAL,
        status=SheetStatus.ACCEPTED,
        planned_date__lt=limit,
        discharge_reminded_at__isnull=True,
    ).exclude(Exists(sent_letter))
    handled = 0
    for sheet in _locked(candidates.order_by("planned_date")):
        if _claim(sheet, "discharge_reminded_at", at):
            _alert(
                events.DISCHARGE_MISSING,
                recipient_side_members(sheet),
                sheet,
                missing=_service(sheet),
            )
            handled += 1
    logger.info("liaison alerts: %d missing discharge letters reminded", handled)
    return handled


@transaction.atomic
def alert_late_discharge_letters(*, at: datetime | None = None) -> int:
    """Letters still in draft after the day of discharge (R1112-1-2: the same day).

    First versions only: a later version completes a letter already sent (results arrived
    after discharge); its draft starting after the discharge date is expected, not late.
    The alert names the recipients still waiting for the letter.
    """
    at = at or now()
    candidates = LiaisonSheet.objects.filter(
        kind=SheetKind.DISCHARGE,
        status=SheetStatus.DRAFT,
        previous_version__isnull=True,
        discharge_date__lt=localdate(at),
        late_discharge_alerted_at__isnull=True,
    )
    handled = 0
    for sheet in _locked(candidates.order_by("discharge_date")):
        if _claim(sheet, "late_discharge_alerted_at", at):
            _alert(
                events.DISCHARGE_LATE,
                [sheet.author],
                sheet,
                missing=participant_members(sheet),
            )
            handled += 1
    logger.info("liaison alerts: %d late discharge letters", handled)
    return handled


@transaction.atomic
def remind_unread_discharge_letters(*, at: datetime | None = None) -> int:
    """Recipients who have not read a discharge letter after N days get one reminder.

    Only the newest sent version of a letter is chased: once a later version is sent, the
    recipient reads that one (it shows what changed), and the old one is not reminded.
    The letter's author is told, once per run, which recipients have still not read it.
    """
    at = at or now()
    superseded = LiaisonSheet.objects.filter(previous_version=OuterRef("sheet_id")).exclude(
        status=SheetStatus.DRAFT
    )
    candidates = (
        SheetParticipant.objects.filter(
            sheet__kind=SheetKind.DISCHARGE,
            sheet__status=SheetStatus.SENT,
            read_at__isnull=True,
            reminded_at__isnull=True,
            sheet__sent_at__lte=at - timedelta(days=settings.LIAISON_UNREAD_REMINDER_DAYS),
        )
        .exclude(Exists(superseded))
        .select_related("sheet__sender_organisation", "sheet__author", "member")
    )
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True, of=("self",))
    handled = 0
    reminded_sheets: dict[int, LiaisonSheet] = {}
    for participant in list(candidates.order_by("pk")[:BATCH]):
        claimed = SheetParticipant.objects.filter(
            pk=participant.pk, reminded_at__isnull=True
        ).update(reminded_at=at)
        if claimed:
            _alert(
                events.DISCHARGE_UNREAD,
                [participant.member],
                participant.sheet,
                missing=[participant.sheet.sender_organisation],
            )
            reminded_sheets[participant.sheet_id] = participant.sheet
            handled += 1
    for sheet in reminded_sheets.values():
        _alert(
            events.DISCHARGE_UNREAD_BY,
            [sheet.author],
            sheet,
            missing=participant_members(sheet, unread_only=True),
        )
    logger.info("liaison alerts: %d unread discharge letters reminded", handled)
    return handled
