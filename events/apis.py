"""Agenda endpoints (/api/v1/events/): parse, access, one service, answer (STYLE §2.2).

Every event is fetched through events.selectors.access_event: a case meeting outside the
invited is a 404, like a missing event. A role-reserved action on a visible event is a 403;
a past or cancelled event's forbidden change a 409; a stale If-Match a 412.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.downloads import download_response
from config.filters import validated_query
from config.serializers import reject_unknown_keys
from directory.models import Member
from directory.permissions import current_member
from directory.selectors import access_member, access_organisation
from events import actions, ics, selectors, services
from events.events import event_url
from events.models import Event, Registration
from events.serializers import (
    AgendaAttendanceInput,
    AgendaCheckInInput,
    AgendaDocumentInput,
    AgendaDocumentOutput,
    AgendaEventInput,
    AgendaEventListQuery,
    AgendaEventOutput,
    AgendaEventSummaryOutput,
    AgendaEventUpdateInput,
    AgendaExternalRegistrationInput,
    AgendaFeedOutput,
    AgendaInvitationInput,
    AgendaInvitationOutput,
    AgendaMyRegistrationOutput,
    AgendaPublicEventOutput,
    AgendaRegistrationOutput,
    AgendaSurveyInput,
    AgendaSurveyResultsOutput,
)
from security import audit
from security.exceptions import DomainError, FieldErrors, NotFound, PermissionDenied
from security.files import open_file
from security.idempotency import tell_replay, was_replayed
from security.throttling import ScopedRateThrottle

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key creates nothing twice (the first result is returned).",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version being edited, e.g. "3". 412 when stale.',
)


class PreconditionRequired(DomainError):
    """An edit without If-Match: 428, the client must say which version it edits."""

    status_code = 428
    code = "precondition_required"


def idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 64:
        raise ValidationError({"Idempotency-Key": [_("64 caractères au plus.")]})
    return key


def if_match_version(request: Request) -> int:
    header = request.headers.get("If-Match", "")
    if not header:
        raise PreconditionRequired(_("En-tête If-Match requis (ETag de la version modifiée)."))
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ValidationError({"If-Match": [_("ETag invalide.")]})
    return int(value)


def event_detail(member: Member, event: Event) -> dict[str, Any]:
    """Everything the detail shows; a case meeting's patient is read (and audited) here."""
    registration = selectors.registration_of(member, event)
    patient = selectors.event_patient(member, event) if event.is_case_meeting else None
    return {
        **{
            field: getattr(event, field)
            for field in (
                "code",
                "version",
                "kind",
                "status",
                "title",
                "theme",
                "description",
                "organiser",
                "organisation",
                "place",
                "video_link",
                "starts_at",
                "ends_at",
                "capacity",
                "professions",
                "sectors",
                "open_to_public",
                "parent",
                "series",
                "recurrence",
            )
        },
        "sessions": selectors.sessions_of(event),
        "occurrences": selectors.occurrences_of(event)
        if event.recurrence or event.series_id
        else [],
        "counts": selectors.registration_counts(event),
        "my_registration": registration.status if registration else None,
        "attended": bool(registration and registration.attended_at),
        "survey_answered": bool(registration and registration.survey_answered),
        "can_manage": selectors.can_manage(member, event),
        "patient": patient,
        "ics": reverse("api-event-ics", kwargs={"code": event.code}),
    }


def event_response(member: Member, event: Event, *, status_code: int = 200) -> Response:
    response = Response(AgendaEventOutput(event_detail(member, event)).data, status=status_code)
    response["ETag"] = f'"{event.version}"'
    return response


def _organisation(member: Member, code: Any) -> Any:
    if code is None:
        return None
    try:
        return access_organisation(member, code)
    except NotFound:
        raise ValidationError({"organisation": [_("Structure introuvable.")]}) from None


