"""Liaison sheet endpoints: parse, access the sheet, call one service, serialize."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.downloads import upload_download
from config.filters import validated_query
from config.serializers import reject_unknown_keys
from directory.permissions import current_member
from liaison import selectors
from liaison.models import LiaisonSheet
from liaison.serializers import (
    AcceptInput,
    AttachmentOutput,
    DeclineInput,
    EventOutput,
    KnownIdentityOutput,
    KnownIdentityQuery,
    ListQuery,
    NoteInput,
    SheetOutput,
    SheetSummaryOutput,
    SheetWriteInput,
)
from liaison.services import attachments, discharge, drafts, filing, transitions
from patients.identity import identity_warnings
from security.exceptions import DomainError, NotFound
from security.idempotency import tell_replay, was_replayed

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key does not act twice.",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='The ETag of the version being edited, e.g. "3". 412 when stale.',
)

REFERRAL_EXAMPLE = {
    "kind": "referral",
    "patient": {
        "identity_status": "QUAL",
        "ins": "279035121518989",
        "birth_family_name": "DUPONT",
        "given_names": "Marie Louise",
        "birth_date": "1979-03-15",
        "sex": "F",
        "birth_place_insee": "51215",
    },
    "recipient_organisation": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "urgency": "urgent",
    "reason": "Douleur thoracique atypique, ECG modifié",
    "medications": [{"name": "Bisoprolol", "dose": "2,5 mg", "frequency": "1/j"}],
    "allergies_none_known": True,
    "copy_to": ["3fa85f64-5717-4562-b3fc-2c963f66afa7"],
}


class PreconditionRequired(DomainError):
    status_code = 428
    code = "precondition_required"


def if_match_version(request: Request) -> int:
    header = request.headers.get("If-Match", "")
    if not header:
        raise PreconditionRequired(_("En-tête If-Match requis (ETag de la version modifiée)."))
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise ValidationError({"If-Match": [_("ETag invalide.")]})
    return int(value)


def idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 64:
        raise ValidationError({"Idempotency-Key": [_("64 caractères au plus.")]})
    return key


def sheet_response(sheet: LiaisonSheet, *, status_code: int = 200) -> Response:
    """The detail of a sheet after a write, with its ETag.

    The write was access-checked and audited by its service, which left the sheet as it wrote
    it: the response is built from that (liaison.selectors.sheet_as_written), not re-read.
    """
    fresh = selectors.sheet_as_written(sheet)
    data = SheetOutput(fresh, context={"attachments": selectors.attachments_for_output(fresh)}).data
    response = Response(data, status=status_code)
    response["ETag"] = f'"{fresh.version}"'
    return response


def _write_kwargs(data: dict[str, Any], raw: dict[str, Any], kind: str) -> dict[str, Any]:
    """Split a validated write body into the service's arguments."""
    content_keys = set(raw) - {
        "kind",
        "patient",
        "recipient_organisation",
        "sender_organisation",
        "referral",
        "copy_to",
        "recipients",
    }
    kwargs: dict[str, Any] = {"content": {key: raw[key] for key in content_keys}}
    if "patient" in raw:
        kwargs["patient"] = raw["patient"] if isinstance(raw["patient"], dict) else {}
    if "recipient_organisation" in data:
        kwargs["recipient_organisation"] = data["recipient_organisation"]
    people = "copy_to" if kind == LiaisonSheet.Kind.REFERRAL else "recipients"
    if people in data:
        kwargs["participants"] = list(data[people])
    return kwargs


