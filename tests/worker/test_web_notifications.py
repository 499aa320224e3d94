"""The French pages: the header badge on every page, the list, the preferences form."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from directory.models import Member
from worker.demo import load_notifications
from worker.models import Notification, NotificationPreference

pytestmark = pytest.mark.django_db
Notify = Callable[..., Notification]


@pytest.fixture
def martin(client: Client, demo: dict[str, Member]) -> Client:
    client.force_login(demo["dr.martin"].user)
    return client


def test_the_header_shows_the_unread_count_on_every_page(notify: Notify, martin: Client) -> None:
    notify(), notify()
    for page in ("/", "/annuaire/", "/notifications/"):
        body = martin.get(page).content.decode()
        assert "data-unread-count>2</span>" in body, page
        assert "Notification de test demandée par Élise Fontaine" in body
        assert "/static/js/notifications.js" in body
        assert "<script>" not in body  # the CSP forbids inline scripts


def test_the_header_costs_two_queries(notify: Notify, martin: Client) -> None:
    notify()
    with CaptureQueriesContext(connection) as context:
        martin.get("/annuaire/")
    header = [q for q in context.captured_queries if "worker_notification" in q["sql"]]
    assert len(header) == 2  # the unread count and the latest five


def test_the_list_page_shows_read_and_unread(notify: Notify, martin: Client) -> None:
    read, unread = notify(event="notifications.welcome"), notify()
    Notification.objects.filter(pk=read.pk).update(read_at=read.created_at)

    body = martin.get("/notifications/").content.decode()

    assert "Bienvenue sur CPTS Liaison ! Message de Élise Fontaine" in body
    assert f"/notifications/{unread.code}/lue/" in body  # a button for the unread one only
    assert f"/notifications/{read.code}/lue/" not in body


def test_opening_a_notification_marks_it_read_and_follows_its_link(
    demo: dict[str, Member], martin: Client
) -> None:
    from worker.services import enqueue_notification

    notification = enqueue_notification(
        recipient=demo["dr.martin"], event="notifications.test", url="/annuaire/"
    )
    response = martin.get(f"/notifications/{notification.code}/")
    assert (response.status_code, response["Location"]) == (302, "/annuaire/")
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_is_404(
    notify: Notify, client: Client, demo: dict[str, Member]
) -> None:
    notification = notify()
    client.force_login(demo["ide.petit"].user)
    assert client.get(f"/notifications/{notification.code}/").status_code == 404
    assert client.post(f"/notifications/{notification.code}/lue/").status_code == 404


def test_mark_read_and_mark_all_read(notify: Notify, martin: Client) -> None:
    first = notify()
    notify(), notify()
    assert martin.post(f"/notifications/{first.code}/lue/").status_code == 302
    assert Notification.objects.filter(read_at__isnull=True).count() == 2
    assert martin.get(f"/notifications/{first.code}/lue/").status_code == 405  # POST only
    martin.post("/notifications/tout-lu/")
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_the_preferences_form_saves_channels_and_quiet_hours(
    martin: Client, demo: dict[str, Member]
) -> None:
    body = martin.get("/notifications/preferences/").content.decode()
    assert "Heures calmes" in body
    assert 'name="event__notifications.test"' in body

    response = martin.post(
        "/notifications/preferences/",
        {
            "event__notifications.test": "digest",
            "event__notifications.welcome": "in_app",
            "quiet_hours_start": "21:00",
            "quiet_hours_end": "07:00",
        },
        follow=True,
    )

    assert "Vos préférences de notification sont enregistrées." in response.content.decode()
    assert NotificationPreference.objects.get(member=demo["dr.martin"]).channel == "digest"


def test_the_preferences_form_explains_its_errors(martin: Client) -> None:
    response = martin.post(
        "/notifications/preferences/",
        {"event__notifications.test": "email", "quiet_hours_start": "21:00"},
    )
    assert response.status_code == 200
    assert "Indiquez le début et la fin des heures calmes" in response.content.decode()


def test_the_test_button_sends_a_test_notification(martin: Client, demo: dict[str, Member]) -> None:
    response = martin.post("/notifications/test/", follow=True)
    assert "Notification de test envoyée" in response.content.decode()
    assert Notification.objects.get().event == "notifications.test"


def test_the_demo_gives_dr_martin_notifications_once(demo: dict[str, Member]) -> None:
    assert len(load_notifications(demo)) == 2
    assert load_notifications(demo) == []
    assert Notification.objects.filter(recipient=demo["dr.martin"]).count() == 2