class EventListApi(APIView):
    @extend_schema(parameters=[AgendaEventListQuery], responses=AgendaEventSummaryOutput(many=True))
    def get(self, request: Request) -> Response:
        """The agenda: `when=upcoming` (soonest first) or `past` (latest first), by kind."""
        query = validated_query(request, AgendaEventListQuery)
        member = current_member(request)
        rows = selectors.with_counts(selectors.event_list(member, **query), member)[:200]
        return Response(AgendaEventSummaryOutput(rows, many=True).data)

    @extend_schema(
        request=AgendaEventInput, responses={201: AgendaEventOutput}, parameters=[IDEMPOTENCY_KEY]
    )
    def post(self, request: Request) -> Response:
        """Create an event, a session of the annual day (`parent`) or a recurring series."""
        member = current_member(request)
        body = AgendaEventInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        parent = None
        if data.pop("parent"):
            try:
                parent = selectors.access_event(member, body.validated_data["parent"])
            except NotFound:
                raise ValidationError({"parent": [_("Événement introuvable.")]}) from None
        event = services.create_event(
            actor=member,
            organisation=_organisation(member, data.pop("organisation")),
            parent=parent,
            rule=data.pop("recurrence"),
            creation_key=idempotency_key(request),
            **data,
        )
        response = event_response(member, event, status_code=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(event))


class EventDetailApi(APIView):
    @extend_schema(responses=AgendaEventOutput)
    def get(self, request: Request, code: UUID) -> Response:
        member = current_member(request)
        return event_response(member, selectors.access_event(member, code))

    @extend_schema(
        request=AgendaEventUpdateInput, responses=AgendaEventOutput, parameters=[IF_MATCH]
    )
    def patch(self, request: Request, code: UUID) -> Response:
        """Edit an upcoming event; a new time is told to everyone registered or waiting."""
        member = current_member(request)
        event = selectors.access_event(member, code)
        expected = if_match_version(request)
        body = AgendaEventUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        changes = dict(body.validated_data)
        if "organisation" in changes:
            changes["organisation"] = _organisation(member, changes["organisation"])
        event = services.update_event(
            actor=member, event=event, expected_version=expected, changes=changes
        )
        return event_response(member, event)


