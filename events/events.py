"""Notification events of the agenda. A label names the actor, never the event's title (a case
meeting's may name its patient): the describer below says which event, and keeps a case
meeting's words out of e-mails."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from uuid import UUID

from django.urls import reverse
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from events.models import Event
from worker.events import (
    Attachment,
    Channel,
    Subject,
    register_area,
    register_describer,
    register_event,
)

register_area("events", _("Agenda de la CPTS"), order=40)

INVITED = register_event(
    "events.invited",
    _("{actor} vous invite à un événement de la CPTS"),
    default_channel=Channel.DIGEST,
).name
CANCELLED = register_event(
    "events.cancelled",
    _("Un événement auquel vous êtes inscrit est annulé par {actor}"),
    default_channel=Channel.EMAIL,
).name
TIME_CHANGED = register_event(
    "events.time_changed",
    _("{actor} a changé l'horaire d'un événement auquel vous êtes inscrit"),
    default_channel=Channel.EMAIL,
).name
PROMOTED = register_event(
    "events.promoted",
    _("Une place s'est libérée : vous êtes inscrit à l'événement"),
    default_channel=Channel.EMAIL,
).name
REMINDER = register_event(
    "events.reminder",
    _("Rappel : un événement de la CPTS a lieu demain"),
    default_channel=Channel.EMAIL,
).name
SURVEY = register_event(
    "events.survey",
    _("Donnez votre avis sur l'événement de la CPTS (questionnaire anonyme)"),
    default_channel=Channel.EMAIL,
).name
SURVEY_REMINDER = register_event(
    "events.survey_reminder",
    _("Rappel : votre avis sur l'événement de la CPTS (anonyme)"),
    default_channel=Channel.DIGEST,
).name


def events_for_notifications(codes: Collection[UUID], reader: Any) -> Mapping[UUID, Event]:
    """The events of a page of notifications that `reader` still sees, in one query."""
    from events.selectors import events_visible_to  # noqa: PLC0415

    return {event.code: event for event in events_visible_to(reader).filter(code__in=codes)}


def describe_event(name: str, event: Event) -> Subject:
    """ "Permanence sociale du 12/01/2027 à 14:00": its title and time, the new one after a
    change. A case meeting says only its kind and time, and stays out of e-mails."""
    when = localtime(event.starts_at).strftime("%d/%m/%Y %H:%M")
    if event.is_case_meeting:
        return Subject(
            gettext("Réunion de concertation du %(when)s") % {"when": when}, in_email=False
        )
    return Subject(gettext("%(title)s, le %(when)s") % {"title": event.title, "when": when})


# The e-mails that put an event in (or update it in) the member's calendar carry its .ics; the
# survey's do not. A case meeting's .ics says only its kind, time and place (events.ics).
CALENDAR_EVENTS = frozenset({INVITED, CANCELLED, TIME_CHANGED, PROMOTED, REMINDER})


def event_calendar_file(name: str, event: Event) -> Attachment | None:
    if name not in CALENDAR_EVENTS:
        return None
    from events.ics import calendar  # noqa: PLC0415  (ics imports the e-mail helpers)

    content = calendar([(event, event_url(event))])
    return Attachment("evenement.ics", content, "text/calendar; charset=utf-8; method=PUBLISH")


register_describer(
    Event._meta.label_lower,
    load=events_for_notifications,
    describe=describe_event,
    attach=event_calendar_file,
)


def event_url(event: Event) -> str:
    return reverse("event-detail", kwargs={"code": event.code})


def survey_url(event: Event) -> str:
    return reverse("event-survey", kwargs={"code": event.code})
