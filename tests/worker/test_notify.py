"""worker.services.notify, the one fan-out: never the actor, once per member, active members only.

Every app tells people through it (liaison, protocols and messaging each had their own copy,
with different rules); the app-level tests check who each event reaches.
"""

from __future__ import annotations

import pytest
from django.db import transaction

from directory.models import Member
from worker.models import Notification
from worker.selectors import notification_text
from worker.services import notify

pytestmark = pytest.mark.django_db


def tell(demo: dict[str, Member], *names: str, actor: str | None = "coord") -> list[Notification]:
    with transaction.atomic():
        return notify(
            event="notifications.test",
            recipients=[demo[name] for name in names],
            actor=demo[actor] if actor else None,
            target=None,
            url="/notifications/",
        )


def recipients() -> list[str]:
    return [n.recipient.user.username for n in Notification.objects.order_by("pk")]


def test_the_actor_is_not_told_about_their_own_action(demo) -> None:
    told = tell(demo, "coord", "dr.martin")
    assert [n.recipient for n in told] == [demo["dr.martin"]]
    assert recipients() == ["dr.martin"]


def test_a_member_listed_twice_is_told_once(demo) -> None:
    tell(demo, "dr.martin", "ide.petit", "dr.martin")
    assert recipients() == ["dr.martin", "ide.petit"]


def test_an_inactive_member_is_not_told(demo) -> None:
    Member.objects.filter(pk=demo["ide.petit"].pk).update(is_active=False)
    demo["ide.petit"].refresh_from_db()
    told = tell(demo, "ide.petit", "dr.martin")
    assert [n.recipient for n in told] == [demo["dr.martin"]]


def test_a_job_tells_everyone_listed_and_names_itself(demo) -> None:
    [notification] = tell(demo, "dr.martin", actor=None)
    assert notification.actor is None
    assert notification_text(notification) == "Notification de test demandée par CPTS Liaison"


def test_mentions_reach_the_label(demo) -> None:
    cardiologie = demo["hop.cardio"].organisations.get(name="Cardiologie")
    with transaction.atomic():
        [notification] = notify(
            event="liaison.referral_not_received",
            recipients=[demo["hop.cardio"]],
            actor=None,
            target=None,
            url="/",
            mentions=[cardiologie, demo["hop.cardio2"]],
        )
    assert notification.mentions == f"Cardiologie, {demo['hop.cardio2'].display_name}"
