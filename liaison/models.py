"""Liaison sheets: the referral (fiche de liaison d'entrée) and the discharge letter.

Field names follow DOMAIN.md Part A, the contract other software codes against. Patient
identity and every clinical section are encrypted at rest (security.fields); what stays in
clear is what the loop needs to query and alert on: kind, status, urgency, organisations,
members, and the two stay dates that drive the alerts and indicators (planned date, discharge
date; the admission date is only in the encrypted content). docs/security.md says what these
reveal without the identity, and tests/liaison/test_stay_dates_at_rest.py pins the list.
Patient search goes through keyed blind indexes, never through the clear identity.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import models
from django.db.models import Q
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from directory.models import TimestampedModel
from security.fields import BlindIndexField, EncryptedJSONField, EncryptedTextField
from security.files import EncryptedFileField


class LiaisonSheet(TimestampedModel):
    class Kind(models.TextChoices):
        REFERRAL = "referral", _("Fiche de liaison d'entrée")
        DISCHARGE = "discharge", _("Lettre de liaison de sortie")
        # A request for a specialist's written opinion (expertise app: detail, tracing).
        EXPERTISE = "expertise", _("Demande d'avis (télé-expertise)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Brouillon")
        SENT = "sent", _("Envoyée")
        RECEIVED = "received", _("Réception accusée")
        ACCEPTED = "accepted", _("Acceptée")
        DECLINED = "declined", _("Refusée")
        CANCELLED = "cancelled", _("Annulée")
        NO_SHOW = "no_show", _("Patient non venu")
        CLOSED = "closed", _("Clôturée")
        # Tele-expertise only (liaison.states declares which kind reaches which state).
        TAKEN = "taken", _("Prise en charge")
        MORE_INFO_REQUESTED = "more_info_requested", _("Précisions demandées")
        ANSWERED = "answered", _("Avis rendu")

    class Urgency(models.TextChoices):
        ROUTINE = "routine", _("Programmée")
        URGENT = "urgent", _("Urgente")
        EMERGENCY = "emergency", _("Urgence vitale")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, db_index=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.DRAFT)
    # Optimistic concurrency for draft edits: the ETag / If-Match value.
    version = models.PositiveIntegerField(default=1)

    author = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    sender_organisation = models.ForeignKey(
        "directory.Organisation", models.PROTECT, related_name="+"
    )
    recipient_organisation = models.ForeignKey(
        "directory.Organisation", models.PROTECT, null=True, blank=True, related_name="+"
    )
    # A discharge letter answers a referral (closing the loop); a declined referral may be
    # redirected to another service, which creates a new referral pointing to the first.
    referral = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="discharge_letters"
    )
    redirected_from = models.ForeignKey(
        "self", models.PROTECT, null=True, blank=True, related_name="redirections"
    )
    # Versions of one discharge letter share a set id (CDA setId); each has its number.
    set_id = models.UUIDField(default=uuid.uuid4, db_index=True, editable=False)
    document_version = models.PositiveIntegerField(default=1)
    previous_version = models.OneToOneField(
        "self", models.PROTECT, null=True, blank=True, related_name="next_version"
    )

    patient = EncryptedJSONField(default=dict)
    content = EncryptedJSONField(default=dict)
    ins_index = BlindIndexField()
    birth_name_index = BlindIndexField()
    used_name_index = BlindIndexField()

    urgency = models.CharField(max_length=16, choices=Urgency.choices, blank=True, default="")
    document_status = models.CharField(max_length=16, blank=True, default="")
    # In clear for the alerts (missing discharge letter: planned date + grace; late letter:
    # discharge date) and the indicators (delay from discharge to sending). The admission
    # date serves neither: it stays in the encrypted content only.
    planned_date = models.DateField(null=True, blank=True)
    discharge_date = models.DateField(null=True, blank=True)

    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)
    received_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Markers of the scheduled alerts: two beats in a row send one alert.
    receipt_alerted_at = models.DateTimeField(null=True, blank=True)
    receipt_escalated_at = models.DateTimeField(null=True, blank=True)
    discharge_reminded_at = models.DateTimeField(null=True, blank=True)
    late_discharge_alerted_at = models.DateTimeField(null=True, blank=True)

    creation_key = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["recipient_organisation", "status", "-sent_at"]),
            models.Index(fields=["sender_organisation", "status", "-created_at"]),
            # A service's inbox triaged (liaison.selectors.TriagedList): every column the
            # ordering reads, so the page's ids come from an index-only scan.
            models.Index(
                fields=[
                    *("recipient_organisation", "status", "kind", "urgency", "sent_at"),
                    *("planned_date", "discharge_date", "created_at", "id"),
                ],
                name="liaison_sheet_triage",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="draft") | Q(sent_at__isnull=False),
                name="liaison_sheet_sent_has_sent_at",
            ),
            models.UniqueConstraint(
                fields=["author", "creation_key"],
                condition=~Q(creation_key=""),
                name="liaison_sheet_unique_creation_key",
            ),
            models.UniqueConstraint(
                fields=["set_id", "document_version"], name="liaison_sheet_unique_version"
            ),
        ]

    def __str__(self) -> str:
        return f"LiaisonSheet {self.code}"  # never the patient's name: __str__ ends up in logs

    @property
    def is_referral(self) -> bool:
        return self.kind == self.Kind.REFERRAL


class SheetParticipant(models.Model):
    """A named member of the loop: a copied care-team member or a discharge recipient.

    Receipts live here: when the sheet reached them and when they read it.
    """

    class Role(models.TextChoices):
        COPY = "copy", _("En copie")
        RECIPIENT = "recipient", _("Destinataire")

    sheet = models.ForeignKey(LiaisonSheet, models.CASCADE, related_name="participants")
    member = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    role = models.CharField(max_length=16, choices=Role.choices)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sheet", "member"], name="sheet_participant_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id} on {self.sheet_id} ({self.role})"


class SheetFiling(models.Model):
    """A member filed ("Classer") a sheet they received: it leaves their "À traiter" list.

    Per member: a colleague of the same service still sees it to handle. Removing the row
    un-files it. Only the fact and the moment are stored, nothing about the patient.
    """

    sheet = models.ForeignKey(LiaisonSheet, models.CASCADE, related_name="filings")
    member = models.ForeignKey("directory.Member", models.CASCADE, related_name="+")
    filed_at = models.DateTimeField(default=now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sheet", "member"], name="sheet_filing_unique"),
        ]
        indexes = [models.Index(fields=["member", "sheet"], name="sheet_filing_member")]

    def __str__(self) -> str:
        return f"{self.member_id} filed {self.sheet_id}"


class ImmutableEvent(Exception):
    """A timeline event was about to be changed or removed: a programming error."""


class SheetEventQuerySet(models.QuerySet["SheetEvent"]):
    """Bulk writes would bypass `SheetEvent.save`/`delete`: refuse them too."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableEvent("sheet events are never updated")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableEvent("sheet events are never deleted")


