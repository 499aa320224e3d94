"""API shapes of liaison sheets: DOMAIN.md Part A's keys, flat, as the contract says."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer, represent
from directory.models import Member, Organisation
from directory.serializers import MemberRef, OrganisationRef
from liaison.documents import (
    CONTENT_KEYS,
    CONTENT_SERIALIZERS,
    DOCUMENT_STATUSES,
    DischargeContentSerializer,
    ReferralContentSerializer,
    changed_sections,
)
from liaison.models import LiaisonSheet, SheetParticipant
from patients.identity import IdentityWarningOutput, PatientSerializer, identity_warnings

# The keys besides the clinical sections, by kind: who sends, to whom, about whom.
RELATION_KEYS = {
    "referral": {"kind", "patient", "recipient_organisation", "sender_organisation", "copy_to"},
    "discharge": {"kind", "patient", "sender_organisation", "referral", "recipients"},
    "expertise": {"kind", "patient", "recipient_organisation", "sender_organisation"},
}
# Set when the draft is created, never changed by an edit (PATCH refuses them).
CREATION_ONLY_KEYS = ("kind", "sender_organisation", "referral")


class ParticipantOutput(Serializer):
    member = MemberRef()
    role = serializers.ChoiceField(choices=SheetParticipant.Role.choices)
    delivered_at = serializers.DateTimeField(allow_null=True)
    read_at = serializers.DateTimeField(allow_null=True)


class AttachmentOutput(Serializer):
    id = serializers.UUIDField(source="code")
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class EventOutput(Serializer):
    id = serializers.UUIDField(source="code")
    at = serializers.DateTimeField()
    actor = MemberRef()
    action = serializers.CharField()
    action_label = serializers.CharField(
        source="get_action_display", help_text=_("The step in words, for people: « Envoi ».")
    )
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.CharField(allow_blank=True)
    to_status_label = serializers.CharField(
        source="get_to_status_display",
        allow_blank=True,
        help_text=_("The state reached, in words: « Réception accusée »."),
    )
    note = serializers.CharField(allow_blank=True)


class SheetSummaryOutput(Serializer):
    """A row of a worklist: no clinical section, the identity to recognise the patient."""

    id = serializers.UUIDField(source="code")
    kind = serializers.ChoiceField(choices=LiaisonSheet.Kind.choices)
    status = serializers.ChoiceField(choices=LiaisonSheet.Status.choices)
    urgency = serializers.CharField(allow_blank=True)
    document_status = serializers.CharField(allow_blank=True)
    document_version = serializers.IntegerField()
    patient = PatientSerializer()
    author = MemberRef()
    sender_organisation = OrganisationRef()
    recipient_organisation = OrganisationRef(allow_null=True)
    planned_date = serializers.DateField(allow_null=True)
    discharge_date = serializers.DateField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    unread = serializers.SerializerMethodField()
    due_at = serializers.DateTimeField(
        allow_null=True,
        read_only=True,
        help_text="When the next step is due (receipt, discharge letter); null: nothing due.",
    )
    overdue = serializers.SerializerMethodField()
    filed = serializers.BooleanField(source="is_filed", read_only=True, default=False)

    def get_overdue(self, sheet: LiaisonSheet) -> bool:
        """Whether the next step is past its due time (the list is ordered overdue first)."""
        return getattr(sheet, "priority", None) == 0

    def get_unread(self, sheet: LiaisonSheet) -> bool:
        """Whether the caller is a named participant who has not read it yet."""
        member = self.context.get("member")
        return (
            any(
                p.member_id == getattr(member, "pk", None) and p.read_at is None
                for p in sheet.participants.all()
            )
            and sheet.status != LiaisonSheet.Status.DRAFT
        )


class SheetOutput(ReferralContentSerializer, DischargeContentSerializer):
    """A whole sheet: metadata, identity, every section of its kind, the loop's people."""

    id = serializers.UUIDField(source="code")
    kind = serializers.ChoiceField(choices=LiaisonSheet.Kind.choices)
    status = serializers.ChoiceField(choices=LiaisonSheet.Status.choices)
    version = serializers.IntegerField()
    document_version = serializers.IntegerField()
    patient = PatientSerializer()
    warnings = IdentityWarningOutput(
        many=True,
        help_text=_("Points of the identity to check (RNIV): shown to people, never refused."),
    )
    author = MemberRef()
    sender_organisation = OrganisationRef()
    recipient_organisation = serializers.UUIDField(allow_null=True)
    referral = serializers.UUIDField(allow_null=True)
    redirected_from = serializers.UUIDField(allow_null=True)
    previous_version = serializers.UUIDField(allow_null=True)
    copy_to = serializers.ListField(child=serializers.UUIDField())
    recipients = serializers.ListField(child=serializers.UUIDField())
    participants = ParticipantOutput(many=True)
    attachments = AttachmentOutput(many=True)
    changes = serializers.ListField(
        child=serializers.CharField(),
        help_text=_("Sections changed since the previous version of the document."),
    )
    planned_date = serializers.DateField(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    accepted_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def to_representation(self, sheet: LiaisonSheet) -> dict[str, Any]:
        participants = list(sheet.participants.all())
        copies = [p.member.code for p in participants if p.role == SheetParticipant.Role.COPY]
        recipients = [
            p.member.code for p in participants if p.role == SheetParticipant.Role.RECIPIENT
        ]
        previous = sheet.previous_version
        content = represent(CONTENT_SERIALIZERS[sheet.kind], sheet.content)
        data: dict[str, Any] = {
            "id": str(sheet.code),
            "kind": sheet.kind,
            "status": sheet.status,
            "version": sheet.version,
            "document_version": sheet.document_version,
            "patient": represent(PatientSerializer, sheet.patient),
            "warnings": identity_warnings(sheet.patient),
            "author": represent(MemberRef, sheet.author),
            "sender_organisation": represent(OrganisationRef, sheet.sender_organisation),
            "recipient_organisation": _code(sheet.recipient_organisation),
            "referral": _code(sheet.referral),
            "redirected_from": str(sheet.redirected_from.code)
            if sheet.redirected_from_id
            else None,
            "previous_version": _code(previous),
            "copy_to": [str(code) for code in copies],
            "recipients": [str(code) for code in recipients],
            "participants": represent(ParticipantOutput, participants, many=True),
            "attachments": represent(
                AttachmentOutput, self.context.get("attachments", []), many=True
            ),
            "changes": changed_sections(previous.content, sheet.content) if previous else [],
            **content,
        }
        for name in ("planned_date",):
            value = getattr(sheet, name)
            data[name] = value.isoformat() if value else None
        for name in (
            "sent_at",
            "received_at",
            "accepted_at",
            "closed_at",
            "created_at",
            "updated_at",
        ):
            value = getattr(sheet, name)
            data[name] = _DATETIME.to_representation(value) if value else None
        return data


# A field keeps nothing from one representation to the next: one for every sheet's times.
_DATETIME = serializers.DateTimeField()


def _code(obj: Any) -> str | None:
    return str(obj.code) if obj is not None else None


class SheetWriteInput(ReferralContentSerializer, DischargeContentSerializer):
    """Create or edit a draft: the sections of its kind, its identity, its people.

    Only the keys of the sheet's kind are accepted; a key of the other kind is a 400, and so
    is, on an edit (`kind` given), a key that only creation reads.
    """

    kind = serializers.ChoiceField(choices=LiaisonSheet.Kind.choices)
    patient = PatientSerializer(required=False)
    recipient_organisation = serializers.SlugRelatedField(
        slug_field="code", queryset=Organisation.objects.all(), required=False, allow_null=True,
        help_text=_("Referral: the hospital service it is sent to."),
    )  # fmt: skip
    sender_organisation = serializers.SlugRelatedField(
        slug_field="code", queryset=Organisation.objects.all(), required=False,
        help_text=_("Defaults to the author's (first) organisation."),
    )  # fmt: skip
    referral = serializers.UUIDField(
        required=False, allow_null=True, help_text=_("Discharge: the referral it answers.")
    )
    copy_to = serializers.SlugRelatedField(
        slug_field="code", queryset=Member.objects.filter(is_active=True), many=True,
        required=False, help_text=_("Referral: the town care team to copy at discharge."),
    )  # fmt: skip
    recipients = serializers.SlugRelatedField(
        slug_field="code", queryset=Member.objects.filter(is_active=True), many=True,
        required=False, help_text=_("Discharge: who receives the letter."),
    )  # fmt: skip

    def __init__(self, *args: Any, kind: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_kind = kind
        if kind is not None:
            for name in CREATION_ONLY_KEYS:
                self.fields.pop(name)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = self.fixed_kind or attrs.get("kind")
        allowed = set(CONTENT_KEYS[kind]) | RELATION_KEYS[kind] if kind else set()
        unknown = sorted(set(self.initial_data) - allowed) if kind else []
        if unknown:
            raise serializers.ValidationError(
                {key: [_("Champ inconnu pour ce type de document.")] for key in unknown}
            )
        return attrs  # sections are validated by the service, on the merged document


class NoteInput(StrictSerializer):
    note = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class AcceptInput(NoteInput):
    planned_date = serializers.DateField(required=False, allow_null=True)


class DeclineInput(NoteInput):
    redirect_to = serializers.SlugRelatedField(
        slug_field="code", queryset=Organisation.objects.all(), required=False, allow_null=True
    )


class KnownIdentityQuery(Serializer):
    """Who to look for among the sheets the caller sees: an INS, or a name with its date."""

    ins = serializers.CharField(required=False, max_length=21)
    family_name = serializers.CharField(required=False, max_length=100)
    birth_date = serializers.DateField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("ins") and not attrs.get("family_name"):
            raise serializers.ValidationError(
                {"ins": [_("Indiquez l'INS, ou le nom de naissance et la date de naissance.")]}
            )
        if attrs.get("family_name") and not attrs.get("birth_date"):
            raise serializers.ValidationError(
                {"birth_date": [_("La recherche par nom se fait avec la date de naissance.")]}
            )
        return attrs


class KnownIdentityOutput(Serializer):
    """The identity as the most recent visible sheet holds it, to start a new document."""

    patient = PatientSerializer()
    warnings = IdentityWarningOutput(many=True)
    sheet = serializers.UUIDField(help_text=_("The sheet the identity was taken from."))


class ListQuery(Serializer):
    box = serializers.ChoiceField(["inbox", "outbox"], required=False)
    status = serializers.ChoiceField(LiaisonSheet.Status.choices, required=False)
    kind = serializers.ChoiceField(LiaisonSheet.Kind.choices, required=False)
    urgency = serializers.ChoiceField(LiaisonSheet.Urgency.choices, required=False)
    document_status = serializers.ChoiceField(
        DOCUMENT_STATUSES,
        required=False,
        help_text="Discharge letters: `in_progress` (results awaited) or `final`.",
    )
    ins = serializers.CharField(required=False, max_length=21)
    family_name = serializers.CharField(required=False, max_length=100)
    birth_date = serializers.DateField(required=False)
    sent_from = serializers.DateField(required=False)
    sent_to = serializers.DateField(required=False)
    service = serializers.SlugRelatedField(
        slug_field="code",
        queryset=Organisation.objects.all(),
        required=False,
        help_text="An organisation's id: the sheets it sent or received.",
    )
    filed = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="`true`: only the sheets you filed; `false`: only those you did not.",
    )
    unread = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="`true`: only the sheets sent to you by name that you have not read.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if (
            attrs.get("sent_from")
            and attrs.get("sent_to")
            and attrs["sent_from"] > attrs["sent_to"]
        ):
            raise serializers.ValidationError(
                {"sent_to": [_("La fin de la période précède son début.")]}
            )
        if attrs.get("family_name") and not attrs.get("birth_date"):
            raise serializers.ValidationError(
                {"birth_date": [_("La recherche par nom se fait avec la date de naissance.")]}
            )
        return attrs
