"""Scheduled jobs: reading reminders, review warnings, "revue en retard". Two runs, one message."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils.timezone import localdate, now

from protocols import tasks
from protocols.models import ProtocolVersion
from protocols.services import participation, reminders
from tests.protocols.conftest import days_ago, publish_next
from worker.models import Notification

pytestmark = pytest.mark.django_db


def count(event: str, member) -> int:
    return Notification.objects.filter(event=event, recipient=member).count()


@pytest.fixture
def with_participants(demo, published):
    def make(**content):
        version = published(**content)
        for username, role in (
            ("dr.martin", "delegant"),
            ("ide.petit", "delegate"),
            ("pharma.durand", "delegate"),
        ):
            participation.register_participant(
                actor=demo["coord"],
                protocol=version.protocol,
                member=demo[username],
                role=role,
                training_declared=True,
            )
        return version

    return make


def test_participants_who_have_not_read_a_new_version_are_reminded_once(
    demo, with_participants, settings
) -> None:
    settings.PROTOCOL_ACK_REMINDER_DAYS = 7
    version = with_participants()
    participation.acknowledge_version(actor=demo["ide.petit"], version=version)
    assert reminders.remind_unacknowledged_versions(at=now() + timedelta(days=6)) == 0
    later = now() + timedelta(days=8)
    assert reminders.remind_unacknowledged_versions(at=later) == 2
    assert reminders.remind_unacknowledged_versions(at=later) == 0  # idempotent
    assert (
        reminders.remind_unacknowledged_versions(at=later + timedelta(days=30)) == 0
    )  # once per version
    assert count("protocols.acknowledgement_reminder", demo["dr.martin"]) == 1
    assert count("protocols.acknowledgement_reminder", demo["pharma.durand"]) == 1
    assert count("protocols.acknowledgement_reminder", demo["ide.petit"]) == 0


def test_a_new_version_brings_a_new_reminder(demo, with_participants) -> None:
    version = with_participants()
    with time_machine.travel(now() + timedelta(days=10)):
        assert reminders.remind_unacknowledged_versions() == 3
        publish_next(demo, version, steps="1. Changé.")
    with time_machine.travel(now() + timedelta(days=25)):
        assert reminders.remind_unacknowledged_versions() == 3
    assert count("protocols.acknowledgement_reminder", demo["dr.martin"]) == 2


def test_a_member_who_just_registered_is_not_reminded_at_once(demo, published) -> None:
    version = published()
    with time_machine.travel(now() + timedelta(days=20)):
        participation.register_participant(
            actor=demo["dr.martin"],
            protocol=version.protocol,
            member=demo["dr.martin"],
            role="delegant",
        )
        assert reminders.remind_unacknowledged_versions() == 0
    with time_machine.travel(now() + timedelta(days=28)):
        assert reminders.remind_unacknowledged_versions() == 1


def test_authors_are_warned_thirty_days_before_the_review_date(demo, published) -> None:
    version = published(review_date=localdate() + timedelta(days=45))
    assert reminders.warn_upcoming_reviews() == 0
    with time_machine.travel(now() + timedelta(days=16)):
        assert reminders.warn_upcoming_reviews() == 1
        assert reminders.warn_upcoming_reviews() == 0
    assert count("protocols.review_due_soon", demo["coord"]) == 1
    version.refresh_from_db()
    assert version.review_warned_at is not None


def test_a_protocol_past_its_review_date_is_marked_late_everywhere(
    demo, client_for, published
) -> None:
    version = published(review_date=localdate() + timedelta(days=3))
    protocol = version.protocol
    assert reminders.mark_overdue_reviews() == 0
    with time_machine.travel(now() + timedelta(days=5)):
        assert tasks.mark_overdue_reviews() == 1  # the task runs the service
        assert tasks.mark_overdue_reviews() == 0
        assert count("protocols.review_overdue", demo["coord"]) == 1

        api = client_for(demo["ide.petit"])
        listed = api.get("/api/v1/protocols/").json()["results"]
        assert listed[0]["review_overdue"] is True
        assert api.get(f"/api/v1/protocols/{protocol.code}/").json()["review_overdue"] is True
        assert api.get("/api/v1/protocols/?review_overdue=true").json()["count"] == 1
        assert api.get("/api/v1/protocols/?review_overdue=false").json()["count"] == 0

        web = Client()
        web.force_login(demo["ide.petit"].user)
        assert "revue en retard" in web.get("/protocoles/").content.decode()
        assert "Revue en retard" in web.get(f"/protocoles/{protocol.code}/").content.decode()
    version.refresh_from_db()
    assert version.review_overdue_at is not None


def test_only_versions_in_force_are_chased(demo, published) -> None:
    version = published(review_date=days_ago(10))
    publish_next(demo, version, review_date=localdate() + timedelta(days=400))
    assert reminders.mark_overdue_reviews() == 0
    assert ProtocolVersion.objects.filter(review_overdue_at__isnull=False).count() == 0


def test_the_tasks_run_the_services(demo, published) -> None:
    published()
    assert tasks.remind_unacknowledged_versions() == 0
    assert tasks.warn_upcoming_reviews() == 0
