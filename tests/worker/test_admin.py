"""The admin lists failed deliveries and retries them (the coordination's other view)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from directory.models import User
from worker.models import Notification

pytestmark = pytest.mark.django_db


def test_the_admin_lists_and_retries_failed_notifications(
    notify: Callable[..., Notification], client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    failed = notify()
    Notification.objects.filter(pk=failed.pk).update(status=Notification.Status.FAILED)
    client.force_login(User.objects.create_superuser("admin", "admin@example.test", "x"))

    page = client.get("/admin/worker/notification/?status__exact=failed")
    assert page.status_code == 200
    assert str(failed.code) in page.content.decode()

    with django_capture_on_commit_callbacks() as callbacks:
        client.post(
            "/admin/worker/notification/",
            {"action": "retry", "_selected_action": [failed.pk]},
        )
    failed.refresh_from_db()
    assert failed.status == Notification.Status.PENDING
    assert len(callbacks) == 1