# What a person reads for each step of the timeline (SheetEvent.action keeps the machine code).
EVENT_ACTION_LABELS = {
    "send": _("Envoi"),
    "receive": _("Accusé de réception"),
    "accept": _("Acceptation"),
    "decline": _("Refus"),
    "cancel": _("Annulation"),
    "no_show": _("Patient non venu"),
    "reopen": _("Relance"),
    "close": _("Clôture"),
    "redirect": _("Réorientation"),
    "note": _("Note"),
    "take": _("Prise en charge de la demande d'avis"),
    "ask_more": _("Demande de précisions"),
    "resend": _("Demande complétée et renvoyée"),
    "answer": _("Avis rendu"),
    "refuse": _("Demande d'avis déclinée"),
    "withdraw": _("Demande d'avis annulée"),
    "acknowledge": _("Avis lu, demande clôturée"),
}


class SheetEvent(models.Model):
    """One immutable step of the loop: who moved the sheet from which state to which, when.

    The timeline is evidence of who did what: the ORM refuses to update or delete a row
    (save of an existing row, delete, queryset update/delete). Only drafts are ever deleted
    (liaison.services.drafts.delete_draft) and a draft has no events (the first one is
    "send"), so the sheet foreign key PROTECTs: deleting a sheet that has a timeline fails
    instead of silently taking the timeline with it.
    """

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sheet = models.ForeignKey(LiaisonSheet, models.PROTECT, related_name="events")
    actor = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    at = models.DateTimeField(default=now, db_index=True)
    action = models.CharField(max_length=32)
    from_status = models.CharField(max_length=24, blank=True, default="")
    to_status = models.CharField(max_length=24, blank=True, default="")
    note = EncryptedTextField(blank=True, default="")
    idempotency_key = models.CharField(max_length=64, blank=True, default="")

    objects = SheetEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["actor", "action", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="sheet_event_unique_idempotency_key",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.action} on {self.sheet_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableEvent("sheet events are never updated")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableEvent("sheet events are never deleted")

    def get_action_display(self) -> str:
        """The step in French; an action this list does not know yet shows as is."""
        return str(EVENT_ACTION_LABELS.get(self.action, self.action))

    def get_to_status_display(self) -> str:
        """The state reached, by its label (the machine code stays in the row and the API)."""
        choices = dict(LiaisonSheet.Status.choices)
        return str(choices.get(self.to_status, self.to_status))


class SheetAttachment(models.Model):
    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sheet = models.ForeignKey(LiaisonSheet, models.CASCADE, related_name="attachments")
    uploaded_by = models.ForeignKey("directory.Member", models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=now)
    filename = EncryptedTextField()  # "CR-Dupont.pdf" names the patient
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    file = EncryptedFileField()

    def __str__(self) -> str:
        return f"SheetAttachment {self.code}"


class IndicatorCount(models.Model):
    """One cell of the coordinator's indicators, kept up to date as sheets move.

    `scope` is 0 for the whole CPTS, or an organisation's id: a sheet counts once in each
    organisation whose filtered table shows it (the organisations it was sent from or to, or
    that a letter reaches, and their parents), so reading one organisation's table is reading
    its own rows. `measure` names a count ("sent", "received", ...) or a distribution
    ("receipt_m": minutes from sending to receipt, one row per minute that occurs); `bucket`
    is 0 for counts, the value for distributions, the day of the month for "open" (referrals
    still waiting, by day of sending, for "without a letter after 30 days").
    liaison.outputs.aggregates maintains and reads them; docs/outputs.md says why.
    No patient data: counts of clear columns only.
    """

    scope = models.BigIntegerField()
    month = models.CharField(max_length=7)  # "YYYY-MM", of sending, Europe/Paris
    measure = models.CharField(max_length=16)
    bucket = models.IntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            # Reads select a scope and measures, then a range of months (and of minutes):
            # in that order, each is a seek in this index.
            models.UniqueConstraint(
                fields=["scope", "measure", "month", "bucket"], name="indicator_count_cell"
            )
        ]

    def __str__(self) -> str:
        return f"IndicatorCount {self.scope} {self.month} {self.measure} {self.bucket}"


