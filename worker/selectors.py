"""Reads of the background machinery: notifications and preferences, and health.

Every list of notifications starts from `notifications_visible_to(member)`: a member sees
their own notifications and nobody else's, and `access_notification` answers 404 for the
rest. Only the coordination sees failed deliveries, of everyone (metadata, never content).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from uuid import UUID
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DatabaseError, connection, connections
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.expressions import CombinedExpression, RawSQL, Value
from django.db.models.sql.subqueries import UpdateQuery
from django.utils.timezone import now
from django.utils.translation import gettext as _

from config.celery import app
from directory.models import Member
from directory.selectors import is_coordinator
from security.access import get_or_not_found
from security.compiled import CompiledSelect, compile_select
from security.exceptions import NotFound, PermissionDenied
from worker.events import (
    SYSTEM_ACTOR,
    Area,
    Channel,
    Describer,
    EventType,
    Subject,
    UnknownEvent,
    area_of,
    get_describer,
    get_event,
    registered_events,
)
from worker.models import (
    Notification,
    NotificationPreference,
    NotificationSettings,
    WorkerHeartbeat,
)


@dataclass(frozen=True)
class HeartbeatStatus:
    last_seen: datetime | None
    age_seconds: float | None
    stale: bool


def database_is_up() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def broker_is_up(*, timeout: float = 2.0) -> bool:
    """Open (and close) one connection to the Celery broker, without retrying for long."""
    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=timeout)
            return True
    except Exception:  # noqa: BLE001  any broker failure means "not ready"
        return False


def worker_heartbeat(*, name: str = "worker") -> HeartbeatStatus:
    row = WorkerHeartbeat.objects.filter(name=name).first()
    if row is None:
        return HeartbeatStatus(last_seen=None, age_seconds=None, stale=True)
    age = (now() - row.last_seen).total_seconds()
    return HeartbeatStatus(
        last_seen=row.last_seen,
        age_seconds=round(age, 1),
        stale=age > settings.WORKER_HEARTBEAT_STALE_AFTER,
    )


# --- Notifications ---------------------------------------------------------------------------


def notifications_visible_to(member: Member | None) -> QuerySet[Notification]:
    """The member's own notifications, newest first, with their actor loaded (None: none)."""
    if member is None:  # schema generation has no caller
        return Notification.objects.none()
    return (
        Notification.objects.filter(recipient=member)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )


def access_notification(member: Member, code: UUID | str) -> Notification:
    """The member's notification with this public id, or NotFound (also for anyone else's)."""
    return get_or_not_found(notifications_visible_to(member), "notification", code=code)


def unread_count(member: Member) -> int:
    return Notification.objects.filter(recipient=member, read_at__isnull=True).count()


def notification_text(
    notification: Notification, subject: Subject | None = None, *, for_email: bool = False
) -> str:
    """What the notification says: what happened, who did it, and what it is about.

    The label comes from the event registry; `subject` (from notification_subjects) names
    the object, and is left out of an e-mail unless it is safe there. Without a subject,
    the label alone.
    """
    try:
        spec = get_event(notification.event)
    except UnknownEvent:
        # An event whose app was removed since: say something rather than break the inbox.
        return "Nouvelle notification"
    actor = notification.actor.display_name if notification.actor else SYSTEM_ACTOR
    text = spec.render(actor=actor, missing=notification.mentions)
    if subject is not None and (subject.in_email or not for_email):
        text = f"{text} — {subject.text}"
    return text


