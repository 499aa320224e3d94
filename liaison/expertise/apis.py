"""Tele-expertise endpoints (/api/v1/expertise-requests/): parse, access, one service, answer.

A request is a liaison sheet of kind "expertise": its detail is the sheet's (SheetOutput, with
`kind: "expertise"`) plus an `expertise` part. Attachments, notes and the timeline use the
sheet's own endpoints (/api/v1/liaison-sheets/<id>/attachments/, events/), which apply the
same access rule. Missing and forbidden are the same 404 (liaison.selectors.access_sheet).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import validated_query
from config.serializers import reject_unknown_keys
from directory.permissions import current_member
from liaison import selectors
from liaison.apis import (
    IDEMPOTENCY_KEY,
    IF_MATCH,
    idempotency_key,
    if_match_version,
    sheet_response,
)
from liaison.expertise import actions, services
from liaison.expertise import selectors as expertise_selectors
from liaison.expertise.serializers import (
    AnswerInput,
    BillingQuery,
    ExpertiseOutput,
    RefuseInput,
    RequestListQuery,
    RequestSummaryOutput,
    ResendInput,
)
from liaison.models import LiaisonSheet
from liaison.serializers import NoteInput, SheetOutput
from liaison.services import drafts, transitions
from security import audit
from security.exceptions import NotFound
from security.idempotency import tell_replay, was_replayed
from security.reauth import refuse_unless_recent

EXPERTISE = LiaisonSheet.Kind.EXPERTISE
RELATION_KEYS = {"kind", "patient", "recipient_organisation", "sender_organisation"}


def access_request(member: Any, code: UUID) -> LiaisonSheet:
    """The request if `member` may see it (404 otherwise, and for a sheet of another kind)."""
    sheet = selectors.access_sheet(member, code)
    if sheet.kind != EXPERTISE:
        raise NotFound("expertise request")
    return sheet


def request_response(sheet: LiaisonSheet, *, status_code: int = 200) -> Response:
    """The sheet's detail with its ETag, and its tele-expertise part."""
    response = sheet_response(sheet, status_code=status_code)
    detail = (
        getattr(sheet, "expertise", None) if sheet.status != LiaisonSheet.Status.DRAFT else None
    )
    if detail is None and sheet.status != LiaisonSheet.Status.DRAFT:
        detail = services.detail_of(sheet)
    response.data["expertise"] = ExpertiseOutput(detail).data
    return response


