"""enqueue_notification: the outbox row commits or rolls back with the change that caused it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from directory.models import Member, Organisation
from worker.events import UnknownEvent
from worker.models import Notification
from worker.services import enqueue_notification

pytestmark = pytest.mark.django_db


def test_it_records_the_notification_and_publishes_after_commit(
    demo: dict[str, Member], django_capture_on_commit_callbacks: Any
) -> None:
    organisation = Organisation.objects.first()
    with django_capture_on_commit_callbacks() as callbacks:
        notification = enqueue_notification(
            recipient=demo["dr.martin"],
            event="notifications.test",
            target=organisation,
            actor=demo["coord"],
            url="/annuaire/",
        )
        assert callbacks == []  # nothing leaves before the commit

    assert len(callbacks) == 2  # the delivery task and the push event
    notification.refresh_from_db()
    assert notification.status == Notification.Status.PENDING
    assert notification.target_type == "directory.organisation"
    assert notification.target_code == organisation.code
    assert notification.recipient == demo["dr.martin"]
    assert notification.read_at is None


def test_a_rolled_back_change_leaves_no_notification(
    demo: dict[str, Member], django_capture_on_commit_callbacks: Any
) -> None:
    def change_that_fails() -> None:
        with transaction.atomic():
            enqueue_notification(recipient=demo["dr.martin"], event="notifications.test")
            raise RuntimeError("the change failed")

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError):
        change_that_fails()

    assert callbacks == []
    assert not Notification.objects.exists()


def test_it_refuses_an_unknown_event(demo: dict[str, Member]) -> None:
    with pytest.raises(UnknownEvent):
        enqueue_notification(recipient=demo["dr.martin"], event="liaison.does_not_exist")
    assert not Notification.objects.exists()


def test_it_refuses_a_target_without_a_public_code(demo: dict[str, Member]) -> None:
    with pytest.raises(TypeError):
        enqueue_notification(
            recipient=demo["dr.martin"], event="notifications.test", target=demo["coord"].user
        )


@pytest.mark.parametrize("url", ["https://evil.example/", "//evil.example/x", "fiches/1/"])
def test_it_refuses_links_outside_the_site(demo: dict[str, Member], url: str) -> None:
    with pytest.raises(ValueError, match="path inside the site"):
        enqueue_notification(recipient=demo["dr.martin"], event="notifications.test", url=url)


def test_it_costs_one_query_in_the_callers_transaction(
    demo: dict[str, Member], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(1):
        enqueue_notification(
            recipient=demo["dr.martin"], event="notifications.test", actor=demo["coord"]
        )
