"""API shapes of tele-expertise: a liaison sheet of kind "expertise" plus its `expertise` part."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer
from directory.models import Organisation
from directory.serializers import MemberRef, OrganisationRef
from liaison.expertise.selectors import billing_warnings, is_overdue, yearly_counts
from liaison.models import ExpertiseRequest, LiaisonSheet
from liaison.serializers import NoteInput
from patients.identity import PatientSerializer


class AnswerOutput(Serializer):
    opinion = serializers.CharField(allow_blank=True)
    recommended_actions = serializers.CharField(allow_blank=True)
    consultation_needed = serializers.BooleanField(allow_null=True)
    consultation = serializers.CharField(allow_blank=True)


class BillingOutput(Serializer):
    expert_acts_this_year = serializers.IntegerField()
    requester_acts_this_year = serializers.IntegerField()
    same_msp = serializers.BooleanField()
    warnings = serializers.ListField(child=serializers.CharField())


class ExpertiseOutput(Serializer):
    """The tele-expertise part of a request: its people, times, answer and billing trace."""

    specialty = serializers.CharField(allow_blank=True)
    due_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.BooleanField()
    consent_by = MemberRef(allow_null=True)
    consent_at = serializers.DateTimeField(allow_null=True)
    taken_by = MemberRef(allow_null=True)
    taken_at = serializers.DateTimeField(allow_null=True)
    answered_by = MemberRef(allow_null=True)
    answered_at = serializers.DateTimeField(allow_null=True)
    answer_read_at = serializers.DateTimeField(allow_null=True)
    answer = AnswerOutput(allow_null=True)
    referral = serializers.UUIDField(allow_null=True)
    suggested_organisation = OrganisationRef(allow_null=True)
    billing = BillingOutput(allow_null=True)

    def to_representation(self, detail: ExpertiseRequest | None) -> dict[str, Any]:
        if detail is None:  # a draft never sent
            return dict.fromkeys(self.fields) | {"overdue": False, "specialty": ""}
        sheet = detail.sheet
        counts = yearly_counts(detail)
        answer = None
        if detail.answered_at is not None:
            answer = {
                "opinion": detail.answer.get("opinion", ""),
                "recommended_actions": detail.answer.get("recommended_actions", ""),
                "consultation_needed": detail.consultation != "not_needed",
                "consultation": detail.consultation,
            }

        def member(value: Any) -> Any:
            return MemberRef(value).data if value is not None else None

        def moment(value: Any) -> Any:
            return serializers.DateTimeField().to_representation(value) if value else None

        return {
            "specialty": detail.specialty,
            "due_at": moment(detail.due_at),
            "overdue": is_overdue(detail, sheet.status),
            "consent_by": member(detail.consent_by),
            "consent_at": moment(detail.consent_at),
            "taken_by": member(detail.taken_by),
            "taken_at": moment(detail.taken_at),
            "answered_by": member(detail.answered_by),
            "answered_at": moment(detail.answered_at),
            "answer_read_at": moment(detail.answer_read_at),
            "answer": answer,
            "referral": str(detail.referral.code) if detail.referral_id else None,  # type: ignore[union-attr]
            "suggested_organisation": OrganisationRef(detail.suggested_organisation).data
            if detail.suggested_organisation_id
            else None,
            "billing": {
                "expert_acts_this_year": counts["expert"],
                "requester_acts_this_year": counts["requester"],
                "same_msp": detail.same_msp,
                "warnings": billing_warnings(detail, counts),
            },
        }


class RequestSummaryOutput(Serializer):
    """A row of a worklist: the identity to recognise the patient, no clinical section."""

    id = serializers.UUIDField(source="code")
    kind = serializers.CharField()
    status = serializers.ChoiceField(choices=LiaisonSheet.Status.choices)
    urgency = serializers.CharField(allow_blank=True)
    patient = PatientSerializer()
    author = MemberRef()
    recipient_organisation = OrganisationRef(allow_null=True)
    sent_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    specialty = serializers.SerializerMethodField()
    due_at = serializers.SerializerMethodField()
    overdue = serializers.SerializerMethodField()
    taken_by = serializers.SerializerMethodField()

    def _detail(self, sheet: LiaisonSheet) -> ExpertiseRequest | None:
        return getattr(sheet, "expertise", None)

    def get_specialty(self, sheet: LiaisonSheet) -> str:
        return str(sheet.content.get("specialty") or "")

    def get_due_at(self, sheet: LiaisonSheet) -> str | None:
        detail = self._detail(sheet)
        if detail is None or detail.due_at is None:
            return None
        return serializers.DateTimeField().to_representation(detail.due_at)

    def get_overdue(self, sheet: LiaisonSheet) -> bool:
        return is_overdue(self._detail(sheet), sheet.status)

    def get_taken_by(self, sheet: LiaisonSheet) -> dict[str, Any] | None:
        detail = self._detail(sheet)
        taken_by = detail.taken_by if detail is not None else None
        return MemberRef(taken_by).data if taken_by is not None else None


class RequestListQuery(StrictSerializer):
    box = serializers.ChoiceField(["inbox", "outbox"], required=False)
    status = serializers.ChoiceField(LiaisonSheet.Status.choices, required=False)


class ResendInput(NoteInput):
    """What the requester adds: any content key of the request, the identity, a note."""

    patient = serializers.DictField(required=False)
    content = serializers.DictField(required=False, help_text=_("Keys of the request's sections."))


class AnswerInput(NoteInput):
    opinion = serializers.CharField(max_length=20000, required=False, allow_blank=True, default="")
    recommended_actions = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, default=""
    )
    consultation_needed = serializers.ChoiceField(
        ExpertiseRequest.Consultation.choices, required=False, allow_blank=True, default="",
        help_text=_("`not_needed`, or how soon: `routine`, `soon`, `urgent`."),
    )  # fmt: skip


class RefuseInput(NoteInput):
    suggested_organisation = serializers.SlugRelatedField(
        slug_field="code", queryset=Organisation.objects.all(), required=False, allow_null=True
    )


class BillingQuery(StrictSerializer):
    month = serializers.RegexField(r"^20\d{2}-(0[1-9]|1[0-2])$", help_text="YYYY-MM (2000-2099)")
