"""The agenda of the CPTS: events, who is invited and registered, who came, what they thought.

An event is a meeting, a training, a social worker's permanence at a health centre, a case
meeting (RCP) or the annual day, whose sessions are events with a `parent`. A recurring
event (a monthly permanence) is stored as its occurrences: the first holds the rule, the
others point to it through `series`; each occurrence has its own registrations and attendance,
which is what the indicators count.

What identifies people is kept where it must be: a case meeting's patient identity is
encrypted with the sheets' fields and blind indexes; a survey answer holds no member (only
the registration's "has answered" flag says who answered, never what).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from directory.models import Member, TimestampedModel
from security.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField
from security.files import EncryptedFileField


class Sector(models.TextChoices):
    """The publics the action plans name: who is on the health side, who on the social one."""

    MEDICAL = "medical", _("Médical et paramédical")
    SOCIAL = "social", _("Social")
    MEDICO_SOCIAL = "medico_social", _("Médico-social")
    ELECTED = "elected", _("Élus")
    STUDENTS = "students", _("Étudiants et internes")


class Event(TimestampedModel):
    class Kind(models.TextChoices):
        MEETING = "meeting", _("Réunion")
        TRAINING = "training", _("Formation")
        PERMANENCE = "permanence", _("Permanence")
        CASE_MEETING = "case_meeting", _("Réunion de concertation pluriprofessionnelle")
        ANNUAL_DAY = "annual_day", _("Journée annuelle")

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Programmé")
        CANCELLED = "cancelled", _("Annulé")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.PositiveIntegerField(default=1)
    kind = models.CharField(_("type"), max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(
        _("statut"), max_length=12, choices=Status.choices, default=Status.SCHEDULED
    )
    title = models.CharField(_("titre"), max_length=200)
    theme = models.CharField(_("thème"), max_length=300, blank=True, default="")
    description = models.TextField(_("description"), blank=True, default="")
    organiser = models.ForeignKey(
        "directory.Member", models.PROTECT, related_name="+", verbose_name=_("organisateur")
    )
    organisation = models.ForeignKey(
        "directory.Organisation",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("structure d'accueil"),
    )
    place = models.CharField(_("lieu"), max_length=300, blank=True, default="")
    video_link = models.URLField(_("lien de visioconférence"), blank=True, default="")
    starts_at = models.DateTimeField(_("début"), db_index=True)
    ends_at = models.DateTimeField(_("fin"))
    # None: no limit. Registrations beyond it go to the waiting list.
    capacity = models.PositiveIntegerField(_("nombre de places"), null=True, blank=True)
    # The publics it targets: professions (directory.Member.Profession) and sectors (Sector).
    professions = models.JSONField(_("professions visées"), default=list, blank=True)
    sectors = models.JSONField(_("secteurs visés"), default=list, blank=True)
    open_to_public = models.BooleanField(_("ouvert au public"), default=False)
    # The sessions of the annual day point to the day.
    parent = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="sessions"
    )
    # A recurring event: the first occurrence holds the rule (events.recurrence), the others
    # point to it. Editing or cancelling acts on one occurrence.
    series = models.ForeignKey(
        "self", models.CASCADE, null=True, blank=True, related_name="occurrences"
    )
    recurrence = models.JSONField(default=dict, blank=True)
    # A case meeting may concern a patient: the identity is encrypted and searched by the
    # blind indexes of patients.identity, like a liaison sheet's; only the invited see it.
    patient = EncryptedJSONField(null=True, blank=True, default=None)
    ins_index = BlindIndexField()
    birth_name_index = BlindIndexField()
    used_name_index = BlindIndexField()
    # Markers of the scheduled jobs, each claimed by a conditional UPDATE (events.alerts).
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    survey_sent_at = models.DateTimeField(null=True, blank=True)
    survey_reminded_at = models.DateTimeField(null=True, blank=True)
    creation_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["starts_at", "pk"]
        verbose_name = _("événement")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="event_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["organiser", "creation_key"],
                condition=~Q(creation_key=""),
                name="event_unique_creation_key",
            ),
            models.CheckConstraint(
                condition=Q(patient__isnull=True) | Q(kind="case_meeting"),
                name="event_patient_only_in_case_meeting",
            ),
        ]

    def __str__(self) -> str:
        return f"Event {self.code}"  # never the title: a case meeting's may name the patient

    @property
    def is_case_meeting(self) -> bool:
        return self.kind == self.Kind.CASE_MEETING

    @property
    def is_past(self) -> bool:
        return self.starts_at <= now()


class Invitation(models.Model):
    """Who is invited: a member, every member of an organisation, or a whole profession."""

    event = models.ForeignKey(Event, models.CASCADE, related_name="invitations")
    member = models.ForeignKey(
        "directory.Member", models.CASCADE, null=True, blank=True, related_name="+"
    )
    organisation = models.ForeignKey(
        "directory.Organisation", models.CASCADE, null=True, blank=True, related_name="+"
    )
    profession = models.CharField(
        max_length=32, choices=Member.Profession.choices, blank=True, default=""
    )
    invited_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(member__isnull=False, organisation__isnull=True, profession="")
                    | Q(member__isnull=True, organisation__isnull=False, profession="")
                    | (Q(member__isnull=True, organisation__isnull=True) & ~Q(profession=""))
                ),
                name="invitation_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"Invitation {self.pk} to {self.event_id}"


class Registration(models.Model):
    """A member's (or an external person's) answer to an event, and whether they came.

    The profession and sector are copied when the person registers: the indicators count who
    came as they were then, and an external participant has no member to read them from.
    No `updated_at`: a change of time on this row must not tell when the survey was answered.
    """

    class Status(models.TextChoices):
        REGISTERED = "registered", _("Inscrit")
        WAITLISTED = "waitlisted", _("En liste d'attente")
        DECLINED = "declined", _("Ne participe pas")
        CANCELLED = "cancelled", _("Inscription annulée")

    class Method(models.TextChoices):
        LIST = "list", _("Liste d'émargement")
        QR = "qr", _("QR code")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(Event, models.CASCADE, related_name="registrations")
    member = models.ForeignKey(
        "directory.Member", models.CASCADE, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, db_index=True)
    created_at = models.DateTimeField(default=now)
    # An external participant (an elected official, an intern): who, and their consent.
    external_name = models.CharField(max_length=200, blank=True, default="")
    external_email = models.EmailField(blank=True, default="")
    consent_to_contact = models.BooleanField(default=False)
    consent_at = models.DateTimeField(null=True, blank=True)
    profession = models.CharField(max_length=32, blank=True, default="")
    sector = models.CharField(max_length=16, choices=Sector.choices, blank=True, default="")
    attended_at = models.DateTimeField(null=True, blank=True)
    attendance_method = models.CharField(
        max_length=8, choices=Method.choices, blank=True, default=""
    )
    survey_answered = models.BooleanField(default=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "member"],
                condition=Q(member__isnull=False),
                name="registration_unique_member",
            ),
            models.CheckConstraint(
                condition=Q(member__isnull=False) | ~Q(external_email=""),
                name="registration_member_or_external",
            ),
        ]
        indexes = [models.Index(fields=["event", "status"], name="registration_event_status")]

    def __str__(self) -> str:
        return f"Registration {self.code}"


class SurveyAnswer(models.Model):
    """One survey answer, anonymous: no member, no registration, no time.

    The registration's `survey_answered` flag says that someone answered, and this row what
    was answered; nothing joins them. Not even the order: a sequential id would line the
    answers up with the audit trail's "survey answered" entries (which name who, and when),
    so the id is random. `member` is set only for an event whose survey is not anonymous
    (`anonymous` False), which no event of the demo uses.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(Event, models.CASCADE, related_name="survey_answers")
    scores = models.JSONField(default=dict)  # {"usefulness": 4, ...}, each 1-5
    comment = models.TextField(blank=True, default="")
    member = models.ForeignKey(
        "directory.Member", models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"SurveyAnswer {self.pk}"


class EventDocument(models.Model):
    """Minutes or slides, encrypted like every other file; seen by the event's participants."""

    class Kind(models.TextChoices):
        MINUTES = "minutes", _("Compte rendu")
        SLIDES = "slides", _("Support de présentation")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.ForeignKey(Event, models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    uploaded_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    filename = EncryptedTextField()  # a case meeting's minutes may be named after the patient
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    file = EncryptedFileField()

    def __str__(self) -> str:
        return f"EventDocument {self.code}"


class CalendarFeed(models.Model):
    """A member's personal iCalendar feed: only the digest of its secret URL is kept.

    Revoking it (or asking for a new one) replaces the digest: the old URL answers 404.
    """

    member = models.OneToOneField("directory.Member", models.CASCADE, related_name="+")
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=now)

    def __str__(self) -> str:
        return f"CalendarFeed of {self.member_id}"
