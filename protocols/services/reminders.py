"""Scheduled jobs of the protocols: reading reminders and review dates.

Each job selects due rows in bounded batches, claims each one with a conditional UPDATE of its
marker, notifies, and returns how many it handled. A beat that fires twice, or two workers
running the same job, therefore send one reminder per item. On PostgreSQL the batch is read
with SELECT ... FOR UPDATE SKIP LOCKED so concurrent runs split the work.

- remind_unacknowledged_versions: participants who have not acknowledged the version in
  force PROTOCOL_ACK_REMINDER_DAYS days after its publication (or after their registration)
  are reminded once per version (marker: Participation.reminded_version).
- warn_upcoming_reviews: the authors hear PROTOCOL_REVIEW_WARNING_DAYS (30) days before the
  review date of the version in force (marker: ProtocolVersion.review_warned_at).
- mark_overdue_reviews: the day after the review date the version is marked "revue en
  retard" (ProtocolVersion.review_overdue_at) and its authors and the coordination are told.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils.timezone import localdate, now

from directory.selectors import coordinators
from protocols import events
from protocols.models import Acknowledgement, Participation, ProtocolVersion
from worker.services import notify

logger = logging.getLogger(__name__)
VersionStatus = ProtocolVersion.Status
BATCH = 200


def _locked(queryset: QuerySet) -> list:
    if connection.features.has_select_for_update_skip_locked:
        queryset = queryset.select_for_update(skip_locked=True, of=("self",))
    return list(queryset[:BATCH])


def _claim(version: ProtocolVersion, marker: str, at: datetime) -> bool:
    return (
        ProtocolVersion.objects.filter(pk=version.pk, **{f"{marker}__isnull": True}).update(
            **{marker: at}
        )
        == 1
    )


@transaction.atomic
def remind_unacknowledged_versions(*, at: datetime | None = None) -> int:
    """One reminder per participant and version in force still not acknowledged after N days."""
    at = at or now()
    limit = at - timedelta(days=settings.PROTOCOL_ACK_REMINDER_DAYS)
    acknowledged = Acknowledgement.objects.filter(
        version_id=OuterRef("protocol__current_version_id"), member_id=OuterRef("member_id")
    )
    candidates = (
        Participation.objects.filter(
            ended_at__isnull=True,
            member__is_active=True,
            registered_at__lte=limit,
            protocol__current_version__isnull=False,
            protocol__current_version__published_at__lte=limit,
        )
        .exclude(Exists(acknowledged))
        .exclude(reminded_version_id=F("protocol__current_version_id"))
        .select_related("member", "protocol", "protocol__current_version")
        .order_by("pk")
    )
    handled = 0
    for participation in _locked(candidates):
        version = participation.protocol.current_version
        claimed = (
            Participation.objects.filter(pk=participation.pk)
            .exclude(reminded_version=version)
            .update(reminded_version=version, reminded_at=at)
        )
        if claimed:
            notify(
                event=events.ACKNOWLEDGEMENT_REMINDER,
                recipients=[participation.member],
                actor=None,
                target=participation.protocol,
                url=events.protocol_url(participation.protocol),
            )
            handled += 1
    logger.info("protocols: %d acknowledgement reminders", handled)
    return handled


def _published_with_review_date() -> QuerySet[ProtocolVersion]:
    return ProtocolVersion.objects.filter(
        status=VersionStatus.PUBLISHED, review_date__isnull=False
    ).select_related("protocol", "author", "protocol__created_by")


@transaction.atomic
def warn_upcoming_reviews(*, at: datetime | None = None) -> int:
    """Tell the authors, once, that the review date of a version in force is near."""
    at = at or now()
    today = localdate(at)
    horizon = today + timedelta(days=settings.PROTOCOL_REVIEW_WARNING_DAYS)
    candidates = _published_with_review_date().filter(
        review_date__gte=today, review_date__lte=horizon, review_warned_at__isnull=True
    )
    handled = 0
    for version in _locked(candidates.order_by("review_date", "pk")):
        if _claim(version, "review_warned_at", at):
            notify(
                event=events.REVIEW_DUE_SOON,
                recipients=[version.author, version.protocol.created_by],
                actor=None,
                target=version.protocol,
                url=events.protocol_url(version.protocol),
            )
            handled += 1
    logger.info("protocols: %d upcoming reviews announced", handled)
    return handled


@transaction.atomic
def mark_overdue_reviews(*, at: datetime | None = None) -> int:
    """Mark "revue en retard" the versions in force past their review date, and say so once."""
    at = at or now()
    candidates = _published_with_review_date().filter(
        review_date__lt=localdate(at), review_overdue_at__isnull=True
    )
    handled = 0
    for version in _locked(candidates.order_by("review_date", "pk")):
        if _claim(version, "review_overdue_at", at):
            notify(
                event=events.REVIEW_OVERDUE,
                recipients=[version.author, version.protocol.created_by, *coordinators()],
                actor=None,
                target=version.protocol,
                url=events.protocol_url(version.protocol),
            )
            handled += 1
    logger.info("protocols: %d reviews marked overdue", handled)
    return handled