# --- Tele-expertise (liaison.expertise; docs/teleexpertise.md) ---------------------------


class ExpertiseRequest(models.Model):
    """What a tele-expertise request holds besides its sheet (kind "expertise").

    The sheet keeps the identity, the question and the context (encrypted), the state, the
    timeline and the attachments. This row keeps the loop's people and times in clear (they
    drive the worklist, the alerts, the billing trace and the indicators, and say nothing
    about the patient), the structured answer encrypted, and the patient key of the billing
    counts: a blind index copied from the sheet's own, never decrypted to count.
    """

    class Consultation(models.TextChoices):
        NOT_NEEDED = "not_needed", _("Pas de consultation nécessaire")
        ROUTINE = "routine", _("Consultation à programmer")
        SOON = "soon", _("Consultation dans les 15 jours")
        URGENT = "urgent", _("Consultation urgente")

    code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    sheet = models.OneToOneField(LiaisonSheet, models.CASCADE, related_name="expertise")
    specialty = models.CharField(max_length=32, blank=True, default="", db_index=True)
    # The patient for the yearly counts (DOMAIN.md C.1): the INS index, else the birth name
    # and date index of the sheet. Two requests about one patient share it.
    patient_key = BlindIndexField()

    # Consent to a remote opinion (C.1): who recorded it and when; required to send.
    consent_by = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    consent_at = models.DateTimeField(null=True, blank=True)

    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    taken_by = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    taken_at = models.DateTimeField(null=True, blank=True)
    first_sent_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey(
        "directory.Member", models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True, db_index=True)
    answer_read_at = models.DateTimeField(null=True, blank=True)
    # The opinion, the recommended actions (encrypted); whether a consultation is needed is
    # in clear: the "avoided a consultation" indicator counts it without decrypting.
    answer = EncryptedJSONField(default=dict)
    consultation = models.CharField(
        max_length=16, choices=Consultation.choices, blank=True, default=""
    )
    referral = models.ForeignKey(
        LiaisonSheet, models.SET_NULL, null=True, blank=True, related_name="+"
    )
    suggested_organisation = models.ForeignKey(
        "directory.Organisation", models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Billing: requester and expert in the same MSP is not billable (C.1).
    same_msp = models.BooleanField(default=False)

    # Markers of the scheduled alerts (expertise.services.alerts).
    take_alerted_at = models.DateTimeField(null=True, blank=True)
    take_escalated_at = models.DateTimeField(null=True, blank=True)
    answer_reminded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["answered_by", "patient_key", "answered_at"], name="expertise_expert"
            ),
        ]

    def __str__(self) -> str:
        return f"ExpertiseRequest {self.sheet_id}"  # never the patient
