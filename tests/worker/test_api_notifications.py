"""The notifications API: the caller's own notifications, unread count, marking read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from directory.models import Member
from worker.models import Notification

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]
ClientFor = Callable[[Member], APIClient]


def test_it_lists_the_callers_notifications_with_the_unread_count(
    notify: Notify, client_for: ClientFor, demo: dict[str, Member]
) -> None:
    older = notify(event="notifications.welcome")
    newer = notify()
    notify(recipient="ide.petit")  # someone else's
    Notification.objects.filter(pk=older.pk).update(read_at=older.created_at)

    response = client_for(demo["dr.martin"]).get("/api/v1/notifications/")

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["unread_count"] == 1
    assert [item["id"] for item in body["results"]] == [str(newer.code), str(older.code)]
    item = body["results"][0]
    assert item["text"] == "Notification de test demandée par Élise Fontaine"
    assert item["actor"] == {"id": str(demo["coord"].code), "display_name": "Élise Fontaine"}
    assert item["read"] is False
    assert item["url"] == "/notifications/"
    assert set(item) == {
        "id", "event", "text", "actor", "target_type", "target_id", "url", "created_at",
        "read", "read_at",
    }  # fmt: skip


def test_it_filters_unread_notifications(
    notify: Notify, client_for: ClientFor, demo: dict[str, Member]
) -> None:
    read, unread = notify(), notify()
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)
    client = client_for(demo["dr.martin"])

    unread_only = client.get("/api/v1/notifications/?unread=true").json()
    read_only = client.get("/api/v1/notifications/?unread=false").json()

    assert [item["id"] for item in unread_only["results"]] == [str(unread.code)]
    assert [item["id"] for item in read_only["results"]] == [str(read.code)]
    assert client.get("/api/v1/notifications/?unread=maybe").status_code == 400
    assert client.get("/api/v1/notifications/?status=failed").status_code == 400


def test_the_list_costs_a_fixed_number_of_queries(
    notify: Notify, client_for: ClientFor, demo: dict[str, Member], django_assert_num_queries: Any
) -> None:
    for _ in range(10):
        notify()
    client = client_for(demo["dr.martin"])
    # unread count, page count, page with the actors (the client reuses the loaded member)
    with django_assert_num_queries(3):
        response = client.get("/api/v1/notifications/")
    assert len(response.json()["results"]) == 10


def test_it_marks_a_notification_read_once(
    notify: Notify, client_for: ClientFor, demo: dict[str, Member]
) -> None:
    notification = notify()
    client = client_for(demo["dr.martin"])

    first = client.post(f"/api/v1/notifications/{notification.code}/read/")
    second = client.post(f"/api/v1/notifications/{notification.code}/read/")

    assert first.status_code == second.status_code == 200
    assert first.json()["read"] is True
    assert first.json()["read_at"] == second.json()["read_at"]  # the first reading stays


@pytest.mark.parametrize("persona", ["ide.petit", "coord"])
def test_someone_elses_notification_is_404(
    notify: Notify, client_for: ClientFor, demo: dict[str, Member], persona: str
) -> None:
    notification = notify()
    response = client_for(demo[persona]).post(f"/api/v1/notifications/{notification.code}/read/")
    assert response.status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_it_marks_everything_read(
    notify: Notify, client_for: ClientFor, demo: dict[str, Member]
) -> None:
    notify(), notify()
    others = notify(recipient="ide.petit")

    response = client_for(demo["dr.martin"]).post("/api/v1/notifications/read-all/")

    assert response.json() == {"marked": 2, "unread_count": 0}
    others.refresh_from_db()
    assert others.read_at is None


def test_anonymous_callers_are_refused(api_client: APIClient) -> None:
    assert api_client.get("/api/v1/notifications/").status_code == 401


def test_a_member_sends_themselves_a_test_notification(
    client_for: ClientFor, demo: dict[str, Member], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(demo["ide.petit"]).post("/api/v1/notifications/test/")

    assert response.status_code == 201
    assert response.json()["event"] == "notifications.test"
    assert len(callbacks) == 2  # the delivery task and the push event, both after commit
    assert Notification.objects.get().recipient == demo["ide.petit"]


# --- Failed deliveries: the coordination's view ----------------------------------------------


@pytest.fixture
def failed(notify: Notify) -> Notification:
    notification = notify()
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.FAILED, attempts=8, last_error="ConnectionRefusedError"
    )
    return notification


def test_the_coordination_sees_failed_deliveries(
    failed: Notification, client_for: ClientFor, demo: dict[str, Member]
) -> None:
    body = client_for(demo["coord"]).get("/api/v1/notifications/failed/").json()
    assert body["count"] == 1
    item = body["results"][0]
    assert item["id"] == str(failed.code)
    assert item["recipient"]["id"] == str(demo["dr.martin"].code)
    assert (item["attempts"], item["last_error"]) == (8, "ConnectionRefusedError")


def test_other_members_do_not(
    failed: Notification, client_for: ClientFor, demo: dict[str, Member]
) -> None:
    assert client_for(demo["dr.martin"]).get("/api/v1/notifications/failed/").status_code == 403
    response = client_for(demo["dr.martin"]).post(f"/api/v1/notifications/{failed.code}/retry/")
    assert response.status_code == 404


def test_the_coordination_retries_a_failed_delivery_once(
    failed: Notification,
    client_for: ClientFor,
    demo: dict[str, Member],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(demo["coord"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/api/v1/notifications/{failed.code}/retry/")

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert len(callbacks) == 1
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 0, "")
    assert client.post(f"/api/v1/notifications/{failed.code}/retry/").status_code == 404
