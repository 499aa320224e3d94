"""The data dictionary of the two liaison documents (DOMAIN.md Part A) as validators.

Two levels of validation, as Part A says:
- shape, always: types, choices, identifier keys (a draft may be incomplete, never malformed);
- "required to send": checked by `missing_for_send`, which lists *every* missing field so the
  sender fixes them in one go (400 on send).

The patient identity both documents carry (and conversations too) is `patients.identity`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.timezone import localdate
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import StrictSerializer
from liaison import catalogue
from patients.identity import identity_errors
from security.text import fold

ENTRY_MODES = ["emergency", "scheduled", "transfer", "other"]
EXIT_MODES = ["home", "ssr", "had", "ehpad", "other_hospital", "other", "death"]
URGENCIES = ["routine", "urgent", "emergency"]
CHANGES = ["new", "modified", "continued"]
DOCUMENT_STATUSES = ["in_progress", "final"]
LONG_TERM_WORDINGS = frozenset({"au long cours", "long cours"})


def text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class MedicationSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    dose = text(max_length=100)
    frequency = text(max_length=100)
    route = text(max_length=60)
    start_date = serializers.DateField(required=False, allow_null=True)
    end_date = serializers.DateField(required=False, allow_null=True)
    comment = text(max_length=500)


class DischargeMedicationSerializer(MedicationSerializer):
    duration = text(max_length=100)
    # A long-term treatment ("au long cours") has no duration to give.
    long_term = serializers.BooleanField(required=False)
    change = serializers.ChoiceField(CHANGES, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # One meaning, one value: "au long cours" typed as the duration is the box ticked
        # (as the FHIR import reads it back), and an unticked box is not stored.
        if fold(attrs.get("duration") or "").strip(" .") in LONG_TERM_WORDINGS:
            attrs.pop("duration")
            attrs["long_term"] = True
        if not attrs.get("long_term"):
            attrs.pop("long_term", None)
        return attrs


class StoppedMedicationSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    reason = text(max_length=500)


class AllergySerializer(StrictSerializer):
    substance = serializers.CharField(max_length=200)
    reaction = text(max_length=300)
    severity = text(max_length=60)
    status = text(max_length=60)


class PersonSerializer(StrictSerializer):
    name = text(max_length=150)
    relationship = text(max_length=100)
    phone = text(max_length=30)


class SocialContextSerializer(StrictSerializer):
    lives_alone = serializers.BooleanField(required=False, allow_null=True)
    home_help = text(max_length=500)
    caregiver = text(max_length=500)
    social_worker = text(max_length=500)


class DeviceSerializer(StrictSerializer):
    description = serializers.CharField(max_length=300)
    date = serializers.DateField(required=False, allow_null=True)
    identifier = text(max_length=100)


class ExamRequestSerializer(StrictSerializer):
    what = serializers.CharField(max_length=300)
    by_date = serializers.DateField(required=False, allow_null=True)


class ConsultationSerializer(StrictSerializer):
    date = serializers.DateField(required=False, allow_null=True)
    note = text(max_length=500)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `with` is the contract's key and a Python keyword: it cannot be a class attribute.
        return {"with": serializers.CharField(max_length=200), **super().get_fields()}


class FollowUpSerializer(StrictSerializer):
    acts = serializers.ListField(child=serializers.CharField(max_length=300), required=False)
    exam_requests = ExamRequestSerializer(many=True, required=False)
    consultations = ConsultationSerializer(many=True, required=False)
    recommendations = text(max_length=5000)


LONG = 20000


class ReferralContentSerializer(StrictSerializer):
    """Clinical sections of a referral (R1112-1-1; CI-SIS LDL-EES)."""

    urgency = serializers.ChoiceField(URGENCIES, required=False, allow_blank=True)
    entry_mode = serializers.ChoiceField(ENTRY_MODES, required=False, allow_blank=True)
    expected_date = serializers.DateField(required=False, allow_null=True)
    reason = text(max_length=LONG)
    medications = MedicationSerializer(many=True, required=False)
    medications_none = serializers.BooleanField(required=False, default=False)
    allergies = AllergySerializer(many=True, required=False)
    allergies_none_known = serializers.BooleanField(required=False, default=False)
    medical_history = text(max_length=LONG)
    surgical_history = text(max_length=LONG)
    social_context = SocialContextSerializer(required=False)
    advance_directives = text(max_length=LONG)
    trusted_person = PersonSerializer(required=False)
    emergency_contact = PersonSerializer(required=False)
    comment = text(max_length=LONG)
    contact_back = text(max_length=1000)


class DischargeContentSerializer(StrictSerializer):
    """Clinical sections of a discharge letter (R1112-1-2; CI-SIS LDL-SES)."""

    document_status = serializers.ChoiceField(DOCUMENT_STATUSES, required=False, allow_blank=True)
    admission_date = serializers.DateField(required=False, allow_null=True)
    discharge_date = serializers.DateField(required=False, allow_null=True)
    entry_mode = serializers.ChoiceField(ENTRY_MODES, required=False, allow_blank=True)
    exit_mode = serializers.ChoiceField(EXIT_MODES, required=False, allow_blank=True)
    reason = text(max_length=LONG)
    stay_summary = text(max_length=LONG)
    adverse_events = text(max_length=LONG)
    mdro_search_done = serializers.BooleanField(required=False, allow_null=True, default=None)
    mdro_identified = text(max_length=LONG)
    transfusion = serializers.BooleanField(required=False, allow_null=True, default=None)
    transfusion_incidents = text(max_length=LONG)
    blood_derivatives = serializers.BooleanField(required=False, allow_null=True, default=None)
    blood_derivatives_incidents = text(max_length=LONG)
    implanted_devices = DeviceSerializer(many=True, required=False)
    discharge_medications = DischargeMedicationSerializer(many=True, required=False)
    discharge_medications_none = serializers.BooleanField(required=False, default=False)
    stopped_medications = StoppedMedicationSerializer(many=True, required=False)
    pending_results = text(max_length=LONG)
    follow_up = FollowUpSerializer(required=False)
    allergies = AllergySerializer(many=True, required=False)
    allergies_none_known = serializers.BooleanField(required=False, default=False)
    hospital_contact = text(max_length=2000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        admission, discharge = attrs.get("admission_date"), attrs.get("discharge_date")
        if admission and discharge and discharge < admission:
            raise serializers.ValidationError({"discharge_date": [DISCHARGE_BEFORE_ADMISSION]})
        explicit = self.context.get("explicit", set(self.initial_data or {}))
        pending = bool(attrs.get("pending_results"))
        if pending and attrs.get("document_status") == "final" and "document_status" in explicit:
            raise serializers.ValidationError(
                {"document_status": [_("Des résultats sont attendus : le document est en cours.")]}
            )
        if pending:
            attrs["document_status"] = "in_progress"
        elif "document_status" not in explicit or not attrs.get("document_status"):
            # Results arrived (or none were awaited): the letter is final unless told otherwise.
            attrs["document_status"] = "final"
        return attrs


SPECIALTIES = [key for key, _label in catalogue.SPECIALTY]


class ExpertiseContentSerializer(StrictSerializer):
    """The clinical part of a tele-expertise request (DOMAIN.md Part C.1; expertise app)."""

    specialty = serializers.ChoiceField(SPECIALTIES, required=False, allow_blank=True)
    urgency = serializers.ChoiceField(URGENCIES, required=False, allow_blank=True)
    question = text(max_length=LONG)
    medical_history = text(max_length=LONG)
    medications = MedicationSerializer(many=True, required=False)
    allergies = AllergySerializer(many=True, required=False)
    allergies_none_known = serializers.BooleanField(required=False, default=False)
    comment = text(max_length=LONG)
    patient_consent = serializers.BooleanField(required=False, default=False)


CONTENT_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    "referral": ReferralContentSerializer,
    "discharge": DischargeContentSerializer,
    "expertise": ExpertiseContentSerializer,
}
CONTENT_KEYS = {kind: list(cls().fields) for kind, cls in CONTENT_SERIALIZERS.items()}

REQUIRED = _("Obligatoire pour envoyer.")
# A column a ticked box of its line makes optional: the message says which box (a discharge
# treatment's "Durée", unless "Au long cours"), or the doctor is told to invent a duration.
REQUIRED_UNLESS = _("Obligatoire pour envoyer, ou cocher « %(box)s ».")
FUTURE_STAY_DATE = _(
    "Ne peut être dans le futur (une lettre de sortie rapporte un séjour qui a eu lieu)."
)
DISCHARGE_BEFORE_ADMISSION = _("La sortie ne peut précéder l'entrée.")
REFERRING_DOCTOR_REQUIRED = _(
    "Le médecin adresseur (auteur de la fiche d'entrée) doit figurer parmi les destinataires."
)


def _missing_fields(kind: str, document: dict[str, Any]) -> dict[str, str]:
    """The catalogue's "required to send" rules (liaison.catalogue), in the form's order.

    A yes/no question is answered by False too (only "not filled" is missing); a list is
    answered by its "none" box (`medications_none`); each line of a list carries its
    required columns (dose and duration of a discharge treatment). Each path comes with the
    reason to show: `REQUIRED`, or `REQUIRED_UNLESS` naming the box that lifts it.
    """
    missing: dict[str, str] = {}
    for spec in catalogue.fields_of(kind):
        value = _get(document, spec.key)
        if spec.required:
            if spec.kind == "yesno":
                empty = value is None
            elif spec.none_key:
                empty = not value and not document.get(spec.none_key)
            else:
                empty = not value
            if empty:
                missing[spec.key] = str(REQUIRED)
        required_columns = [column for column in spec.columns if column.required]
        labels = {column.key: column.label for column in spec.columns}
        if spec.kind == "rows" and required_columns:
            missing |= {
                f"{spec.key}[{index}].{column.key}": (
                    REQUIRED_UNLESS % {"box": labels[column.unless]}
                    if column.unless
                    else str(REQUIRED)
                )
                for index, line in enumerate(value or [])
                for column in required_columns
                if not (line or {}).get(column.key)
                and not (column.unless and (line or {}).get(column.unless))
            }
    return missing


def _get(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def missing_for_send(
    *,
    kind: str,
    patient: dict[str, Any],
    content: dict[str, Any],
    has_recipient_organisation: bool,
    recipient_ids: set[int] | frozenset[int] = frozenset(),
    referring_doctor_id: int | None = None,
) -> dict[str, list[str]]:
    """Every field that must be filled before sending, as {field path: [reason]}.

    Discharge recipients (Part A, B §1.6 R-LDL-2): at least one, and the referring doctor
    (the author of the referral the letter answers) when there is one. The médecin
    traitant "when declared" is not checked: no field of Part A declares one yet.

    What is filled must also hold on the day it is sent: the identity is coherent (RNIV,
    patients.identity: a draft saved before a rule existed is judged again), and the stay a
    discharge letter reports has happened (`_stay_date_errors`).
    """
    missing = _missing_fields(kind, {**content, "patient": patient})
    reasons: dict[str, list[str]] = {
        f"patient.{key}": [str(message) for message in messages]
        for key, messages in identity_errors(patient).items()
    }
    if kind in ("referral", "expertise"):
        if not has_recipient_organisation:
            missing["recipient_organisation"] = str(REQUIRED)
    else:
        if not recipient_ids:
            missing["recipients"] = str(REQUIRED)
        elif referring_doctor_id is not None and referring_doctor_id not in recipient_ids:
            reasons["recipients"] = [str(REFERRING_DOCTOR_REQUIRED)]
        reasons |= _stay_date_errors(content, localdate())
    return {path: [reason] for path, reason in missing.items()} | reasons


def _stay_date_errors(content: dict[str, Any], today: date) -> dict[str, list[str]]:
    """A sent discharge letter states a done fact: its stay dates are not in the future, and
    the discharge is not before the admission. A draft may hold a planned discharge date
    (the letter is prepared before the patient leaves); only sending it is refused."""
    dates = {key: _as_date(content.get(key)) for key in ("admission_date", "discharge_date")}
    errors = {
        key: [str(FUTURE_STAY_DATE)]
        for key, value in dates.items()
        if value is not None and value > today
    }
    admission, discharge = dates["admission_date"], dates["discharge_date"]
    if admission and discharge and discharge < admission:
        errors.setdefault("discharge_date", []).append(str(DISCHARGE_BEFORE_ADMISSION))
    return errors


def _as_date(value: Any) -> date | None:
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


# Values a form posts when nobody typed anything: the identity status select has a default,
# check boxes and yes/no questions start unanswered. None of them makes a document worth keeping.
DEFAULT_ONLY_KEYS = frozenset({"identity_status", "document_status"})


def is_blank(value: Any) -> bool:
    """True when nothing meaningful was typed: only empty strings, lists and objects, None,
    False (an unticked box) and the defaults of DEFAULT_ONLY_KEYS, at any depth."""
    if isinstance(value, dict):
        return all(is_blank(v) for k, v in value.items() if k not in DEFAULT_ONLY_KEYS)
    if isinstance(value, list | tuple):
        return all(is_blank(v) for v in value)
    if isinstance(value, str):
        return not value.strip()
    return value is None or value is False


def changed_sections(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Top-level sections whose value differs between two versions of a document."""
    keys = set(before) | set(after)
    return sorted(key for key in keys if before.get(key) != after.get(key))
