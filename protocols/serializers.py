"""Input and output shapes of the protocols API. Objects are identified by their UUID (`id`),
versions by their number within the protocol."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer
from directory.models import Member
from patients.identity import IdentityWarningOutput, PatientSerializer, identity_warnings
from protocols.diff import LineOp, SectionStatus
from protocols.markdown import render_markdown
from protocols.models import (
    SECTION_FIELDS,
    Inclusion,
    Participation,
    Protocol,
    ProtocolReview,
    ProtocolVersion,
)


def profession_list(**kwargs: Any) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.ChoiceField(choices=Member.Profession.choices), max_length=20, **kwargs
    )


class ProtocolMemberRef(Serializer):
    id = serializers.UUIDField(source="code")
    display_name = serializers.CharField()
    profession = serializers.ChoiceField(choices=Member.Profession.choices)


class ThemeOutput(Serializer):
    id = serializers.UUIDField(source="code")
    slug = serializers.SlugField()
    name = serializers.CharField()
    description = serializers.CharField()
    position = serializers.IntegerField()


class ThemeInput(StrictSerializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.SlugField(max_length=60, required=False, allow_blank=True)
    description = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )
    position = serializers.IntegerField(min_value=0, max_value=32767, required=False, default=100)


class ProtocolReviewOutput(Serializer):
    id = serializers.UUIDField(source="code")
    reviewer = ProtocolMemberRef()
    round = serializers.IntegerField()
    decision = serializers.ChoiceField(choices=ProtocolReview.Decision.choices)
    comment = serializers.CharField()
    requested_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)


class ProtocolAttachmentOutput(Serializer):
    name = serializers.CharField()
    size = serializers.IntegerField()
    url = serializers.CharField()


class ProtocolVersionSummaryOutput(Serializer):
    id = serializers.UUIDField(source="code")
    number = serializers.IntegerField()
    status = serializers.ChoiceField(choices=ProtocolVersion.Status.choices)
    title = serializers.CharField()
    author = ProtocolMemberRef()
    revision = serializers.IntegerField()
    review_date = serializers.DateField(allow_null=True)
    review_overdue = serializers.BooleanField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    published_at = serializers.DateTimeField(allow_null=True)
    superseded_at = serializers.DateTimeField(allow_null=True)
    retired_at = serializers.DateTimeField(allow_null=True)


class ProtocolVersionOutput(ProtocolVersionSummaryOutput):
    protocol = serializers.UUIDField(source="protocol.code")
    based_on = serializers.IntegerField(source="based_on.number", allow_null=True, default=None)
    review_round = serializers.IntegerField()
    change_note = serializers.CharField()
    legal_reference = serializers.CharField()
    delegant_professions = profession_list()
    delegate_professions = profession_list()
    professions = profession_list()
    objective = serializers.CharField()
    patients = serializers.CharField()
    inclusion_criteria = serializers.CharField()
    exclusion_criteria = serializers.CharField()
    urgent_exclusions = serializers.CharField()
    withdrawal_criteria = serializers.CharField()
    derogatory_acts = serializers.CharField()
    non_derogatory_acts = serializers.CharField()
    steps = serializers.CharField()
    referral_back = serializers.CharField()
    information_flow = serializers.CharField()
    training = serializers.CharField()
    training_hours = serializers.IntegerField(allow_null=True)
    training_supervised_cases = serializers.IntegerField(allow_null=True)
    patient_information = serializers.CharField()
    indicators = serializers.CharField()
    adverse_events = serializers.CharField()
    rendered = serializers.SerializerMethodField()
    attachment = serializers.SerializerMethodField()
    reviews = ProtocolReviewOutput(many=True, source="reviews.all")
    published_by = ProtocolMemberRef(allow_null=True)

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_rendered(self, version: ProtocolVersion) -> dict[str, str]:
        """Each Markdown section as safe HTML (raw HTML escaped, links http/https/mailto)."""
        return {name: str(render_markdown(getattr(version, name))) for name in SECTION_FIELDS}

    @extend_schema_field(ProtocolAttachmentOutput(allow_null=True))
    def get_attachment(self, version: ProtocolVersion) -> dict[str, Any] | None:
        if not version.attachment:
            return None
        url = reverse(
            "api-protocol-version-attachment",
            kwargs={"code": version.protocol.code, "number": version.number},
        )
        return {"name": version.attachment_name, "size": version.attachment_size, "url": url}


class ProtocolSummaryOutput(Serializer):
    id = serializers.UUIDField(source="code")
    reference = serializers.CharField()
    kind = serializers.ChoiceField(choices=Protocol.Kind.choices)
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=Protocol.Status.choices)
    themes = serializers.SerializerMethodField()
    current_version = serializers.IntegerField(
        source="current_version.number", allow_null=True, default=None
    )
    review_date = serializers.DateField(
        source="current_version.review_date", allow_null=True, default=None
    )
    review_overdue = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_themes(self, protocol: Protocol) -> list[str]:
        """The slugs of the protocol's themes."""
        return [theme.slug for theme in protocol.themes.all()]

    def get_review_overdue(self, protocol: Protocol) -> bool:
        """ "Revue en retard": the version in force is past its review date."""
        version = protocol.current_version
        return bool(version is not None and version.review_overdue)