class LiaisonSheetListApi(generics.ListAPIView):
    """Worklists: `box=inbox` (addressed to me or my service), `box=outbox` (sent by us)."""

    serializer_class = SheetSummaryOutput
    filter_backends: list[type] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return selectors.no_sheets()
        query = validated_query(self.request, ListQuery, self)
        member = current_member(self.request)
        page = self.request.query_params.get("page", "")
        selectors.record_list_read(
            member, source="api", filters={**query, "page": page if page.isdigit() else ""}
        )
        return selectors.TriagedList(selectors.matching_sheets(member, **query), member)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["member"] = current_member(self.request)
        return context

    @extend_schema(parameters=[ListQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=SheetWriteInput,
        responses={201: SheetOutput},
        parameters=[IDEMPOTENCY_KEY],
        examples=[OpenApiExample("Referral draft", value=REFERRAL_EXAMPLE, request_only=True)],
    )
    def post(self, request: Request) -> Response:
        """Create a draft (referral or discharge letter)."""
        member = current_member(request)
        body = SheetWriteInput(data=request.data)
        body.is_valid(raise_exception=True)
        kind = body.validated_data["kind"]
        referral = None
        if kind == LiaisonSheet.Kind.DISCHARGE and body.validated_data.get("referral"):
            try:
                referral = selectors.access_sheet(member, body.validated_data["referral"])
            except NotFound:
                raise ValidationError({"referral": [_("Fiche d'entrée introuvable.")]}) from None
        sheet = drafts.create_draft(
            actor=member,
            kind=kind,
            sender_organisation=body.validated_data.get("sender_organisation"),
            referral=referral,
            creation_key=idempotency_key(request),
            **_write_kwargs(body.validated_data, dict(request.data), kind),
        )
        response = sheet_response(sheet, status_code=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(sheet))


class KnownIdentityApi(APIView):
    @extend_schema(parameters=[KnownIdentityQuery], responses=KnownIdentityOutput)
    def get(self, request: Request) -> Response:
        """The identity of a patient you already wrote about, to start a new document.

        Looked up by INS, or birth (or used) name with the birth date, through the blind
        indexes, among the sheets you see; taken from the most recent one. 404 when none.
        """
        query = validated_query(request, KnownIdentityQuery)
        member = current_member(request)
        selectors.record_list_read(member, source="known_identity", filters=query)
        sheet = selectors.known_identity(member, **query)
        if sheet is None:
            raise NotFound(_("Aucune fiche visible sur ce patient."))
        return Response(
            KnownIdentityOutput(
                {
                    "patient": sheet.patient,
                    "warnings": identity_warnings(sheet.patient),
                    "sheet": sheet.code,
                }
            ).data
        )


class LiaisonSheetDetailApi(APIView):
    @extend_schema(responses=SheetOutput)
    def get(self, request: Request, code: UUID) -> Response:
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        data = SheetOutput(
            sheet, context={"attachments": list(selectors.attachments_of(sheet))}
        ).data
        response = Response(data)
        response["ETag"] = f'"{sheet.version}"'
        return response

    @extend_schema(request=SheetWriteInput, responses=SheetOutput, parameters=[IF_MATCH])
    def patch(self, request: Request, code: UUID) -> Response:
        """Edit a draft. Send the ETag you read in If-Match: 412 if someone saved meanwhile."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        expected = if_match_version(request)
        body = SheetWriteInput(data=request.data, kind=sheet.kind, partial=True)
        body.is_valid(raise_exception=True)
        kwargs = _write_kwargs(body.validated_data, dict(request.data), sheet.kind)
        if not kwargs["content"]:
            kwargs["content"] = None
        sheet = drafts.update_draft(actor=member, sheet=sheet, expected_version=expected, **kwargs)
        return sheet_response(sheet)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, code: UUID) -> Response:
        """Discard a draft."""
        member = current_member(request)
        drafts.delete_draft(actor=member, sheet=selectors.access_sheet(member, code))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LiaisonSheetSendApi(APIView):
    @extend_schema(request=None, responses=SheetOutput, parameters=[IDEMPOTENCY_KEY])
    def post(self, request: Request, code: UUID) -> Response:
        """Send a draft. 400 lists every missing required field; retries are harmless.

        Retried with the same Idempotency-Key, even while the first request is still running,
        it answers what the first one did, with `Idempotent-Replayed: true`.
        """
        reject_unknown_keys(request)
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        sheet = transitions.send_sheet(
            actor=member, sheet=sheet, idempotency_key=idempotency_key(request)
        )
        return tell_replay(sheet_response(sheet), replayed=was_replayed(sheet))


def _transition_view(
    action: str, input_class: type[serializers.Serializer], doc: str
) -> type[APIView]:
    class TransitionApi(APIView):
        @extend_schema(
            request=input_class,
            responses=SheetOutput,
            summary=doc,
            operation_id=f"liaison_sheets_{action}",
        )
        def post(self, request: Request, code: UUID) -> Response:
            member = current_member(request)
            sheet = selectors.access_sheet(member, code)
            body = input_class(data=request.data)
            body.is_valid(raise_exception=True)
            sheet = transitions.transition_referral(
                actor=member, sheet=sheet, action=action, **body.validated_data
            )
            return sheet_response(sheet)

    TransitionApi.__name__ = f"LiaisonSheet{action.title().replace('_', '')}Api"
    TransitionApi.__doc__ = doc
    return TransitionApi


LiaisonSheetReceiveApi = _transition_view("receive", NoteInput, "The service takes the referral.")
LiaisonSheetAcceptApi = _transition_view("accept", AcceptInput, "The service will see the patient.")
LiaisonSheetDeclineApi = _transition_view("decline", DeclineInput, "Decline, optionally redirect.")
LiaisonSheetCancelApi = _transition_view(
    "cancel", NoteInput, "The sender cancels before acceptance."
)
LiaisonSheetNoShowApi = _transition_view("no_show", NoteInput, "The patient did not come.")
LiaisonSheetReopenApi = _transition_view(
    "reopen", NoteInput, "The sender sends it again, with a note."
)
LiaisonSheetCloseApi = _transition_view("close", NoteInput, "The sender closes it after a no-show.")


class LiaisonSheetNotesApi(APIView):
    @extend_schema(request=NoteInput, responses={201: EventOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """Add an interim note; the other side is notified."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        body = NoteInput(data=request.data)
        body.is_valid(raise_exception=True)
        event = transitions.add_note(actor=member, sheet=sheet, note=body.validated_data["note"])
        return Response(EventOutput(event).data, status=status.HTTP_201_CREATED)


class LiaisonSheetReadApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer("ReadReceipt", {"recorded": serializers.BooleanField()}),
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Record the caller's read receipt (named participants only)."""
        reject_unknown_keys(request)
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        return Response({"recorded": filing.open_sheet(actor=member, sheet=sheet)})


class LiaisonSheetFileApi(APIView):
    @extend_schema(
        request=None,
        responses=inline_serializer("Filing", {"filed": serializers.BooleanField()}),
    )
    def post(self, request: Request, code: UUID) -> Response:
        """File ("Classer") a received discharge letter or an answered referral, for you.

        It leaves your "À traiter" list (`filed=false`) and is listed with `filed=true`.
        Filing twice is harmless. 409 for a draft or a referral still awaiting its answer.
        """
        reject_unknown_keys(request)
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        filing.file_sheet(actor=member, sheet=sheet)
        return Response({"filed": True})

    @extend_schema(
        request=None,
        responses=inline_serializer("Unfiling", {"filed": serializers.BooleanField()}),
    )
    def delete(self, request: Request, code: UUID) -> Response:
        """Un-file: the sheet comes back to your lists. Harmless if it was not filed."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        filing.unfile_sheet(actor=member, sheet=sheet)
        return Response({"filed": False})


class LiaisonSheetDischargeApi(APIView):
    @extend_schema(request=None, responses={201: SheetOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """Start the discharge letter of a referral, prefilled from it."""
        reject_unknown_keys(request)
        member = current_member(request)
        referral = selectors.access_sheet(member, code)
        letter = discharge.start_discharge_letter(actor=member, referral=referral)
        return sheet_response(letter, status_code=status.HTTP_201_CREATED)


class LiaisonSheetReviseApi(APIView):
    @extend_schema(request=None, responses={201: SheetOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """Start the next version of a sent discharge letter (e.g. results arrived)."""
        reject_unknown_keys(request)
        member = current_member(request)
        letter = selectors.access_sheet(member, code)
        draft = discharge.revise_discharge_letter(actor=member, letter=letter)
        return sheet_response(draft, status_code=status.HTTP_201_CREATED)


class LiaisonSheetEventsApi(APIView):
    @extend_schema(responses=EventOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        """The timeline: every transition and note, oldest first."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        return Response(EventOutput(selectors.events_of(sheet), many=True).data)


class LiaisonSheetAttachmentsApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "AttachmentUpload", {"file": serializers.FileField()}
            )
        },
        responses={201: AttachmentOutput},
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Attach a PDF, image or text file (type checked on the content)."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code)
        reject_unknown_keys(request, allowed={"file"})
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Aucun fichier reçu.")]})
        attachment = attachments.add_attachment(
            actor=member,
            sheet=sheet,
            fileobj=upload,
            filename=upload.name or "",
            size=upload.size or 0,
        )
        return Response(AttachmentOutput(attachment).data, status=status.HTTP_201_CREATED)


class LiaisonSheetAttachmentDownloadApi(APIView):
    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    def get(self, request: Request, code: UUID, attachment_code: UUID) -> HttpResponseBase:
        """Download an attachment, decrypted on the fly (audited)."""
        member = current_member(request)
        return upload_download(selectors.access_attachment(member, code, attachment_code))
