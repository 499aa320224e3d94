"""Two members clicking for the last place at once: one gets it, the other waits (PostgreSQL:
the event's row is locked while places are counted; SQLite serialises writers anyway)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils.timezone import now

from directory.demo import load_directory
from events import services
from events.models import Registration

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_two_clicks_for_the_last_place() -> None:
    members = load_directory(password="demo")
    start = now() + timedelta(days=3)
    event = services.create_event(
        actor=members["coord"], kind="meeting", title="Dernière place", place="MSP",
        starts_at=start, ends_at=start + timedelta(hours=1), capacity=1,
    )  # fmt: skip
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def click(login: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.register(actor=members[login], event=event)
        except BaseException as error:  # noqa: BLE001  reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(name,)) for name in ("dr.martin", "ide.petit")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    statuses = sorted(Registration.objects.filter(event=event).values_list("status", flat=True))
    assert statuses == ["registered", "waitlisted"]