class ProtocolOutput(ProtocolSummaryOutput):
    created_by = ProtocolMemberRef()
    created_at = serializers.DateTimeField()
    current = serializers.SerializerMethodField()
    versions = serializers.SerializerMethodField()

    @extend_schema_field(ProtocolVersionOutput(allow_null=True))
    def get_current(self, protocol: Protocol) -> dict[str, Any] | None:
        current = self.context.get("current")
        return ProtocolVersionOutput(current).data if current is not None else None

    @extend_schema_field(ProtocolVersionSummaryOutput(many=True))
    def get_versions(self, protocol: Protocol) -> list[dict[str, Any]]:
        """The versions the caller may read, oldest first."""
        return ProtocolVersionSummaryOutput(self.context.get("versions", []), many=True).data


class ProtocolVersionContentInput(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    change_note = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, trim_whitespace=False
    )
    legal_reference = serializers.CharField(max_length=300, required=False, allow_blank=True)
    review_date = serializers.DateField(required=False, allow_null=True)
    delegant_professions = profession_list(required=False)
    delegate_professions = profession_list(required=False)
    professions = profession_list(required=False)
    objective = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    patients = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    inclusion_criteria = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    exclusion_criteria = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    urgent_exclusions = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    withdrawal_criteria = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    derogatory_acts = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    non_derogatory_acts = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    steps = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    referral_back = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    information_flow = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    training = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    training_hours = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, allow_null=True
    )
    training_supervised_cases = serializers.IntegerField(
        min_value=0, max_value=1000, required=False, allow_null=True
    )
    patient_information = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    indicators = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )
    adverse_events = serializers.CharField(
        max_length=20000, required=False, allow_blank=True, trim_whitespace=False
    )


class ProtocolCreateInput(ProtocolVersionContentInput):
    kind = serializers.ChoiceField(choices=Protocol.Kind.choices)
    title = serializers.CharField(max_length=200)
    reference = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    themes = serializers.ListField(
        child=serializers.SlugField(max_length=60), required=False, max_length=20, default=list
    )


class ProtocolUpdateInput(StrictSerializer):
    reference = serializers.CharField(max_length=32, required=False, allow_blank=True)
    themes = serializers.ListField(
        child=serializers.SlugField(max_length=60), required=False, max_length=20
    )


class ProtocolNewVersionInput(StrictSerializer):
    source = serializers.IntegerField(
        min_value=1,
        required=False,
        help_text="Number of the version to copy (default: the one in force).",
    )


class ProtocolSubmitInput(StrictSerializer):
    reviewers = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        max_length=20,
        default=list,
        help_text="Members who review (default: the reviewers of the previous round).",
    )


class ProtocolCommentInput(StrictSerializer):
    comment = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")


class ProtocolRequestChangesInput(StrictSerializer):
    comment = serializers.CharField(max_length=5000)


class ProtocolParticipantInput(StrictSerializer):
    member = serializers.UUIDField(required=False, help_text="Default: yourself.")
    role = serializers.ChoiceField(choices=Participation.Role.choices)
    training_declared = serializers.BooleanField(required=False, default=False)
    training_details = serializers.CharField(
        max_length=300, required=False, allow_blank=True, default=""
    )


