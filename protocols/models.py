"""Shared protocols and the CPTS resource guide.

Protocols (DOMAIN.md B §5): a `Protocol` is the stable identity ("Chute sous anticoagulant",
code CHUTE-01); its content lives in numbered `ProtocolVersion`s that move through

    draft ──submit──▶ in_review ──publish──▶ published ──retire──▶ retired
      ▲                  │                       │
      └─request changes──┘                       └─(a newer version is published)─▶ superseded

A published version is never edited again: the next one is drafted from it. The database
enforces one published and one open (draft or in review) version per protocol, so that two
concurrent publications cannot both win. Protocols hold no patient data: their content is
stored in clear and searchable. The one exception is `Inclusion` (a patient included in a
protocol), whose identity is encrypted like a liaison sheet's.

The resource guide extends the directory (whose models other apps depend on, so they are not
touched) with themes, the theme links of organisations and members ("who does what") and
office hours (permanences).
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import Q
from django.utils.timezone import localdate, now
from django.utils.translation import gettext_lazy as _

from directory.models import TimestampedModel
from security.fields import BlindIndexField, EncryptedJSONField

# The free-text sections of a version (CSP R4011-1, DOMAIN.md B §5.3 and §5.6), in reading
# order: (field, French title). Forms, API, diff, search and PDF all iterate over this list.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("objective", _("Objectif")),
    ("patients", _("Patients concernés")),
    ("inclusion_criteria", _("Critères d'inclusion")),
    ("exclusion_criteria", _("Critères d'exclusion")),
    ("urgent_exclusions", _("Critères d'exclusion urgents (orientation immédiate)")),
    ("withdrawal_criteria", _("Critères de retrait du patient")),
    ("derogatory_acts", _("Actes et activités dérogatoires")),
    ("non_derogatory_acts", _("Actes et activités non dérogatoires")),
    ("steps", _("Étapes et arbre de décision")),
    ("referral_back", _("Réorientation vers le délégant (situations et délais)")),
    ("information_flow", _("Transmission des informations à l'équipe de soins")),
    ("training", _("Formation requise")),
    ("patient_information", _("Information du patient")),
    ("indicators", _("Indicateurs de suivi")),
    ("adverse_events", _("Gestion des événements indésirables")),
)
SECTION_FIELDS = tuple(name for name, _title in SECTIONS)
# The measurable part of the délégués' training (R4011-1 3°, D4311-15-2: theory and practice
# hours, a minimum number of patients seen under supervision), next to the `training` text.
TRAINING_NUMBERS: tuple[tuple[str, str], ...] = (
    ("training_hours", _("Heures de formation (théorie et pratique)")),
    ("training_supervised_cases", _("Patients pris en charge sous supervision")),
)
TRAINING_FIELDS = tuple(name for name, _title in TRAINING_NUMBERS)
PROFESSION_FIELDS = ("delegant_professions", "delegate_professions", "professions")


class Theme(models.Model):
    """A heading of the resource guide: personnes âgées, addictions, santé mentale..."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slug = models.SlugField(_("identifiant"), max_length=60, unique=True)
    name = models.CharField(_("nom"), max_length=120, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    position = models.PositiveSmallIntegerField(_("ordre"), default=100)

    class Meta:
        ordering = ["position", "name"]
        verbose_name = _("thème")

    def __str__(self) -> str:
        return self.name


class Protocol(TimestampedModel):
    """The stable identity of a protocol; its content is in its versions."""

    class Kind(models.TextChoices):
        NATIONAL = "national", _("Coopération — protocole national")
        LOCAL = "local", _("Coopération — protocole local")
        PLURIPROFESSIONAL = "pluriprofessional", _("Protocole pluriprofessionnel")

    class Status(models.TextChoices):
        DRAFT = "draft", _("En préparation")
        IN_REVIEW = "in_review", _("En relecture")
        PUBLISHED = "published", _("En vigueur")
        RETIRED = "retired", _("Retiré")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        _("référence"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("Code court du protocole, ex. CHUTE-01 (noté dans le dossier patient)."),
    )
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices, db_index=True)
    # Denormalised from the versions by the services, in the transaction of each change, so
    # that the library filters and sorts without joining every version.
    title = models.CharField(_("titre"), max_length=200)
    status = models.CharField(
        _("état"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    current_version = models.OneToOneField(
        "ProtocolVersion", models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    # The key of the request that created it (the editor's form, an API Idempotency-Key): a
    # double click or a retry returns this protocol instead of making a second one.
    creation_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    themes = models.ManyToManyField(Theme, blank=True, related_name="protocols")
    # Search documents of the head version (the published one, else the latest): accent- and
    # case-folded stems for the SQLite fallback, a weighted tsvector on PostgreSQL.
    search_folded = models.TextField(blank=True, default="", editable=False)
    # " medecin_generaliste infirmier ": the professions named by the head version, framed by
    # spaces so that a profession filter is one portable LIKE (SQLite has no JSON contains).
    profession_tags = models.CharField(max_length=600, blank=True, default="", editable=False)
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["title", "pk"]
        verbose_name = _("protocole")
        constraints = [
            models.UniqueConstraint(
                fields=["reference"],
                condition=~Q(reference=""),
                name="protocol_unique_reference",
                violation_error_code="unique",
                violation_error_message=_("Cette référence de protocole est déjà utilisée."),
            ),
            models.UniqueConstraint(
                fields=["created_by", "creation_key"],
                condition=~Q(creation_key=""),
                name="protocol_unique_creation_key",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ProtocolVersion(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        IN_REVIEW = "in_review", _("En relecture")
        PUBLISHED = "published", _("En vigueur")
        SUPERSEDED = "superseded", _("Remplacée")
        RETIRED = "retired", _("Retirée")

    OPEN = (Status.DRAFT, Status.IN_REVIEW)
    RELEASED = (Status.PUBLISHED, Status.SUPERSEDED, Status.RETIRED)

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    protocol = models.ForeignKey(Protocol, models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("état"), max_length=16, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    # Bumped by every write: the ETag / If-Match of draft edits.
    revision = models.PositiveIntegerField(default=1)
    author = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    based_on = models.ForeignKey("self", models.SET_NULL, null=True, blank=True, related_name="+")
    review_round = models.PositiveIntegerField(default=0)

    title = models.CharField(_("titre"), max_length=200)
    change_note = models.TextField(_("ce qui change dans cette version"), blank=True, default="")
    legal_reference = models.CharField(
        _("référence réglementaire"),
        max_length=300,
        blank=True,
        default="",
        help_text=_("Arrêté d'autorisation, ou date de déclaration à l'ARS."),
    )
    review_date = models.DateField(_("date de révision"), null=True, blank=True)
    delegant_professions = models.JSONField(_("délégants"), default=list, blank=True)
    delegate_professions = models.JSONField(_("délégués"), default=list, blank=True)
    professions = models.JSONField(_("professions concernées"), default=list, blank=True)

    objective = models.TextField(_("objectif"), blank=True, default="")
    patients = models.TextField(_("patients concernés"), blank=True, default="")
    inclusion_criteria = models.TextField(_("critères d'inclusion"), blank=True, default="")
    exclusion_criteria = models.TextField(_("critères d'exclusion"), blank=True, default="")
    urgent_exclusions = models.TextField(_("critères d'exclusion urgents"), blank=True, default="")
    withdrawal_criteria = models.TextField(_("critères de retrait"), blank=True, default="")
    derogatory_acts = models.TextField(_("actes dérogatoires"), blank=True, default="")
    non_derogatory_acts = models.TextField(_("actes non dérogatoires"), blank=True, default="")
    steps = models.TextField(_("étapes et arbre de décision"), blank=True, default="")
    referral_back = models.TextField(_("réorientation vers le délégant"), blank=True, default="")
    information_flow = models.TextField(_("transmission des informations"), blank=True, default="")
    training = models.TextField(_("formation requise"), blank=True, default="")
    training_hours = models.PositiveSmallIntegerField(
        _("heures de formation (théorie et pratique)"), null=True, blank=True
    )
    training_supervised_cases = models.PositiveSmallIntegerField(
        _("patients pris en charge sous supervision"), null=True, blank=True
    )
    patient_information = models.TextField(_("information du patient"), blank=True, default="")
    indicators = models.TextField(_("indicateurs de suivi"), blank=True, default="")
    adverse_events = models.TextField(_("événements indésirables"), blank=True, default="")

    # A protocol holds no patient data (the issue says so, and the editor warns authors):
    # its PDF is an ordinary file, served only through the access-checked views.
    attachment = models.FileField(upload_to="protocols/%Y/", blank=True, default="")
    attachment_name = models.CharField(max_length=200, blank=True, default="")
    attachment_size = models.PositiveIntegerField(default=0)

    submitted_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    published_by = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    # Markers of the scheduled jobs: two beats in a row warn once.
    review_warned_at = models.DateTimeField(null=True, blank=True)
    review_overdue_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["protocol", "number"]
        verbose_name = _("version de protocole")
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "number"], name="protocol_version_unique_number"
            ),
            # The invariant the whole lifecycle leans on: one version in force at a time.
            models.UniqueConstraint(
                fields=["protocol"],
                condition=Q(status="published"),
                name="protocol_one_published_version",
            ),
            models.UniqueConstraint(
                fields=["protocol"],
                condition=Q(status__in=["draft", "in_review"]),
                name="protocol_one_open_version",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["published", "superseded", "retired"])
                | Q(published_at__isnull=False),
                name="protocol_version_released_has_published_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN

    @property
    def review_overdue(self) -> bool:
        """ "Revue en retard": the version in force is past its review date.

        Computed from the date, so that every page says it from the first day even if the
        nightly job (which also marks `review_overdue_at` and tells the authors) has not run.
        """
        if self.status != self.Status.PUBLISHED:
            return False
        if self.review_overdue_at is not None:
            return True
        return self.review_date is not None and self.review_date < localdate()

    @property
    def requires_training(self) -> bool:
        """A délégué must declare training when the version says which one is required."""
        return bool(self.training.strip() or self.training_hours or self.training_supervised_cases)


class ProtocolReview(models.Model):
    """A named reviewer's decision on one review round of a version."""

    class Decision(models.TextChoices):
        PENDING = "pending", _("En attente")
        APPROVED = "approved", _("Approuvée")
        CHANGES_REQUESTED = "changes_requested", _("Modifications demandées")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(ProtocolVersion, models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    round = models.PositiveIntegerField()
    decision = models.CharField(max_length=20, choices=Decision.choices, default=Decision.PENDING)
    comment = models.TextField(blank=True, default="")
    requested_at = models.DateTimeField(default=now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["round", "pk"]
        verbose_name = _("relecture")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "reviewer", "round"], name="protocol_review_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"review of {self.version_id} by {self.reviewer_id}: {self.decision}"


class Participation(models.Model):
    """A member registered in a protocol, as délégant, délégué or participant."""

    class Role(models.TextChoices):
        DELEGANT = "delegant", _("Délégant")
        DELEGATE = "delegate", _("Délégué")
        PARTICIPANT = "participant", _("Participant")

    class EndReason(models.TextChoices):
        LEFT = "left", _("Retrait")
        PROFESSION = "profession", _("Profession non prévue par la nouvelle version")
        TRAINING = "training", _("Formation exigée par la nouvelle version non déclarée")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    protocol = models.ForeignKey(Protocol, models.CASCADE, related_name="participations")
    member = models.ForeignKey("directory.Member", models.CASCADE, related_name="+")
    role = models.CharField(_("rôle"), max_length=16, choices=Role.choices)
    training_declared_at = models.DateTimeField(null=True, blank=True)
    training_details = models.CharField(max_length=300, blank=True, default="")
    registered_at = models.DateTimeField(default=now)
    registered_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)
    # Why it ended. Registration rules are checked at registration, so publishing a version
    # that changes the professions or the training requirement ends the participations that
    # no longer match it (`ended_by_version`), and the protocol page lists them.
    end_reason = models.CharField(
        _("motif de fin"), max_length=20, choices=EndReason.choices, blank=True, default=""
    )
    ended_by_version = models.ForeignKey(
        ProtocolVersion, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Marker of the acknowledgement reminder: the version the member was reminded about.
    reminded_version = models.ForeignKey(
        ProtocolVersion, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["registered_at", "pk"]
        verbose_name = _("participation")
        constraints = [
            models.UniqueConstraint(
                fields=["protocol", "member", "role"],
                condition=Q(ended_at__isnull=True),
                name="participation_unique_active",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} in {self.protocol_id} ({self.role})"


class Acknowledgement(models.Model):
    """ "Lu et approuvé": a member read this version, at this time."""

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(ProtocolVersion, models.CASCADE, related_name="acknowledgements")
    member = models.ForeignKey("directory.Member", models.CASCADE, related_name="+")
    acknowledged_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering = ["acknowledged_at", "pk"]
        verbose_name = _("lecture approuvée")
        constraints = [
            models.UniqueConstraint(fields=["version", "member"], name="acknowledgement_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} acknowledged {self.version_id}"


class Inclusion(models.Model):
    """A patient included in a protocol by one of its délégués (or participants), D4011-4-2.

    The only patient data of the app: the identity is encrypted (security.fields) next to
    the keyed blind indexes of `patients.identity`, exactly as a liaison sheet or a
    conversation stores it, so that the same search finds the patient everywhere. Dates,
    reasons and who included whom stay in clear: they are what the yearly report counts.
    """

    class EndReason(models.TextChoices):
        COMPLETED = "completed", _("Prise en charge terminée")
        WITHDRAWN = "withdrawn", _("Retrait du consentement")
        REFERRED = "referred", _("Réorienté vers le médecin délégant")
        EXCLUSION = "exclusion", _("Critère d'exclusion ou de retrait apparu")
        ADVERSE_EVENT = "adverse_event", _("Événement indésirable")
        OTHER = "other", _("Autre motif")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    protocol = models.ForeignKey(Protocol, models.PROTECT, related_name="inclusions")
    included_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    # The version in force when the patient was included: what the patient was told about.
    version = models.ForeignKey(ProtocolVersion, models.PROTECT, related_name="+")
    patient = EncryptedJSONField()
    ins_index = BlindIndexField()
    birth_name_index = BlindIndexField()
    used_name_index = BlindIndexField()
    included_on = models.DateField(_("date d'inclusion"), db_index=True)
    # The patient was informed and agreed (R4011-1: information of the patient): who, when.
    informed_on = models.DateField(_("date de l'information et du consentement"))
    informed_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    ended_on = models.DateField(_("date de sortie"), null=True, blank=True)
    end_reason = models.CharField(
        _("motif de sortie"), max_length=20, choices=EndReason.choices, blank=True, default=""
    )
    ended_by = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=now)
    creation_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-included_on", "-pk"]
        verbose_name = _("inclusion d'un patient")
        constraints = [
            models.UniqueConstraint(
                fields=["included_by", "creation_key"],
                condition=~Q(creation_key=""),
                name="inclusion_unique_creation_key",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True, end_reason="")
                | (Q(ended_on__isnull=False) & ~Q(end_reason="")),
                name="inclusion_end_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(ended_on__isnull=True) | Q(ended_on__gte=models.F("included_on")),
                name="inclusion_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Inclusion {self.code}"  # never the patient

    @property
    def is_ongoing(self) -> bool:
        return self.ended_on is None


class OrganisationTheme(models.Model):
    """An organisation appears in the guide under this theme, saying what it does there."""

    organisation = models.ForeignKey(
        "directory.Organisation", models.CASCADE, related_name="guide_themes"
    )
    theme = models.ForeignKey(Theme, models.CASCADE, related_name="organisation_links")
    note = models.CharField(
        _("ce que la structure propose"), max_length=300, blank=True, default=""
    )

    class Meta:
        verbose_name = _("thème d'une structure")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "theme"], name="organisation_theme_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation_id} / {self.theme_id}"


class MemberTheme(models.Model):
    """A professional appears in the guide under this theme."""

    member = models.ForeignKey("directory.Member", models.CASCADE, related_name="guide_themes")
    theme = models.ForeignKey(Theme, models.CASCADE, related_name="member_links")
    note = models.CharField(
        _("ce que le professionnel propose"), max_length=300, blank=True, default=""
    )

    class Meta:
        verbose_name = _("thème d'un professionnel")
        constraints = [
            models.UniqueConstraint(fields=["member", "theme"], name="member_theme_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} / {self.theme_id}"


class OfficeHours(models.Model):
    """A weekly permanence of an organisation or of a member (exactly one of the two)."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("lundi")
        TUESDAY = 1, _("mardi")
        WEDNESDAY = 2, _("mercredi")
        THURSDAY = 3, _("jeudi")
        FRIDAY = 4, _("vendredi")
        SATURDAY = 5, _("samedi")
        SUNDAY = 6, _("dimanche")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "directory.Organisation",
        models.CASCADE,
        null=True,
        blank=True,
        related_name="office_hours",
    )
    member = models.ForeignKey(
        "directory.Member", models.CASCADE, null=True, blank=True, related_name="office_hours"
    )
    weekday = models.PositiveSmallIntegerField(_("jour"), choices=Weekday.choices)
    starts_at = models.TimeField(_("début"))
    ends_at = models.TimeField(_("fin"))
    location = models.CharField(_("lieu"), max_length=200, blank=True, default="")
    details = models.CharField(_("précisions"), max_length=200, blank=True, default="")

    class Meta:
        ordering = ["weekday", "starts_at", "pk"]
        verbose_name = _("permanence")
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=True, member__isnull=False)
                | Q(organisation__isnull=False, member__isnull=True),
                name="office_hours_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="office_hours_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="office_hours_valid_weekday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.starts_at:%H:%M}-{self.ends_at:%H:%M}"
