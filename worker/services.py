"""Writes of the background machinery: the notification outbox and the members' preferences.

The invariant this module owns: a notification row is written in the transaction of the
change it reports, and its delivery task is published only after that transaction commits.
Roll back, and there is nothing to deliver; commit, and the row is delivered even if the
broker is down right then (the outbox sweep in worker.dispatch publishes it again).
Publishing goes through worker.publishing, by task name: worker.tasks imports this module,
so this module never imports worker.tasks.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Mapping, Sequence
from datetime import time
from typing import Any, cast

from django.db import models, transaction
from django.urls import reverse
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from security.exceptions import FieldErrors, InvalidTransition, NotFound
from worker import push
from worker.events import Channel, get_event, registered_events
from worker.models import (
    Notification,
    NotificationPreference,
    NotificationSettings,
    WorkerHeartbeat,
)
from worker.publishing import publish_notifications


def record_heartbeat(*, name: str = "worker") -> WorkerHeartbeat:
    """Record that a worker is alive and consuming its queue right now."""
    heartbeat, _created = WorkerHeartbeat.objects.update_or_create(
        name=name, defaults={"last_seen": now(), "hostname": socket.gethostname()}
    )
    return heartbeat


# --- The outbox ------------------------------------------------------------------------------


def enqueue_notification(
    *,
    recipient: Member,
    event: str,
    target: models.Model | None = None,
    actor: Member | None = None,
    url: str = "",
    mentions: Sequence[Member | Organisation] = (),
) -> Notification:
    """Record that `recipient` must hear about `event`, in the caller's transaction.

    Call it inside the transaction of the change: the notification then commits or rolls
    back with it. `target` is referenced by its model label and public `code`, never by its
    content; `url` is a path inside the site (the link of the notification). An unknown
    event type is a programming error and raises UnknownEvent. `mentions` are the members
    or services the label's `{missing}` names (who has still not acted); they are objects,
    not strings, so no caller can slip a patient's name into a notification.

    Delivery starts after commit: the task is published on commit with robust=True, so a
    broker outage at that moment is logged, not turned into an error of the committed
    request; the outbox sweep publishes the row again a minute later.
    """
    (notification,) = _record_notifications(
        [recipient], event=event, target=target, actor=actor, url=url, mentions=mentions
    )
    return notification


def _record_notifications(
    recipients: Sequence[Member],
    *,
    event: str,
    target: models.Model | None,
    actor: Member | None,
    url: str,
    mentions: Sequence[Member | Organisation],
) -> list[Notification]:
    """One outbox row per recipient, in one INSERT, published together after commit."""
    if not recipients:
        return []  # nothing checked either, as when notify() told nobody
    get_event(event)
    target_code = None
    if target is not None:
        target_code = getattr(target, "code", None)
        if target_code is None:
            raise TypeError(f"{type(target).__name__} has no public `code` to notify about")
    if url and (not url.startswith("/") or url.startswith("//") or len(url) > 300):
        raise ValueError("url must be a path inside the site, like /fiches/<code>/")
    moment = now()
    mentioned = mention_text(mentions)
    rows = [
        Notification(
            mentions=mentioned,
            recipient=recipient,
            actor=actor,
            event=event,
            target_type=target._meta.label_lower if target is not None else "",
            target_code=target_code,
            url=url,
            created_at=moment,
            due_at=moment,
            dispatched_at=moment,  # published on commit just below; the sweep covers a failure
        )
        for recipient in recipients
    ]
    # One statement for every recipient (the ids come back with it on PostgreSQL and SQLite).
    notifications = Notification.objects.bulk_create(rows)
    ids = [notification.pk for notification in notifications]
    # A lambda, not functools.partial: Django 5.2 mislogs a failing partial under robust=True.
    transaction.on_commit(lambda: publish_notifications(ids), robust=True)
    for notification in notifications:
        # The member's open pages update their bell at once (an id only: the label is fetched).
        push.publish(
            topics=[push.member_topic(notification.recipient_id)],
            kind="notification",
            notification=notification.pk,
        )
    return notifications


def notify(
    *,
    event: str,
    recipients: Iterable[Member],
    actor: Member | None,
    target: models.Model | None,
    url: str,
    mentions: Sequence[Member | Organisation] = (),
) -> list[Notification]:
    """Tell `recipients` that `event` happened to `target`: the one fan-out of every app.

    Apps declare their events (`<app>/events.py`) and say who is concerned; who is actually
    told is decided here, once (Zulip's `send_event_on_commit(realm, event, users)`):

    - the actor is never told about their own action;
    - a member listed twice (the author who is also on the receiving side) is told once;
    - an inactive member is not told: the account is closed, the link would not open, and
      an e-mail about a patient's care has no business reaching someone who left.

    Call it inside the transaction of the change, like enqueue_notification (one outbox row
    per member told, published after commit). The text is the event's label, which only
    names the actor and `mentions` (members or services): never patient data. Returns the
    notifications written, in the order of `recipients`.
    """
    told: set[int] = set()
    members = []
    for member in recipients:
        if member.pk in told or (actor is not None and member.pk == actor.pk):
            continue
        told.add(member.pk)
        if not member.is_active:
            continue
        members.append(member)
    return _record_notifications(
        members, event=event, target=target, actor=actor, url=url, mentions=mentions
    )


def mention_text(mentions: Sequence[Member | Organisation], *, limit: int | None = None) -> str:
    """Display names joined for `{missing}`; past `limit`, the rest is counted ("+ 3")."""
    column = cast("models.CharField[Any, Any]", Notification._meta.get_field("mentions"))
    limit = limit or column.max_length or 0  # a CharField always has one (fields.E120)
    names = [m.display_name if isinstance(m, Member) else m.name for m in mentions]
    text = ""
    for index, name in enumerate(names):
        candidate = f"{text}, {name}" if text else name
        left_after = len(names) - index - 1
        if len(candidate) + (len(f" + {left_after}") if left_after else 0) > limit:
            return f"{text} + {len(names) - index}" if text else name[:limit]
        text = candidate
    return text


@transaction.atomic
def send_test_notification(*, actor: Member) -> Notification:
    """A notification to oneself, through one's own channels: does my e-mail work?"""
    return enqueue_notification(
        recipient=actor, event="notifications.test", actor=actor, url=reverse("notifications")
    )


@transaction.atomic
def retry_failed_notifications(*, ids: list[int]) -> list[int]:
    """Give failed notifications a new series of attempts (the coordination, once fixed).

    Only rows still failed are touched; the others are left alone. Returns the retried ids,
    published after commit.
    """
    moment = now()
    # FOR UPDATE: a concurrent retry waits, then no longer sees the rows as failed.
    failed = Notification.objects.filter(pk__in=ids, status=Notification.Status.FAILED)
    retried = list(failed.select_for_update().values_list("pk", flat=True))
    Notification.objects.filter(pk__in=retried, status=Notification.Status.FAILED).update(
        status=Notification.Status.PENDING,
        attempts=0,
        last_error="",
        due_at=moment,
        dispatched_at=moment,
    )
    if retried:
        transaction.on_commit(lambda: publish_notifications(retried), robust=True)
    return retried


@transaction.atomic
def retry_notification(*, notification: Notification, actor: Member) -> Notification:
    """Retry one failed notification; the caller checked access (access_failed_notification).

    A double click finds it no longer failed the second time: InvalidTransition (409).
    """
    if not retry_failed_notifications(ids=[notification.pk]):
        raise InvalidTransition(_("Cette notification n'est plus en échec."))
    notification.refresh_from_db()
    return notification


# --- Reading ---------------------------------------------------------------------------------


def mark_notification_read(*, notification: Notification, actor: Member) -> Notification:
    """Mark one of the actor's notifications read. Reading it twice keeps the first time."""
    if notification.recipient_id != actor.pk:  # access_notification already said 404
        raise NotFound("notification")
    Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(read_at=now())
    notification.refresh_from_db(fields=["read_at"])
    return notification


def mark_all_notifications_read(*, actor: Member) -> int:
    """Mark every unread notification of the actor read; return how many were unread."""
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=now())