def notification_subjects(
    notifications: Sequence[Notification], *, reader: Member | None = None
) -> list[Subject | None]:
    """What each notification is about, by its app's describer: one query per target type.

    `reader` is the member whose notifications these are (each one's recipient if None).
    Rendered now, from the targets as they are (a renamed protocol reads with its new
    title), never stored. A target deleted since, one the reader may no longer see, or of
    a type nobody describes, is None.
    """
    codes: dict[tuple[str, int], set[UUID]] = defaultdict(set)
    readers: dict[int, Member] = {}
    for notification in notifications:
        if notification.target_type and notification.target_code:
            codes[notification.target_type, notification.recipient_id].add(notification.target_code)
            if notification.recipient_id not in readers:
                readers[notification.recipient_id] = (
                    reader
                    if reader is not None and reader.pk == notification.recipient_id
                    else notification.recipient
                )
    targets: dict[tuple[str, int], tuple[Describer, Mapping[UUID, Any]]] = {}
    for (target_type, recipient_id), type_codes in codes.items():
        describer = get_describer(target_type)
        if describer is not None:
            loaded_targets = describer.load(type_codes, readers[recipient_id])
            targets[target_type, recipient_id] = (describer, loaded_targets)
    subjects: list[Subject | None] = []
    for notification in notifications:
        loaded = targets.get((notification.target_type, notification.recipient_id))
        code = notification.target_code
        target = loaded[1].get(code) if loaded and code else None
        if loaded is None or target is None:
            subjects.append(None)
        else:
            subjects.append(loaded[0].describe(notification.event, target))
    return subjects


def notification_texts(
    notifications: Sequence[Notification],
    *,
    for_email: bool = False,
    reader: Member | None = None,
) -> list[str]:
    """The texts of several notifications at once (a page, a digest)."""
    subjects = notification_subjects(notifications, reader=reader)
    return [
        notification_text(n, s, for_email=for_email)
        for n, s in zip(notifications, subjects, strict=True)
    ]


@dataclass
class NotificationLine:
    """One line of the bell or the list: a notification, or identical ones folded together.

    Notifications of one event whose subjects share a group ("3 lettres de sortie de
    Cardiologie"), or whose texts are identical, fold into the line of the newest one.
    """

    notification: Notification
    text: str
    items: list[tuple[Notification, str]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.items)

    @property
    def is_read(self) -> bool:
        return all(n.is_read for n, _text in self.items)

    @property
    def created_at(self) -> datetime:
        return self.notification.created_at


def notification_lines(
    notifications: Sequence[Notification], *, reader: Member | None = None
) -> list[NotificationLine]:
    """Fold identical lines, newest first; each line keeps its notifications in order."""
    subjects = notification_subjects(notifications, reader=reader)
    lines: dict[tuple[str, ...], NotificationLine] = {}
    for notification, subject in zip(notifications, subjects, strict=True):
        text = notification_text(notification, subject)
        key: tuple[str, ...]
        if subject is not None and subject.group and subject.plural:
            key = (notification.event, "group", subject.group)
        else:
            key = (notification.event, "text", text)
        line = lines.get(key)
        if line is None:
            line = lines[key] = NotificationLine(notification=notification, text=text)
        line.items.append((notification, text))
        if line.count > 1:
            line.text = (
                subject.counted(line.count)
                if subject is not None and subject.group and subject.plural
                else f"{line.items[0][1]} (×{line.count})"
            )
    return list(lines.values())


def failed_notifications_visible_to(member: Member | None) -> QuerySet[Notification]:
    """Notifications whose e-mail could not be delivered: the coordination's view.

    Members who are not coordinators get PermissionDenied: the list exists for them, but
    holds other members' metadata. None (schema generation) gets an empty list.
    """
    if member is None:
        return Notification.objects.none()
    if not is_coordinator(member):
        raise PermissionDenied(_("Réservé à la coordination de la CPTS."))
    return (
        Notification.objects.filter(status=Notification.Status.FAILED)
        .select_related("recipient", "actor")
        .order_by("-created_at", "-pk")
    )


def access_failed_notification(member: Member, code: UUID | str) -> Notification:
    """A failed notification the coordination may retry; NotFound for anyone else."""
    if not is_coordinator(member):
        raise NotFound("notification")
    return get_or_not_found(failed_notifications_visible_to(member), "notification", code=code)


# --- Preferences -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EventPreference:
    event: EventType
    channel: str

    @property
    def is_default(self) -> bool:
        return self.channel == self.event.default_channel


@dataclass(frozen=True)
class AreaPreferences:
    """The preferences of one area (liaison, messaging...), shown as one group."""

    area: Area
    events: list[EventPreference]


