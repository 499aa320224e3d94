"""Redis stops mid-run: the API keeps answering, and the notifications arrive once it is back.

Real processes, as in test_no_lost_notification.py: a private redis-server on a spare port is
both the cache (the throttles read it on every write and token request) and the broker, a
real Celery worker consumes from it and sends through SMTP to a local sink. Redis is stopped
while a GP gets a token, creates and sends a referral, starts a conversation and posts an
urgent message; every answer must be the usual 2xx JSON. Redis then comes back empty, the
outbox sweep publishes what could not be published, and every e-mail arrives exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from django.utils.timezone import now
from rest_framework.test import APIClient

from config.settings import cache_settings
from directory.models import Member, Organisation
from tests.liaison.conftest import referral_body
from tests.worker_process import RedisServer, SmtpSink, WorkerProcess, publishing_to, wait_until
from worker import dispatch
from worker.models import Notification

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
StartWorker = Callable[..., WorkerProcess]
TOKEN = "/api/v1/auth/token/"
SHEETS = "/api/v1/liaison-sheets/"
CONVERSATIONS = "/api/v1/conversations/"
CREDENTIALS = {"username": "dr.martin", "password": "demo"}


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink()
    server.start()
    yield server
    server.stop()


def answered(response: Any, status: int) -> dict[str, Any]:
    """The body of a JSON answer with the expected status (never a 500 page)."""
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body: dict[str, Any] = response.json()
    return body


def throttle_keys(direct: redis.Redis) -> list[bytes]:
    return list(direct.scan_iter(match=":1:throttle_*"))


def test_the_api_keeps_working_while_redis_is_down_and_notifies_once_it_is_back(
    demo: dict[str, Member],
    private_redis: RedisServer,
    sink: SmtpSink,
    start_worker: StartWorker,
    settings: Any,
) -> None:
    caches = cache_settings(private_redis.url)
    caches["default"]["RETRY_AFTER"] = 1  # production: CACHE_RETRY_AFTER, 10 s
    settings.CACHES = caches
    cardiologie = Organisation.objects.get(name="Cardiologie")
    worker = start_worker("redis-outage", REDIS_URL=private_redis.url, EMAIL_URL=sink.url)
    direct = redis.Redis.from_url(private_redis.url)
    anonymous = APIClient()

    with publishing_to(private_redis.url):
        answered(anonymous.post(TOKEN, CREDENTIALS), 200)
        assert throttle_keys(direct)  # Redis up: the token throttle counts in it

        private_redis.stop()
        slowest = 0.0

        def timed(call: Callable[[], Any]) -> Any:
            nonlocal slowest
            started = time.monotonic()
            response = call()
            slowest = max(slowest, time.monotonic() - started)
            return response

        token = answered(timed(lambda: anonymous.post(TOKEN, CREDENTIALS)), 200)["token"]
        gp = APIClient()
        gp.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        body = referral_body(cardiologie, [demo["ide.petit"]])
        draft = answered(
            timed(lambda: gp.post(SHEETS, body, format="json", HTTP_IDEMPOTENCY_KEY="o-1")), 201
        )
        send = f"{SHEETS}{draft['id']}/send/"
        sent = answered(timed(lambda: gp.post(send, HTTP_IDEMPOTENCY_KEY="o-2")), 200)
        assert sent["status"] == "sent"
        retried = timed(lambda: gp.post(send, HTTP_IDEMPOTENCY_KEY="o-2"))
        assert answered(retried, 200) == sent
        assert retried["Idempotent-Replayed"] == "true"
        conversation = answered(
            timed(
                lambda: gp.post(
                    CONVERSATIONS,
                    {"subject": "Sortie", "participants": [str(demo["pharma.durand"].code)]},
                    format="json",
                )
            ),
            201,
        )
        messages = f"{CONVERSATIONS}{conversation['id']}/messages/"
        answered(
            timed(lambda: gp.post(messages, {"body": "Rappelez-moi", "urgent": True}, "json")),
            201,
        )
        assert slowest < 10, slowest  # publishing gave up quickly; the cache cost nothing

        outage = list(Notification.objects.order_by("pk"))
        assert {n.event for n in outage} >= {
            "liaison.referral_sent",
            "messaging.urgent_message_received",
        }
        assert {n.status for n in outage} == {Notification.Status.PENDING}  # in the outbox

        private_redis.start()  # back, empty: nothing was published meanwhile
        # What beat does every minute, once NOTIFICATION_REDISPATCH_AFTER has passed.
        later = now() + timedelta(seconds=settings.NOTIFICATION_REDISPATCH_AFTER + 1)
        assert dispatch.sweep_outbox(at=later).published == len(outage)

        def all_delivered() -> bool:
            statuses = Notification.objects.filter(pk__in=[n.pk for n in outage])
            return set(statuses.values_list("status", flat=True)) == {"delivered"}

        assert wait_until(all_delivered, timeout=90), worker.log()
        # The shared cache is used again once Redis answers (after RETRY_AFTER).
        answered(gp.patch("/api/v1/me/", {"phone": "01 23 45 67 89"}), 200)
        assert any(b"throttle_writes" in key for key in throttle_keys(direct))

    emailed = Notification.objects.filter(
        pk__in=[n.pk for n in outage], email_sent_at__isnull=False
    )
    assert {n.event for n in emailed} >= {
        "liaison.referral_sent",
        "messaging.urgent_message_received",
    }
    for notification in outage:
        expected = 1 if notification in emailed else 0
        assert len(sink.messages_for(str(notification.code))) == expected, notification.event