def _request_body(request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a create/edit body into relations and content (validated by the service)."""
    data = dict(request.data)
    relations = {key: data.pop(key) for key in list(data) if key in RELATION_KEYS}
    return relations, data


def _organisation(code: Any, field: str) -> Any:
    if code in (None, ""):
        return None
    organisation = selectors.organisation_by_code(str(code))
    if organisation is None:
        raise ValidationError({field: [_("Structure introuvable.")]})
    return organisation


class ExpertiseRequestListApi(APIView):
    @extend_schema(parameters=[RequestListQuery], responses=RequestSummaryOutput(many=True))
    def get(self, request: Request) -> Response:
        """`box=inbox`: the expert's worklist by urgency and due date; `box=outbox`: mine."""
        query = validated_query(request, RequestListQuery)
        member = current_member(request)
        selectors.record_list_read(member, source="expertise", filters=query)
        rows = expertise_selectors.request_list(member, **query)[:200]
        return Response(RequestSummaryOutput(rows, many=True).data)

    @extend_schema(request=None, responses={201: SheetOutput}, parameters=[IDEMPOTENCY_KEY])
    def post(self, request: Request) -> Response:
        """Create a request as a draft: identity, expert service, specialty, question..."""
        member = current_member(request)
        relations, content = _request_body(request)
        if relations.get("kind", EXPERTISE) != EXPERTISE:
            raise ValidationError({"kind": [_("Une demande d'avis est de type « expertise ».")]})
        patient = relations.get("patient") if isinstance(relations.get("patient"), dict) else {}
        sheet = drafts.create_draft(
            actor=member,
            kind=EXPERTISE,
            patient=patient,
            content=services.prefilled_context(member, patient, content),
            recipient_organisation=_organisation(
                relations.get("recipient_organisation"), "recipient_organisation"
            ),
            sender_organisation=_organisation(
                relations.get("sender_organisation"), "sender_organisation"
            ),
            creation_key=idempotency_key(request),
        )
        response = request_response(sheet, status_code=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(sheet))


class ExpertiseRequestDetailApi(APIView):
    @extend_schema(responses=SheetOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """The request; opened by its requester once answered, the answer counts as read."""
        member = current_member(request)
        sheet = access_request(member, code)
        services.mark_answer_read(actor=member, sheet=sheet)
        return request_response(sheet)

    @extend_schema(request=None, responses=SheetOutput, parameters=[IF_MATCH])
    def patch(self, request: Request, code: UUID) -> Response:
        """Edit a draft (If-Match: 412 if someone saved meanwhile)."""
        member = current_member(request)
        sheet = access_request(member, code)
        expected = if_match_version(request)
        relations, content = _request_body(request)
        if "kind" in relations:
            raise ValidationError({"kind": [_("Le type d'un document ne change pas.")]})
        kwargs: dict[str, Any] = {"content": content or None}
        if isinstance(relations.get("patient"), dict):
            kwargs["patient"] = relations["patient"]
        if "recipient_organisation" in relations:
            kwargs["recipient_organisation"] = _organisation(
                relations["recipient_organisation"], "recipient_organisation"
            )
        sheet = drafts.update_draft(actor=member, sheet=sheet, expected_version=expected, **kwargs)
        return request_response(sheet)


class ExpertiseRequestSendApi(APIView):
    @extend_schema(request=None, responses=SheetOutput, parameters=[IDEMPOTENCY_KEY])
    def post(self, request: Request, code: UUID) -> Response:
        """Send: 400 lists every missing field (consent included); retries are harmless."""
        reject_unknown_keys(request)
        member = current_member(request)
        sheet = access_request(member, code)
        sheet = transitions.send_sheet(
            actor=member, sheet=sheet, idempotency_key=idempotency_key(request)
        )
        return tell_replay(request_response(sheet), replayed=was_replayed(sheet))


class ExpertiseRequestTakeApi(APIView):
    @extend_schema(request=None, responses=SheetOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """An expert of the service takes the request (409 if a colleague already did)."""
        reject_unknown_keys(request)
        member = current_member(request)
        sheet = services.take(actor=member, sheet=access_request(member, code))
        return request_response(sheet)


class ExpertiseRequestAskMoreApi(APIView):
    @extend_schema(request=NoteInput, responses=SheetOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Ask the requester for more (the note says what); back to them."""
        member = current_member(request)
        sheet = access_request(member, code)
        body = NoteInput(data=request.data)
        body.is_valid(raise_exception=True)
        sheet = services.ask_more(actor=member, sheet=sheet, note=body.validated_data["note"])
        return request_response(sheet)


class ExpertiseRequestResendApi(APIView):
    @extend_schema(request=ResendInput, responses=SheetOutput, parameters=[IF_MATCH])
    def post(self, request: Request, code: UUID) -> Response:
        """The requester completes the request and sends it back (If-Match)."""
        member = current_member(request)
        sheet = access_request(member, code)
        expected = if_match_version(request)
        body = ResendInput(data=request.data)
        body.is_valid(raise_exception=True)
        sheet = services.resend(
            actor=member,
            sheet=sheet,
            expected_version=expected,
            patient=body.validated_data.get("patient"),
            content=body.validated_data.get("content"),
            note=body.validated_data["note"],
        )
        return request_response(sheet)


class ExpertiseRequestAnswerApi(APIView):
    @extend_schema(request=AnswerInput, responses=SheetOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """The structured answer; 400 names a missing opinion or consultation choice."""
        member = current_member(request)
        sheet = access_request(member, code)
        body = AnswerInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        sheet = services.answer(
            actor=member,
            sheet=sheet,
            opinion=data["opinion"],
            recommended_actions=data["recommended_actions"],
            consultation=data["consultation_needed"],
            note=data["note"],
        )
        return request_response(sheet)


class ExpertiseRequestDeclineApi(APIView):
    @extend_schema(request=RefuseInput, responses=SheetOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """The service declines (reason required), optionally suggesting another service."""
        member = current_member(request)
        sheet = access_request(member, code)
        body = RefuseInput(data=request.data)
        body.is_valid(raise_exception=True)
        sheet = services.refuse(actor=member, sheet=sheet, **body.validated_data)
        return request_response(sheet)


class ExpertiseRequestCancelApi(APIView):
    @extend_schema(request=NoteInput, responses=SheetOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """The requester cancels a request not yet answered (reason required)."""
        member = current_member(request)
        sheet = access_request(member, code)
        body = NoteInput(data=request.data)
        body.is_valid(raise_exception=True)
        sheet = services.withdraw(actor=member, sheet=sheet, note=body.validated_data["note"])
        return request_response(sheet)


class ExpertiseRequestAcknowledgeApi(APIView):
    @extend_schema(request=None, responses=SheetOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """The requester has read the answer: the request is closed."""
        reject_unknown_keys(request)
        member = current_member(request)
        sheet = services.acknowledge(actor=member, sheet=access_request(member, code))
        return request_response(sheet)


class ExpertiseRequestReferralApi(APIView):
    @extend_schema(request=None, responses={201: SheetOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """One click: a referral draft prefilled from the request and its answer."""
        reject_unknown_keys(request)
        member = current_member(request)
        referral = services.referral_from_answer(actor=member, sheet=access_request(member, code))
        return sheet_response(referral, status_code=status.HTTP_201_CREATED)


class ExpertiseBillingCsvApi(APIView):
    @extend_schema(parameters=[BillingQuery], responses={(200, "text/csv"): str})
    def get(self, request: Request) -> HttpResponse:
        """The caller's answered requests of a month, for billing (no patient named)."""
        query = validated_query(request, BillingQuery)
        member = current_member(request)
        refuse_unless_recent(request)  # an export: a recent authentication
        audit.record(actor=member, action=actions.BILLING_EXPORT, target=None,
                     extra={"month": query["month"]})  # fmt: skip
        response = HttpResponse(
            expertise_selectors.billing_csv(member, query["month"]),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = (
            f'attachment; filename="teleexpertises-{query["month"]}.csv"'
        )
        return response