@dataclass(frozen=True)
class Preferences:
    events: list[EventPreference]
    quiet_hours_start: time | None
    quiet_hours_end: time | None

    @property
    def areas(self) -> list[AreaPreferences]:
        """The events grouped by area, in the areas' order, each in name order."""
        grouped: dict[str, AreaPreferences] = {}
        for preference in self.events:
            area = area_of(preference.event)
            grouped.setdefault(area.prefix, AreaPreferences(area=area, events=[]))
            grouped[area.prefix].events.append(preference)
        return sorted(grouped.values(), key=lambda group: (group.area.order, group.area.prefix))


def notification_preferences_of(member: Member) -> Preferences:
    """Every registered event with the member's channel for it, and their quiet hours."""
    chosen = dict(
        NotificationPreference.objects.filter(member=member).values_list("event", "channel")
    )
    quiet = notification_settings_of(member)
    return Preferences(
        events=[
            EventPreference(event=spec, channel=chosen.get(spec.name, spec.default_channel))
            for spec in registered_events()
        ],
        quiet_hours_start=quiet.quiet_hours_start if quiet else None,
        quiet_hours_end=quiet.quiet_hours_end if quiet else None,
    )


def notification_settings_of(member: Member | int) -> NotificationSettings | None:
    return NotificationSettings.objects.filter(member=member).first()


def notification_to_deliver(notification_id: int) -> Notification:
    """A notification with all its delivery decides on, in one query.

    Its recipient (with the user) and actor, and as annotations the recipient's choice of
    channel for this event (`chosen_channel`, None for the event's default: see
    `channel_for`) and quiet hours (`quiet_hours`, see `quiet_period_end`). The
    dispatcher reads it for every delivery, so it replaces three round trips with one.
    """
    return _with_quiet_hours(_to_deliver().get(pk=notification_id))


def claim_notification_to_deliver(
    notification_id: int, *, claim: Mapping[str, Any], where: Mapping[str, Any]
) -> Notification | None:
    """Claim the notification (UPDATE with `claim` where `where` holds) and read it as
    `notification_to_deliver` does, in one statement; None if the claim failed.

    PostgreSQL only (`claims_with_read()`): the claim is a data-modifying WITH and the read
    joins it. The read sees the row as it was before the claim (a WITH's changes are not
    visible to its own statement), so the claimed values are set on the object here. The
    claim is a conditional UPDATE like the dispatcher's own: only one caller can win it.
    """
    queryset = Notification.objects.filter(pk=notification_id, **where)
    update = cast(UpdateQuery, queryset.query.chain(UpdateQuery))
    update.add_update_values(dict(claim))
    update_sql, update_params = update.get_compiler(connection.alias).as_sql()
    read = _claimed_read()
    read_sql, read_params = read.sql, read.params
    returning = f"{_NOTIFICATION_TABLE}.id"
    if not connection.in_atomic_block:
        # The claim's own transaction commits without waiting for the WAL flush (about 3 ms,
        # on the way to the e-mail); the mark, after the e-mail, waits for it and so flushes
        # the claim too. Nothing is lost but on a server crash, and a crash before the mark
        # leaves the e-mail to be sent again either way (the worker's connection dies with
        # it): a durable claim would buy nothing there. Other sessions see it at once, so
        # only one claim can win, as before. Inside a caller's transaction: not touched.
        returning += ", set_config('synchronous_commit', 'off', true)"
    sql = f"WITH claimed AS ({update_sql} RETURNING {returning}) {read_sql}"
    params = (*update_params, *read_params)
    with connection.cursor() as cursor:
        # Planning it (its joins and subqueries) took longer than running it, 1.5 ms against
        # 1.0 ms: psycopg prepares it once the session has run it DB_PREPARE_THRESHOLD times
        # (config/settings.py), and the server then only executes it.
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return None
    (notification,) = read.instances(rows)
    for name, value in claim.items():
        if isinstance(value, CombinedExpression):  # attempts = attempts + 1
            setattr(notification, name, getattr(notification, name) + cast(Value, value.rhs).value)
        else:
            setattr(notification, name, value)
    return _with_quiet_hours(notification)


