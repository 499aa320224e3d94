"""Rows owned by the background machinery: the notification outbox, preferences, heartbeats."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from worker.events import Channel


class WorkerHeartbeat(models.Model):
    """The last time a worker ran the heartbeat task (one row per name)."""

    name = models.CharField(max_length=64, unique=True)
    last_seen = models.DateTimeField()
    hostname = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.name} @ {self.last_seen.isoformat()}"


class Notification(models.Model):
    """One thing a member is told about: the in-app notification and its outbox row at once.

    The row is written in the transaction of the change it reports (worker.services.
    enqueue_notification), so it exists if and only if the change committed. In-app delivery
    is the row itself: it is visible as soon as it commits. `status` is the state of the
    asynchronous part, the e-mail (immediate or in the daily digest), driven by worker.dispatch
    with conditional UPDATEs:

        pending ──claim──▶ sending ──▶ delivered | failed
           ▲  (due_at)        │  └──▶ digest ──claim──▶ digesting ──▶ delivered | failed
           └── retry, quiet hours, or a claim whose lease expired (worker killed)

    It stores the event type and the target's type and public code, never text: the text is
    rendered from the event registry, so nothing here can hold patient data.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("À distribuer")
        SENDING = "sending", _("Envoi en cours")
        DIGEST = "digest", _("En attente du résumé quotidien")
        DIGESTING = "digesting", _("Résumé en cours d'envoi")
        DELIVERED = "delivered", _("Distribuée")
        FAILED = "failed", _("Échec de l'envoi")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=now, db_index=True, editable=False)
    recipient = models.ForeignKey(
        "directory.Member", models.CASCADE, related_name="+", verbose_name=_("destinataire")
    )
    actor = models.ForeignKey(
        "directory.Member",
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("auteur"),
    )
    event = models.CharField(_("événement"), max_length=64)
    target_type = models.CharField(max_length=100, blank=True, default="")
    target_code = models.UUIDField(null=True, blank=True)
    url = models.CharField(max_length=300, blank=True, default="")
    # The `{missing}` of the label: display names of the members or services still expected
    # to act, joined by enqueue_notification from Member/Organisation objects (professionals
    # and services, never a patient: no caller can pass free text here).
    mentions = models.CharField(max_length=500, blank=True, default="")
    read_at = models.DateTimeField(_("lue le"), null=True, blank=True)

    status = models.CharField(
        _("état"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    # The channel the dispatcher chose from the member's preferences ("" until dispatched).
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True, default="")
    # Not before: a retry's backoff or the end of the member's quiet hours.
    due_at = models.DateTimeField(default=now)
    # Last time a delivery task was published (or scheduled) for the row; the sweep
    # re-publishes a due row only when this is old enough, so it does not flood the queue.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The claim: the worker holding the row, and since when (its lease).
    claimed_at = models.DateTimeField(null=True, blank=True)
    claim_token = models.UUIDField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=200, blank=True, default="")
    email_sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread",
            ),
            # The sweep and the digest read only the rows still in flight: a small index.
            models.Index(
                fields=["status", "due_at"],
                condition=Q(status__in=["pending", "sending", "digest", "digesting"]),
                name="notification_outbox",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status__in=["sending", "digesting"])
                | Q(claimed_at__isnull=False, claim_token__isnull=False),
                name="notification_in_flight_is_claimed",
            ),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="notification_delivered_has_delivered_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Notification {self.code} ({self.event})"

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationPreference(models.Model):
    """A member's channel for one event type, when it differs from the event's default."""

    member = models.ForeignKey("directory.Member", models.CASCADE, related_name="+")
    event = models.CharField(_("événement"), max_length=64)
    channel = models.CharField(_("canal"), max_length=16, choices=Channel.choices)

    class Meta:
        verbose_name = _("préférence de notification")
        constraints = [
            models.UniqueConstraint(
                fields=["member", "event"], name="notification_preference_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} {self.event}: {self.channel}"


class NotificationSettings(models.Model):
    """A member's quiet hours, in the CPTS's local time (settings.TIME_ZONE, Europe/Paris).

    During quiet hours e-mails wait; in-app notifications do not. A period may span midnight
    (20:00 → 07:30).
    """

    member = models.OneToOneField("directory.Member", models.CASCADE, related_name="+")
    quiet_hours_start = models.TimeField(_("début des heures calmes"), null=True, blank=True)
    quiet_hours_end = models.TimeField(_("fin des heures calmes"), null=True, blank=True)

    class Meta:
        verbose_name = _("réglages de notification")
        verbose_name_plural = _("réglages de notification")
        constraints = [
            models.CheckConstraint(
                condition=Q(quiet_hours_start__isnull=True, quiet_hours_end__isnull=True)
                | (
                    Q(quiet_hours_start__isnull=False, quiet_hours_end__isnull=False)
                    & ~Q(quiet_hours_start=models.F("quiet_hours_end"))
                ),
                name="notification_settings_quiet_hours_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.quiet_hours_start}–{self.quiet_hours_end}"
