"""API shapes of the agenda. Inputs are strict (an unknown key is a 400 naming it)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer
from directory.models import Member
from directory.serializers import MemberRef, OrganisationRef
from events.models import Event, EventDocument, Registration, Sector
from events.selectors import SURVEY_QUESTIONS


class AgendaEventInput(StrictSerializer):
    kind = serializers.ChoiceField(Event.Kind.choices)
    title = serializers.CharField(max_length=200)
    theme = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    organisation = serializers.UUIDField(required=False, allow_null=True, default=None)
    place = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    video_link = serializers.URLField(required=False, allow_blank=True, default="")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True, default=None
    )
    professions = serializers.ListField(
        child=serializers.ChoiceField(Member.Profession.choices), required=False, default=list
    )
    sectors = serializers.ListField(
        child=serializers.ChoiceField(Sector.choices), required=False, default=list
    )
    open_to_public = serializers.BooleanField(required=False, default=False)
    # `parent` is also a DRF Field attribute; the metaclass moves declared fields away.
    parent = serializers.UUIDField(required=False, allow_null=True, default=None)  # type: ignore[assignment]
    recurrence = serializers.DictField(required=False, allow_null=True, default=None)
    patient = serializers.DictField(required=False, allow_null=True, default=None)


class AgendaEventUpdateInput(StrictSerializer):
    title = serializers.CharField(max_length=200, required=False)
    theme = serializers.CharField(max_length=300, required=False, allow_blank=True)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    organisation = serializers.UUIDField(required=False, allow_null=True)
    place = serializers.CharField(max_length=300, required=False, allow_blank=True)
    video_link = serializers.URLField(required=False, allow_blank=True)
    starts_at = serializers.DateTimeField(required=False)
    ends_at = serializers.DateTimeField(required=False)
    capacity = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True
    )
    professions = serializers.ListField(
        child=serializers.ChoiceField(Member.Profession.choices), required=False
    )
    sectors = serializers.ListField(child=serializers.ChoiceField(Sector.choices), required=False)
    open_to_public = serializers.BooleanField(required=False)


class AgendaEventListQuery(StrictSerializer):
    when = serializers.ChoiceField(["upcoming", "past"], required=False)
    kind = serializers.ChoiceField(Event.Kind.choices, required=False)
    starts_after = serializers.DateTimeField(required=False)
    starts_before = serializers.DateTimeField(required=False)


class AgendaInvitationInput(StrictSerializer):
    members = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    organisations = serializers.ListField(
        child=serializers.UUIDField(), required=False, default=list
    )
    professions = serializers.ListField(
        child=serializers.ChoiceField(Member.Profession.choices), required=False, default=list
    )


class AgendaAttendanceInput(StrictSerializer):
    present = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)
    absent = serializers.ListField(child=serializers.UUIDField(), required=False, default=list)


class AgendaCheckInInput(StrictSerializer):
    token = serializers.CharField(max_length=500)


class AgendaSurveyInput(StrictSerializer):
    scores = serializers.DictField(child=serializers.JSONField())
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AgendaExternalRegistrationInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    email = serializers.EmailField()
    profession = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    sector = serializers.ChoiceField(Sector.choices)
    consent_to_contact = serializers.BooleanField(required=False, default=False)


class AgendaDocumentInput(StrictSerializer):
    kind = serializers.ChoiceField(EventDocument.Kind.choices)
    extra_keys = frozenset({"file"})


class AgendaSessionOutput(Serializer):
    id = serializers.UUIDField(source="code")
    kind = serializers.CharField()
    status = serializers.CharField()
    title = serializers.SerializerMethodField()
    place = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(allow_null=True)

    def get_title(self, event: Event) -> str:
        # A case meeting's title may name its patient: lists say only what it is.
        if event.is_case_meeting:
            return str(_("Réunion de concertation pluriprofessionnelle"))
        return event.title


class AgendaEventSummaryOutput(AgendaSessionOutput):
    theme = serializers.CharField()
    organiser = MemberRef()
    organisation = OrganisationRef(allow_null=True)
    video_link = serializers.CharField()
    open_to_public = serializers.BooleanField()
    registered_count = serializers.IntegerField()
    waitlisted_count = serializers.IntegerField()
    my_registration = serializers.SerializerMethodField()

    def get_my_registration(self, event: Any) -> str | None:
        if getattr(event, "is_registered", False):
            return str(Registration.Status.REGISTERED)
        if getattr(event, "is_waitlisted", False):
            return str(Registration.Status.WAITLISTED)
        return None


class AgendaEventOutput(Serializer):
    id = serializers.UUIDField(source="code")
    version = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    theme = serializers.CharField()
    description = serializers.CharField()
    organiser = MemberRef()
    organisation = OrganisationRef(allow_null=True)
    place = serializers.CharField()
    video_link = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    capacity = serializers.IntegerField(allow_null=True)
    professions = serializers.ListField(child=serializers.CharField())
    sectors = serializers.ListField(child=serializers.CharField())
    open_to_public = serializers.BooleanField()
    parent = serializers.UUIDField(source="parent.code", allow_null=True)  # type: ignore[assignment]
    series = serializers.UUIDField(source="series.code", allow_null=True)
    recurrence = serializers.DictField()
    sessions = AgendaSessionOutput(many=True)
    occurrences = AgendaSessionOutput(many=True)
    counts = serializers.DictField(child=serializers.IntegerField())
    my_registration = serializers.CharField(allow_null=True)
    attended = serializers.BooleanField()
    survey_answered = serializers.BooleanField()
    can_manage = serializers.BooleanField()
    patient = serializers.DictField(allow_null=True)
    ics = serializers.CharField()


class AgendaRegistrationOutput(Serializer):
    id = serializers.UUIDField(source="code")
    event = serializers.UUIDField(source="event.code")
    status = serializers.CharField()
    member = MemberRef(allow_null=True)
    external_name = serializers.CharField()
    profession = serializers.CharField()
    sector = serializers.CharField()
    attended_at = serializers.DateTimeField(allow_null=True)
    attendance_method = serializers.CharField()
    created_at = serializers.DateTimeField()


class AgendaMyRegistrationOutput(Serializer):
    id = serializers.UUIDField(source="code")
    event = serializers.UUIDField(source="event.code")
    status = serializers.CharField()
    attended_at = serializers.DateTimeField(allow_null=True)
    survey_answered = serializers.BooleanField()
    ticket = serializers.CharField(
        help_text="The participant's own signed token: the organiser may scan it "
        "(POST /api/v1/events/check-in/) instead of the participant scanning the event's."
    )


class AgendaInvitationOutput(Serializer):
    member = MemberRef(allow_null=True)
    organisation = OrganisationRef(allow_null=True)
    profession = serializers.CharField()


class AgendaQuestionResultOutput(Serializer):
    question = serializers.ChoiceField(SURVEY_QUESTIONS)
    answers = serializers.IntegerField(allow_null=True)
    mean = serializers.FloatField(allow_null=True)
    distribution = serializers.DictField(child=serializers.IntegerField(), allow_null=True)


class AgendaSurveyResultsOutput(Serializer):
    answers = serializers.IntegerField()
    shown = serializers.BooleanField()
    minimum = serializers.IntegerField()
    questions = AgendaQuestionResultOutput(many=True)
    comments = serializers.ListField(child=serializers.CharField())


class AgendaDocumentOutput(Serializer):
    id = serializers.UUIDField(source="code")
    kind = serializers.CharField()
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class AgendaPublicEventOutput(Serializer):
    """What the public agenda shows: the event, where and when, never a person."""

    id = serializers.UUIDField(source="code")
    kind = serializers.CharField()
    title = serializers.CharField()
    theme = serializers.CharField()
    place = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name", allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    sectors = serializers.ListField(child=serializers.CharField())


class AgendaFeedOutput(Serializer):
    url = serializers.CharField()
