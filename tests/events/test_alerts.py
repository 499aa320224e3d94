"""The agenda's scheduled jobs: the reminder the day before, the survey and its one reminder,
each sent once however often the job runs, and naming no patient."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from events import alerts
from events.events import describe_event
from tests.events.conftest import API, create, event_body
from worker.models import Notification

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def test_reminder_the_day_before_once(client_for, demo) -> None:
    with time_machine.travel("2027-03-01T10:00:00+01:00", tick=False):
        code = create(client_for(demo["coord"]), event_body())["id"]
        client_for(demo["dr.martin"]).post(f"{API}{code}/register/")
    assert alerts.send_reminders(at=at("2027-03-08T18:00")) == 0
    assert alerts.send_reminders(at=at("2027-03-09T18:30")) == 1
    assert alerts.send_reminders(at=at("2027-03-09T19:30")) == 0
    assert Notification.objects.filter(event="events.reminder").count() == 1


def test_survey_to_those_who_came_then_one_reminder(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    with time_machine.travel("2027-03-01T10:00:00+01:00", tick=False):
        code = create(coord, event_body())["id"]
        for name in ("dr.martin", "ide.petit"):
            client_for(demo[name]).post(f"{API}{code}/register/")
    with time_machine.travel("2027-03-10T18:30:00+01:00", tick=False):
        token = coord.get(f"{API}{code}/check-in-token/").json()["token"]
        for name in ("dr.martin", "ide.petit"):
            client_for(demo[name]).post(f"{API}check-in/", {"token": token})
    assert alerts.send_surveys(at=at("2027-03-10T19:00")) == 0  # not ended yet
    assert alerts.send_surveys(at=at("2027-03-10T21:00")) == 2
    assert alerts.send_surveys(at=at("2027-03-10T22:00")) == 0
    with time_machine.travel("2027-03-11T10:00:00+01:00", tick=False):
        answered = client_for(demo["dr.martin"]).post(
            f"{API}{code}/survey/",
            {"scores": dict.fromkeys(["usefulness", "organisation", "exchanges", "practice"], 4)},
            format="json",
        )
        assert answered.status_code == 200
    assert alerts.remind_surveys(at=at("2027-03-12T10:00")) == 0  # too early
    assert alerts.remind_surveys(at=at("2027-03-14T10:00")) == 1
    assert alerts.remind_surveys(at=at("2027-03-15T10:00")) == 0
    reminded = Notification.objects.get(event="events.survey_reminder")
    assert reminded.recipient == demo["ide.petit"]


def test_a_case_meeting_is_described_without_its_title_and_not_by_email(client_for, demo) -> None:
    with time_machine.travel("2027-03-01T10:00:00+01:00", tick=False):
        code = create(
            client_for(demo["dr.martin"]), event_body(kind="case_meeting", title="RCP Mme Lefèvre")
        )["id"]
    from events.models import Event

    subject = describe_event("events.reminder", Event.objects.get(code=code))
    assert "Lefèvre" not in subject.text
    assert subject.in_email is False


def reminder_email(client_for, demo, **body: object):
    """Create an event, register dr.martin, send the reminders and deliver his e-mail."""
    from django.core import mail

    from worker.dispatch import deliver_notification

    with time_machine.travel("2027-03-01T10:00:00+01:00", tick=False):
        code = create(client_for(demo["coord"]), event_body(**body))["id"]
        client_for(demo["dr.martin"]).post(f"{API}{code}/register/")
    assert alerts.send_reminders(at=at("2027-03-09T18:30")) == 1
    mail.outbox = []
    reminder = Notification.objects.get(event="events.reminder", recipient=demo["dr.martin"])
    deliver_notification(notification_id=reminder.pk, at=at("2027-03-09T18:31"))
    [email] = mail.outbox
    return email


def test_the_reminder_e_mail_carries_the_event_for_the_calendar(client_for, demo) -> None:
    email = reminder_email(client_for, demo, title="Permanence sociale")

    [(filename, content, mimetype)] = email.attachments
    assert filename == "evenement.ics"
    assert mimetype.startswith("text/calendar")
    assert "BEGIN:VEVENT" in content
    assert "SUMMARY:Permanence sociale" in content
    assert "DTSTART:20270310T" in content


def test_a_case_meetings_calendar_file_names_no_patient(client_for, demo) -> None:
    from events.events import event_calendar_file
    from events.models import Event

    with time_machine.travel("2027-03-01T10:00:00+01:00", tick=False):
        code = create(
            client_for(demo["dr.martin"]), event_body(kind="case_meeting", title="RCP Mme Lefèvre")
        )["id"]
    attachment = event_calendar_file("events.reminder", Event.objects.get(code=code))

    assert attachment is not None
    assert "Lefèvre" not in attachment.content
    assert "SUMMARY:Réunion de concertation pluriprofessionnelle" in attachment.content


def test_the_survey_e_mail_carries_no_calendar_file(client_for, demo) -> None:
    from events.events import event_calendar_file
    from events.models import Event

    with time_machine.travel("2027-03-01T10:00:00+01:00", tick=False):
        code = create(client_for(demo["coord"]), event_body())["id"]
    event = Event.objects.get(code=code)
    assert event_calendar_file("events.survey", event) is None
    assert event_calendar_file("events.cancelled", event) is not None