class _CompiledRead(threading.local):
    """The read of `claim_notification_to_deliver`, compiled once per thread and connection."""

    connection: Any = None
    compiled: CompiledSelect | None = None


_compiled_read = _CompiledRead()


def _claimed_read() -> CompiledSelect:
    """The read joined to the claim, compiled (security.compiled).

    The same for every notification (the claimed row comes from the WITH, not from a
    parameter), and compiling its joins and subqueries was a third of a delivery's CPU:
    compiled at the worker's first delivery, reused by the next ones, which also build
    their rows with it.
    """
    wrapper = connections[connection.alias]  # this thread's
    if _compiled_read.compiled is None or _compiled_read.connection is not wrapper:
        read = _to_deliver().filter(pk__in=RawSQL("SELECT id FROM claimed", ()))
        _compiled_read.connection = wrapper
        _compiled_read.compiled = compile_select(read)
    return _compiled_read.compiled


def claims_with_read() -> bool:
    """Whether `claim_notification_to_deliver` works on this database (PostgreSQL)."""
    return connection.vendor == "postgresql"


_NOTIFICATION_TABLE = Notification._meta.db_table


def _to_deliver() -> QuerySet[Notification]:
    preference = NotificationPreference.objects.filter(
        member=OuterRef("recipient_id"), event=OuterRef("event")
    ).values("channel")[:1]
    quiet = NotificationSettings.objects.filter(member=OuterRef("recipient_id"))
    return Notification.objects.select_related("recipient__user", "actor").annotate(
        chosen_channel=Subquery(preference),
        quiet_start=Subquery(quiet.values("quiet_hours_start")[:1]),
        quiet_end=Subquery(quiet.values("quiet_hours_end")[:1]),
    )


def _with_quiet_hours(notification: Notification) -> Notification:
    # Unsaved: only what quiet_period_end reads.
    notification.quiet_hours = NotificationSettings(  # type: ignore[attr-defined]
        member_id=notification.recipient_id,
        quiet_hours_start=notification.quiet_start,  # type: ignore[attr-defined]
        quiet_hours_end=notification.quiet_end,  # type: ignore[attr-defined]
    )
    return notification


def channel_for(member: Member, event: str, *, chosen: str | None = None) -> str:
    """The member's channel for this event: their choice, or the event's default.

    `chosen` is their choice when already read (`notification_to_deliver`); None reads it.
    """
    if chosen is None:
        chosen = (
            NotificationPreference.objects.filter(member=member, event=event)
            .values_list("channel", flat=True)
            .first()
        )
    if chosen:
        return chosen
    try:
        return get_event(event).default_channel
    except UnknownEvent:
        return Channel.IN_APP  # no e-mail about an event this process cannot even name


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def quiet_period_end(quiet: NotificationSettings | None, at: datetime) -> datetime | None:
    """When the member's quiet period containing `at` ends, or None outside quiet hours.

    Quiet hours are wall-clock times in the CPTS's time zone, so they follow daylight
    saving time; a period may span midnight.
    """
    if quiet is None or quiet.quiet_hours_start is None or quiet.quiet_hours_end is None:
        return None
    zone = local_zone()
    local = at.astimezone(zone)
    start, end, moment = quiet.quiet_hours_start, quiet.quiet_hours_end, local.time()
    day: date = local.date()
    if start < end:
        if not start <= moment < end:
            return None
    elif moment >= start:
        day += timedelta(days=1)
    elif moment >= end:
        return None
    return datetime.combine(day, end, tzinfo=zone)


def digest_cutoff(at: datetime) -> datetime:
    """The latest daily digest time at or before `at`: digests cover what came before it."""
    zone = local_zone()
    local = at.astimezone(zone)
    cutoff = datetime.combine(
        local.date(), time(hour=settings.NOTIFICATION_DIGEST_HOUR), tzinfo=zone
    )
    if cutoff > local:
        cutoff = datetime.combine(
            local.date() - timedelta(days=1),
            time(hour=settings.NOTIFICATION_DIGEST_HOUR),
            tzinfo=zone,
        )
    return cutoff