class EventCancelApi(APIView):
    @extend_schema(request=None, responses=AgendaEventOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Cancel an upcoming event; registrants are told (409 when past or cancelled)."""
        reject_unknown_keys(request)
        member = current_member(request)
        event = services.cancel_event(actor=member, event=selectors.access_event(member, code))
        return event_response(member, event)


def _registration_response(registration: Registration) -> Response:
    registration.ticket = services.registration_token(registration)  # type: ignore[attr-defined]
    return Response(AgendaMyRegistrationOutput(registration).data)


class EventRegisterApi(APIView):
    @extend_schema(request=None, responses=AgendaMyRegistrationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Register in one click: a place, or the waiting list when the event is full."""
        reject_unknown_keys(request)
        member = current_member(request)
        event = selectors.access_event(member, code)
        return _registration_response(services.register(actor=member, event=event))


class EventDeclineApi(APIView):
    @extend_schema(request=None, responses=AgendaMyRegistrationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """ "Je ne participe pas" (frees one's place if one had it)."""
        reject_unknown_keys(request)
        member = current_member(request)
        event = selectors.access_event(member, code)
        return _registration_response(services.decline(actor=member, event=event))


class EventCancelRegistrationApi(APIView):
    @extend_schema(request=None, responses=AgendaMyRegistrationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Cancel one's registration; the first on the waiting list gets the place."""
        reject_unknown_keys(request)
        member = current_member(request)
        event = selectors.access_event(member, code)
        return _registration_response(services.cancel_registration(actor=member, event=event))


def _managed_event(member: Member, code: UUID) -> Event:
    event = selectors.access_event(member, code)
    if not selectors.can_manage(member, event):
        raise PermissionDenied(_("Réservé à l'organisateur et à la coordination."))
    return event


class EventRegistrationsApi(APIView):
    @extend_schema(responses=AgendaRegistrationOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        """The sign-in list and the waiting list, for the organiser."""
        member = current_member(request)
        event = _managed_event(member, code)
        return Response(AgendaRegistrationOutput(selectors.registrations_of(event), many=True).data)


class EventInvitationsApi(APIView):
    @extend_schema(responses=AgendaInvitationOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        member = current_member(request)
        event = _managed_event(member, code)
        return Response(AgendaInvitationOutput(selectors.invitations_of(event), many=True).data)

    @extend_schema(
        request=AgendaInvitationInput, responses={201: AgendaInvitationOutput(many=True)}
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Invite members, organisations (their members) or whole professions."""
        member = current_member(request)
        event = selectors.access_event(member, code)
        body = AgendaInvitationInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            members = [access_member(member, each) for each in data["members"]]
        except NotFound:
            raise ValidationError({"members": [_("Membre introuvable.")]}) from None
        try:
            organisations = [access_organisation(member, each) for each in data["organisations"]]
        except NotFound:
            raise ValidationError({"organisations": [_("Structure introuvable.")]}) from None
        created = services.invite(
            actor=member,
            event=event,
            members=members,
            organisations=organisations,
            professions=data["professions"],
        )
        return Response(
            AgendaInvitationOutput(created, many=True).data, status=status.HTTP_201_CREATED
        )


class EventAttendanceApi(APIView):
    @extend_schema(request=AgendaAttendanceInput, responses=AgendaRegistrationOutput(many=True))
    def post(self, request: Request, code: UUID) -> Response:
        """The sign-in list: registrations present (and absent), by their ids."""
        member = current_member(request)
        event = _managed_event(member, code)
        body = AgendaAttendanceInput(data=request.data)
        body.is_valid(raise_exception=True)
        by_code = {r.code: r for r in selectors.registrations_of(event)}
        wanted = [*body.validated_data["present"], *body.validated_data["absent"]]
        missing = [str(each) for each in wanted if each not in by_code]
        if missing:
            raise ValidationError(
                {"present": [_("Inscription inconnue : %(ids)s.") % {"ids": ", ".join(missing)}]}
            )
        services.record_attendance(
            actor=member,
            event=event,
            present=[by_code[each] for each in body.validated_data["present"]],
            absent=[by_code[each] for each in body.validated_data["absent"]],
        )
        return Response(AgendaRegistrationOutput(selectors.registrations_of(event), many=True).data)


class CheckInApi(APIView):
    @extend_schema(request=AgendaCheckInInput, responses=AgendaMyRegistrationOutput)
    def post(self, request: Request) -> Response:
        """A scanned QR code: the event's (scanned by a participant) or a registration's."""
        member = current_member(request)
        body = AgendaCheckInInput(data=request.data)
        body.is_valid(raise_exception=True)
        registration = services.check_in(actor=member, token=body.validated_data["token"])
        return _registration_response(registration)


class EventCheckInTokenApi(APIView):
    @extend_schema(responses=AgendaCheckInInput)
    def get(self, request: Request, code: UUID) -> Response:
        """The token of the event's QR code, for its organiser (to show on a screen)."""
        member = current_member(request)
        event = _managed_event(member, code)
        return Response({"token": services.check_in_token(event)})


class EventSurveyApi(APIView):
    @extend_schema(request=AgendaSurveyInput, responses=AgendaMyRegistrationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Answer the satisfaction survey (anonymous: the answer keeps no member), once."""
        member = current_member(request)
        event = selectors.access_event(member, code)
        body = AgendaSurveyInput(data=request.data)
        body.is_valid(raise_exception=True)
        registration = services.answer_survey(
            actor=member,
            event=event,
            scores=body.validated_data["scores"],
            comment=body.validated_data["comment"],
        )
        return _registration_response(registration)


class EventSurveyResultsApi(APIView):
    @extend_schema(responses=AgendaSurveyResultsOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """The aggregates (mean, distribution), shown from 3 answers; never per person."""
        member = current_member(request)
        event = _managed_event(member, code)
        audit.record(actor=member, action=actions.SURVEY_RESULTS, target=event)
        return Response(AgendaSurveyResultsOutput(selectors.survey_results(event)).data)


class EventDocumentListApi(APIView):
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    @extend_schema(responses=AgendaDocumentOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        member = current_member(request)
        event = selectors.access_event(member, code)
        return Response(AgendaDocumentOutput(selectors.documents_of(event), many=True).data)

    @extend_schema(
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["minutes", "slides"]},
                    "file": {"type": "string", "format": "binary"},
                },
                "required": ["kind", "file"],
            }
        },
        responses={201: AgendaDocumentOutput},
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Minutes or slides, encrypted at rest; allowed after the event."""
        member = current_member(request)
        event = selectors.access_event(member, code)
        body = AgendaDocumentInput(data={"kind": request.data.get("kind", "")})
        body.is_valid(raise_exception=True)
        upload = request.FILES.get("file")
        if upload is None:
            raise FieldErrors({"file": [_("Joignez un fichier.")]})
        document = services.add_document(
            actor=member,
            event=event,
            kind=body.validated_data["kind"],
            fileobj=upload,
            filename=upload.name or "document",
            size=upload.size or 0,
            content_type=upload.content_type or "",
        )
        return Response(AgendaDocumentOutput(document).data, status=status.HTTP_201_CREATED)


class EventDocumentApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, code: UUID, document: UUID) -> Any:
        member = current_member(request)
        event = selectors.access_event(member, code)
        stored = selectors.access_document(member, event, document)
        audit.record(
            actor=member,
            action=actions.DOCUMENT_READ,
            target=event,
            extra={"document": str(stored.code)},
        )
        return download_response(
            open_file(stored, "file"),
            content_type=stored.content_type,
            filename=stored.filename,
            size=stored.size,
        )


def ics_response(body: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


class EventIcsApi(APIView):
    @extend_schema(responses={(200, "text/calendar"): str})
    def get(self, request: Request, code: UUID) -> HttpResponse:
        """The event as an iCalendar file, for one's calendar."""
        member = current_member(request)
        event = selectors.access_event(member, code)
        return ics_response(ics.calendar([(event, event_url(event))]), f"evenement-{code}.ics")


class CalendarFeedApi(APIView):
    @extend_schema(request=None, responses={201: AgendaFeedOutput})
    def post(self, request: Request) -> Response:
        """A (new) secret URL of one's calendar feed; the previous one stops working."""
        reject_unknown_keys(request)
        member = current_member(request)
        secret = services.issue_calendar_feed(actor=member)
        url = request.build_absolute_uri(reverse("event-feed", kwargs={"secret": secret}))
        return Response({"url": url}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Revoke the feed's URL (404 when there is none)."""
        member = current_member(request)
        if not services.revoke_calendar_feed(actor=member):
            raise NotFound("calendar feed")
        return Response(status=status.HTTP_204_NO_CONTENT)


class PublicEventListApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(responses=AgendaPublicEventOutput(many=True), auth=[])
    def get(self, request: Request) -> Response:
        """The public agenda: upcoming events open to the public, without anyone's name."""
        return Response(AgendaPublicEventOutput(selectors.public_events()[:200], many=True).data)


class PublicRegistrationApi(APIView):
    """An external participant's registration: no account, throttled per address, consent
    to be contacted recorded with its time."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "public_registration"

    @extend_schema(request=AgendaExternalRegistrationInput, responses={201: None}, auth=[])
    def post(self, request: Request, code: UUID) -> Response:
        event = selectors.access_public_event(code)
        body = AgendaExternalRegistrationInput(data=request.data)
        body.is_valid(raise_exception=True)
        registration = services.register_external(
            event=event, person=services.External(**body.validated_data)
        )
        # Only the status is echoed (a place or the waiting list), nothing of the person.
        status_code = status.HTTP_200_OK if was_replayed(registration) else 201
        return Response({"status": registration.status}, status=status_code)