def mark_target_notifications_read(*, actor: Member, target: models.Model) -> int:
    """Mark read the actor's notifications about `target` (opening it is reading them).

    One UPDATE on the member's unread rows (a partial index); returns how many were unread.
    """
    return Notification.objects.filter(
        recipient=actor,
        read_at__isnull=True,
        target_type=target._meta.label_lower,
        target_code=getattr(target, "code", None),
    ).update(read_at=now())


# --- Preferences -----------------------------------------------------------------------------


@transaction.atomic
def update_notification_preferences(
    *,
    actor: Member,
    channels: Mapping[str, str],
    quiet_hours_start: time | None,
    quiet_hours_end: time | None,
) -> None:
    """Replace the actor's preferences: a channel per event type, and quiet hours.

    Events missing from `channels` go back to their default. Only choices that differ from
    the default are stored, so a better default shipped later reaches everyone who did not
    choose otherwise.
    """
    errors: dict[str, list[str]] = {}
    events = {spec.name: spec for spec in registered_events()}
    if unknown := sorted(set(channels) - set(events)):
        unknown_type = _("Type de notification inconnu : %(name)s")
        errors["events"] = [unknown_type % {"name": name} for name in unknown]
    elif invalid := sorted(name for name, channel in channels.items() if channel not in Channel):
        errors["events"] = [_("Canal inconnu pour %(name)s") % {"name": name} for name in invalid]
    if (quiet_hours_start is None) != (quiet_hours_end is None):
        errors["quiet_hours"] = [
            _("Indiquez le début et la fin des heures calmes, ou aucun des deux.")
        ]
    elif quiet_hours_start is not None and quiet_hours_start == quiet_hours_end:
        errors["quiet_hours"] = [_("Le début et la fin des heures calmes doivent différer.")]
    if errors:
        raise FieldErrors(errors)

    NotificationPreference.objects.filter(member=actor).delete()
    NotificationPreference.objects.bulk_create(
        NotificationPreference(member=actor, event=name, channel=channel)
        for name, channel in sorted(channels.items())
        if channel != events[name].default_channel
    )
    NotificationSettings.objects.update_or_create(
        member=actor,
        defaults={"quiet_hours_start": quiet_hours_start, "quiet_hours_end": quiet_hours_end},
    )
