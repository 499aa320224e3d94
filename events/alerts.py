"""Scheduled jobs of the agenda, on the liaison alerts' pattern: bounded batches, a marker on the
event claimed by a conditional UPDATE (two beats, or two workers, send one batch), the message
through the notification outbox, which names no patient (events.events).

- the day before: everyone registered is reminded (EVENTS_REMINDER_HOURS ahead);
- once ended: everyone who came gets the survey; EVENTS_SURVEY_REMINDER_DAYS later, those
  who have not answered get one reminder (the registration's flag, never the answer).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils.timezone import now

from directory.models import Member
from events import events
from events.models import Event, Registration
from worker.services import notify

BATCH = 200
# Past this, an event ended too long ago gets no survey (a job that was down for weeks).
SURVEY_WINDOW = timedelta(days=7)


def _claim(event: Event, marker: str, at: datetime) -> bool:
    claimed = Event.objects.filter(pk=event.pk, **{f"{marker}__isnull": True})
    return claimed.update(**{marker: at}) == 1


def _members(event: Event, **conditions: object) -> list[Member]:
    rows = Registration.objects.filter(
        event=event, status=Registration.Status.REGISTERED, member__isnull=False, **conditions
    ).select_related("member")
    return [row.member for row in rows if row.member is not None]


@transaction.atomic
def send_reminders(*, at: datetime | None = None) -> int:
    """Events starting within EVENTS_REMINDER_HOURS: remind the registered, once."""
    at = at or now()
    soon = at + timedelta(hours=settings.EVENTS_REMINDER_HOURS)
    due = Event.objects.filter(
        status=Event.Status.SCHEDULED,
        reminder_sent_at__isnull=True,
        starts_at__gt=at,
        starts_at__lte=soon,
    ).order_by("starts_at", "pk")[:BATCH]
    told = 0
    for event in due:
        if _claim(event, "reminder_sent_at", at):
            told += len(notify(event=events.REMINDER, recipients=_members(event), actor=None,
                               target=event, url=events.event_url(event)))  # fmt: skip
    return told


@transaction.atomic
def send_surveys(*, at: datetime | None = None) -> int:
    """Events that ended (within a week): the survey to everyone who came, once."""
    at = at or now()
    ended = Event.objects.filter(
        status=Event.Status.SCHEDULED,
        survey_sent_at__isnull=True,
        ends_at__lte=at,
        ends_at__gt=at - SURVEY_WINDOW,
    ).order_by("ends_at", "pk")[:BATCH]
    told = 0
    for event in ended:
        if _claim(event, "survey_sent_at", at):
            came = _members(event, attended_at__isnull=False)
            told += len(notify(event=events.SURVEY, recipients=came, actor=None, target=event,
                               url=events.survey_url(event)))  # fmt: skip
    return told


@transaction.atomic
def remind_surveys(*, at: datetime | None = None) -> int:
    """The survey's one reminder, to those who came and have not answered."""
    at = at or now()
    wait = timedelta(days=settings.EVENTS_SURVEY_REMINDER_DAYS)
    due = Event.objects.filter(
        survey_sent_at__isnull=False, survey_sent_at__lte=at - wait,
        survey_reminded_at__isnull=True,
    ).order_by("survey_sent_at", "pk")[:BATCH]  # fmt: skip
    told = 0
    for event in due:
        if _claim(event, "survey_reminded_at", at):
            silent = _members(event, attended_at__isnull=False, survey_answered=False)
            told += len(notify(event=events.SURVEY_REMINDER, recipients=silent, actor=None,
                               target=event, url=events.survey_url(event)))  # fmt: skip
    return told