class ProtocolParticipantOutput(Serializer):
    id = serializers.UUIDField(source="code")
    member = ProtocolMemberRef()
    role = serializers.ChoiceField(choices=Participation.Role.choices)
    training_declared_at = serializers.DateTimeField(allow_null=True)
    training_details = serializers.CharField()
    registered_at = serializers.DateTimeField()


class ProtocolAcknowledgementOutput(Serializer):
    id = serializers.UUIDField(source="code")
    member = ProtocolMemberRef()
    version = serializers.IntegerField(source="version.number")
    acknowledged_at = serializers.DateTimeField()


class ProtocolAcknowledgementOverviewOutput(Serializer):
    version = serializers.IntegerField(source="version.number", allow_null=True, default=None)
    acknowledged = ProtocolAcknowledgementOutput(many=True)
    pending = ProtocolMemberRef(
        many=True, help_text="Participants who have not acknowledged it yet."
    )


class ProtocolDiffLine(Serializer):
    op = serializers.ChoiceField(choices=LineOp.choices)
    text = serializers.CharField()


class ProtocolSectionDiffOutput(Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=SectionStatus.choices)
    lines = ProtocolDiffLine(many=True)


class ProtocolDiffOutput(Serializer):
    from_version = serializers.IntegerField()
    to_version = serializers.IntegerField()
    sections = ProtocolSectionDiffOutput(many=True)


class ProtocolListQuery(Serializer):
    # No `default`: a filter left out is absent (protocol_list's own defaults apply), and a
    # default outside a filter's enum makes a strict OpenAPI validator reject the schema.
    q = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text="Full-text search in French over titles and content.",
    )
    kind = serializers.ChoiceField(choices=Protocol.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Protocol.Status.choices, required=False)
    profession = serializers.ChoiceField(choices=Member.Profession.choices, required=False)
    theme = serializers.SlugField(max_length=60, required=False)
    review_overdue = serializers.BooleanField(required=False, allow_null=True, default=None)


class ProtocolInclusionInput(StrictSerializer):
    patient = PatientSerializer(help_text="The patient's identity (names and birth date at least).")
    included_on = serializers.DateField(help_text="Day of inclusion (not in the future).")
    informed_on = serializers.DateField(
        help_text="Day the patient was informed of the protocol and consented (on or before "
        "the inclusion)."
    )
    consent = serializers.BooleanField(
        help_text="The patient was informed and consented: must be true."
    )


class ProtocolInclusionEndInput(StrictSerializer):
    ended_on = serializers.DateField(help_text="Day the patient left the protocol.")
    end_reason = serializers.ChoiceField(choices=Inclusion.EndReason.choices)


class ProtocolInclusionOutput(Serializer):
    id = serializers.UUIDField(source="code")
    patient = PatientSerializer()
    identity_warnings = serializers.SerializerMethodField()
    version = serializers.IntegerField(source="version.number")
    included_on = serializers.DateField()
    included_by = ProtocolMemberRef()
    informed_on = serializers.DateField()
    informed_by = ProtocolMemberRef()
    ongoing = serializers.BooleanField(source="is_ongoing")
    ended_on = serializers.DateField(allow_null=True)
    end_reason = serializers.ChoiceField(choices=Inclusion.EndReason.choices, allow_blank=True)
    end_reason_label = serializers.CharField(source="get_end_reason_display")
    created_at = serializers.DateTimeField()

    @extend_schema_field(IdentityWarningOutput(many=True))
    def get_identity_warnings(self, inclusion: Inclusion) -> list[dict[str, str]]:
        return identity_warnings(inclusion.patient or {})


class ProtocolInclusionReasonCount(Serializer):
    reason = serializers.ChoiceField(choices=Inclusion.EndReason.choices)
    label = serializers.CharField()
    count = serializers.IntegerField()


class ProtocolInclusionCountsOutput(Serializer):
    """Counts only (no identity): every member who sees the protocol may read them."""

    total = serializers.IntegerField(help_text="Patients ever included.")
    ongoing = serializers.IntegerField(help_text="Patients followed under the protocol today.")
    ended = serializers.IntegerField()
    by_reason = serializers.SerializerMethodField()

    @extend_schema_field(ProtocolInclusionReasonCount(many=True))
    def get_by_reason(self, counts: Any) -> list[dict[str, Any]]:
        return [
            {"reason": value, "label": str(label), "count": counts.by_reason.get(value, 0)}
            for value, label in Inclusion.EndReason.choices
        ]
