"""Scheduled alerts of tele-expertise, on the liaison alerts' pattern (liaison.services.alerts):
bounded batches, a marker claimed by conditional UPDATE (two beats send one alert), the
notification through the outbox naming who is missing, never the patient.

- not taken within half its answer delay: the expert service; within the whole delay (it
  is now late): the coordinator, naming the service and its members;
- answered and not opened by the requester after N days: the requester, naming the expert.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.timezone import now

from directory.selectors import coordinators
from liaison.expertise import events
from liaison.models import ExpertiseRequest, LiaisonSheet
from liaison.selectors import recipient_side_members
from liaison.services.alerts import BATCH, _alert, _service

logger = logging.getLogger(__name__)
Status = LiaisonSheet.Status


def _locked(queryset: QuerySet[ExpertiseRequest]) -> list[ExpertiseRequest]:
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(queryset[:BATCH])


def _claim(detail: ExpertiseRequest, marker: str, at: datetime) -> bool:
    claimed = ExpertiseRequest.objects.filter(pk=detail.pk, **{f"{marker}__isnull": True})
    return claimed.update(**{marker: at}) == 1


@transaction.atomic
def alert_untaken_requests(*, at: datetime | None = None) -> int:
    """Requests nobody took: the service at half the delay, the coordinator at the due date."""
    at = at or now()
    handled = 0
    candidates = (
        ExpertiseRequest.objects.filter(sheet__status=Status.SENT, due_at__isnull=False)
        .filter(take_escalated_at__isnull=True)
        .select_related("sheet__recipient_organisation", "sheet__author")
        .order_by("due_at", "pk")
    )
    for detail in _locked(candidates):
        sheet = detail.sheet
        assert detail.due_at is not None
        assert detail.first_sent_at is not None
        half = detail.first_sent_at + (detail.due_at - detail.first_sent_at) / 2
        if detail.take_alerted_at is None:
            if half <= at and _claim(detail, "take_alerted_at", at):
                _alert(events.NOT_TAKEN, recipient_side_members(sheet), sheet,
                       missing=_service(sheet))  # fmt: skip
                handled += 1
        elif detail.due_at <= at and _claim(detail, "take_escalated_at", at):
            _alert(events.ESCALATED, coordinators(), sheet,
                   missing=[*_service(sheet), *recipient_side_members(sheet)])  # fmt: skip
            handled += 1
    logger.info("expertise alerts: %d untaken requests handled", handled)
    return handled


@transaction.atomic
def remind_unread_answers(*, at: datetime | None = None) -> int:
    """An answer its requester has not opened after N days: remind them, once."""
    at = at or now()
    days = timedelta(days=settings.EXPERTISE_UNREAD_REMINDER_DAYS)
    candidates = (
        ExpertiseRequest.objects.filter(
            sheet__status=Status.ANSWERED,
            answer_read_at__isnull=True,
            answer_reminded_at__isnull=True,
            answered_at__lte=at - days,
        )
        .select_related("sheet__author", "sheet__recipient_organisation", "answered_by")
        .order_by("answered_at", "pk")
    )
    handled = 0
    for detail in _locked(candidates):
        if _claim(detail, "answer_reminded_at", at):
            missing = [detail.sheet.author]
            _alert(events.ANSWER_UNREAD, [detail.sheet.author], detail.sheet, missing=missing)
            handled += 1
    logger.info("expertise alerts: %d unread answers reminded", handled)
    return handled
