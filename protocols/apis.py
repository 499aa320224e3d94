"""Protocol endpoints: parse, access the protocol, call one service, serialize."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import refuse_unknown_parameters, validated_query
from config.serializers import reject_unknown_keys
from directory.models import Member
from directory.permissions import current_member
from directory.selectors import access_member
from protocols import diff, selectors
from protocols.downloads import attachment_download
from protocols.guide.selectors import themes_with_slugs
from protocols.models import Protocol, ProtocolVersion, Theme
from protocols.serializers import (
    ProtocolAcknowledgementOutput,
    ProtocolAcknowledgementOverviewOutput,
    ProtocolCommentInput,
    ProtocolCreateInput,
    ProtocolDiffOutput,
    ProtocolInclusionCountsOutput,
    ProtocolInclusionEndInput,
    ProtocolInclusionInput,
    ProtocolInclusionOutput,
    ProtocolListQuery,
    ProtocolNewVersionInput,
    ProtocolOutput,
    ProtocolParticipantInput,
    ProtocolParticipantOutput,
    ProtocolRequestChangesInput,
    ProtocolSubmitInput,
    ProtocolSummaryOutput,
    ProtocolUpdateInput,
    ProtocolVersionContentInput,
    ProtocolVersionOutput,
    ProtocolVersionSummaryOutput,
)
from protocols.services import drafting, inclusions, lifecycle, participation
from security.exceptions import NotFound
from security.idempotency import tell_replay, was_replayed

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description='The ETag of the draft you edit, e.g. "3": 412 if someone saved meanwhile.',
)
MAX_NUMBER = selectors.MAX_VERSION_NUMBER


def _if_match(request: Request) -> int | None:
    header = request.headers.get("If-Match", "").strip()
    if not header:
        return None
    value = header.removeprefix("W/").strip('"')
    if not value.isdigit() or int(value) > MAX_NUMBER:
        raise ValidationError({"If-Match": [_("ETag invalide.")]})
    return int(value)


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 64:
        raise ValidationError({"Idempotency-Key": [_("64 caractères au plus.")]})
    return key


def _idempotency_parameter(what: str) -> OpenApiParameter:
    return OpenApiParameter(
        "Idempotency-Key",
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=False,
        description=f"Retrying with the same key does not create a second {what}.",
    )


def _themes(slugs: list[str]) -> list[Theme]:
    known, unknown = themes_with_slugs(slugs)
    if unknown:
        raise ValidationError({"themes": [_("Thème inconnu : %(t)s.") % {"t": ", ".join(unknown)}]})
    return known


def version_response(version: ProtocolVersion, *, status_code: int = 200) -> Response:
    fresh = selectors.version_for_output(version)
    response = Response(ProtocolVersionOutput(fresh).data, status=status_code)
    response["ETag"] = f'"{fresh.revision}"'
    return response


def protocol_response(
    member: Member, protocol: Protocol, *, status_code: int = 200, reload: bool = True
) -> Response:
    """The protocol's detail; after a write it is reloaded (the row was derived again)."""
    if reload:
        protocol = selectors.protocol_for_output(protocol)
    current = (
        selectors.version_for_output(protocol.current_version) if protocol.current_version else None
    )
    context = {
        "current": current,
        "versions": list(selectors.versions_visible_to(member, protocol)),
    }
    return Response(ProtocolOutput(protocol, context=context).data, status=status_code)


class ProtocolListApi(generics.ListAPIView):
    """The protocol library: search in French, filter by kind, status, profession, theme."""

    serializer_class = ProtocolSummaryOutput
    filter_backends: list[type] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return selectors.no_protocols()
        query = validated_query(self.request, ProtocolListQuery, self)
        return selectors.protocol_list(current_member(self.request), **query)

    @extend_schema(parameters=[ProtocolListQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ProtocolCreateInput,
        responses={201: ProtocolOutput},
        parameters=[_idempotency_parameter("protocol")],
    )
    def post(self, request: Request) -> Response:
        """Create a protocol with its first draft (you become its author)."""
        key = _idempotency_key(request)
        member = current_member(request)
        body = ProtocolCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        kind, reference, themes = (
            data.pop("kind"),
            data.pop("reference"),
            _themes(data.pop("themes")),
        )
        protocol = drafting.create_protocol(
            actor=member,
            kind=kind,
            reference=reference,
            themes=themes,
            content=data,
            creation_key=key,
        )
        response = protocol_response(member, protocol, status_code=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(protocol))


class ProtocolDetailApi(APIView):
    @extend_schema(responses=ProtocolOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """The protocol, its version in force and the versions you may read."""
        member = current_member(request)
        return protocol_response(member, selectors.access_protocol(member, code), reload=False)

    @extend_schema(request=ProtocolUpdateInput, responses=ProtocolOutput)
    def patch(self, request: Request, code: UUID) -> Response:
        """Change the reference or the themes (creator and coordination)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        body = ProtocolUpdateInput(data=request.data)
        body.is_valid(raise_exception=True)
        themes = _themes(body.validated_data["themes"]) if "themes" in body.validated_data else None
        protocol = drafting.update_protocol(
            actor=member,
            protocol=protocol,
            themes=themes,
            reference=body.validated_data.get("reference"),
        )
        return protocol_response(member, protocol)


class ProtocolVersionListApi(APIView):
    @extend_schema(responses=ProtocolVersionSummaryOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        """Every version you may read, oldest first."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        versions = selectors.versions_visible_to(member, protocol)
        return Response(ProtocolVersionSummaryOutput(versions, many=True).data)

    @extend_schema(request=ProtocolNewVersionInput, responses={201: ProtocolVersionOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """Draft the next version from a released one (409 if one is already in preparation)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        body = ProtocolNewVersionInput(data=request.data)
        body.is_valid(raise_exception=True)
        source = None
        if "source" in body.validated_data:
            source = selectors.access_version(member, protocol, body.validated_data["source"])
        version = drafting.draft_new_version(actor=member, protocol=protocol, source=source)
        return version_response(version, status_code=status.HTTP_201_CREATED)


class ProtocolVersionDetailApi(APIView):
    @extend_schema(responses=ProtocolVersionOutput)
    def get(self, request: Request, code: UUID, number: int) -> Response:
        """One version, its sections in Markdown and rendered as safe HTML, its reviews."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        return version_response(version)

    @extend_schema(
        request=ProtocolVersionContentInput, responses=ProtocolVersionOutput, parameters=[IF_MATCH]
    )
    def patch(self, request: Request, code: UUID, number: int) -> Response:
        """Edit a draft (409 for any other state: a new version is drafted instead)."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        expected = _if_match(request)
        body = ProtocolVersionContentInput(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        version = drafting.update_draft(
            actor=member,
            version=version,
            content=dict(body.validated_data),
            expected_revision=expected,
        )
        return version_response(version)


class ProtocolVersionAttachmentApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, code: UUID, number: int) -> HttpResponseBase:
        """The PDF attached to the version."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        return attachment_download(version)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ProtocolPdfUpload", {"file": serializers.FileField()}
            )
        },
        responses=ProtocolVersionOutput,
    )
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """Attach (or replace) the PDF of a draft. Protocols must not contain patient data."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        reject_unknown_keys(request, allowed={"file"})
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Aucun fichier reçu.")]})
        version = drafting.attach_pdf(
            actor=member,
            version=version,
            fileobj=upload,
            filename=upload.name or "",
            size=upload.size or 0,
        )
        return version_response(version)


class ProtocolVersionSubmitApi(APIView):
    @extend_schema(request=ProtocolSubmitInput, responses=ProtocolVersionOutput)
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """Send a draft to its named reviewers. 400 lists what it still lacks."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        body = ProtocolSubmitInput(data=request.data)
        body.is_valid(raise_exception=True)
        version = lifecycle.submit_for_review_to(
            actor=member, version=version, reviewer_codes=body.validated_data["reviewers"]
        )
        return version_response(version)


class ProtocolVersionApproveApi(APIView):
    @extend_schema(request=ProtocolCommentInput, responses=ProtocolVersionOutput)
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """A named reviewer approves the version in review."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        body = ProtocolCommentInput(data=request.data)
        body.is_valid(raise_exception=True)
        version = lifecycle.approve_version(
            actor=member, version=version, comment=body.validated_data["comment"]
        )
        return version_response(version)


class ProtocolVersionRequestChangesApi(APIView):
    @extend_schema(request=ProtocolRequestChangesInput, responses=ProtocolVersionOutput)
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """A named reviewer sends the version back to draft, with a comment."""
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        body = ProtocolRequestChangesInput(data=request.data)
        body.is_valid(raise_exception=True)
        version = lifecycle.request_changes(
            actor=member, version=version, comment=body.validated_data["comment"]
        )
        return version_response(version)


class ProtocolVersionPublishApi(APIView):
    @extend_schema(request=None, responses=ProtocolVersionOutput)
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """Put an approved version in force; the previous one is superseded."""
        reject_unknown_keys(request)
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        return version_response(lifecycle.publish_version(actor=member, version=version))


class ProtocolVersionRetireApi(APIView):
    @extend_schema(request=None, responses=ProtocolVersionOutput)
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """Withdraw the version in force."""
        reject_unknown_keys(request)
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        return version_response(lifecycle.retire_version(actor=member, version=version))


class ProtocolVersionAcknowledgeApi(APIView):
    @extend_schema(
        request=None,
        responses={200: ProtocolAcknowledgementOutput, 201: ProtocolAcknowledgementOutput},
    )
    def post(self, request: Request, code: UUID, number: int) -> Response:
        """ "Lu et approuvé" on the version in force (201; 200 when already done)."""
        reject_unknown_keys(request)
        member = current_member(request)
        version = selectors.access_version(member, selectors.access_protocol(member, code), number)
        acknowledgement, created = participation.acknowledge_version(actor=member, version=version)
        return Response(
            ProtocolAcknowledgementOutput(acknowledgement).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ProtocolAcknowledgementsApi(APIView):
    @extend_schema(responses=ProtocolAcknowledgementOverviewOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """Who acknowledged the version in force, and which participants have not yet."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        return Response(
            ProtocolAcknowledgementOverviewOutput(selectors.acknowledgement_overview(protocol)).data
        )


class ProtocolParticipantsApi(APIView):
    @extend_schema(responses=ProtocolParticipantOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        """The active participants: délégants, délégués, participants."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        return Response(
            ProtocolParticipantOutput(selectors.participants_of(protocol), many=True).data
        )

    @extend_schema(
        request=ProtocolParticipantInput,
        responses={200: ProtocolParticipantOutput, 201: ProtocolParticipantOutput},
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Register yourself (or, for the creator and the coordination, a member)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        body = ProtocolParticipantInput(data=request.data)
        body.is_valid(raise_exception=True)
        who = member
        if "member" in body.validated_data:
            try:
                who = access_member(member, body.validated_data["member"])
            except NotFound:
                raise ValidationError({"member": [_("Membre introuvable.")]}) from None
        registered, created = participation.register_participant(
            actor=member,
            protocol=protocol,
            member=who,
            role=body.validated_data["role"],
            training_declared=body.validated_data["training_declared"],
            training_details=body.validated_data["training_details"],
        )
        return Response(
            ProtocolParticipantOutput(registered).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ProtocolParticipantDetailApi(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, code: UUID, participation_code: UUID) -> Response:
        """End a participation (the member, or the creator and the coordination)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        registered = selectors.access_participation(protocol, participation_code)
        participation.end_participation(actor=member, participation=registered)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProtocolDiffApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "from", int, description="Version number (default: the one replaced)."
            ),
            OpenApiParameter("to", int, description="Version number (default: the one in force)."),
        ],
        responses=ProtocolDiffOutput,
    )
    def get(self, request: Request, code: UUID) -> Response:
        """What changed between two versions, section by section."""
        member = current_member(request)
        refuse_unknown_parameters(request, {"from", "to"})
        numbers: dict[str, int | None] = {}
        for name in ("from", "to"):
            value = request.query_params.get(name)
            if value is not None and (not value.isdigit() or not 1 <= int(value) <= MAX_NUMBER):
                raise ValidationError({name: [_("Un numéro de version est attendu.")]})
            numbers[name] = int(value) if value is not None else None
        protocol = selectors.access_protocol(member, code)
        old, new, sections = selectors.diff_between(
            member, protocol, from_number=numbers["from"], to_number=numbers["to"]
        )
        return Response(
            ProtocolDiffOutput(
                {
                    "from_version": old.number,
                    "to_version": new.number,
                    "sections": diff.as_data(sections),
                }
            ).data
        )


class ProtocolInclusionListApi(generics.ListAPIView):
    """Patients included in the protocol (D4011-4-2): the ones you included, or every one
    for the protocol's creator and the coordination. Each read is audited."""

    serializer_class = ProtocolInclusionOutput
    filter_backends: list[type] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return selectors.no_inclusions()
        refuse_unknown_parameters(self.request, {"page", "page_size"})
        member = current_member(self.request)
        protocol = selectors.access_protocol(member, self.kwargs["code"])
        self.protocol = protocol
        return selectors.inclusions_visible_to(member, protocol)

    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        response = super().get(request, *args, **kwargs)
        results = response.data.get("results", []) if isinstance(response.data, dict) else []
        selectors.audit_inclusion_list(current_member(request), self.protocol, len(results))
        return response

    @extend_schema(
        request=ProtocolInclusionInput,
        responses={201: ProtocolInclusionOutput},
        parameters=[_idempotency_parameter("inclusion")],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Include a patient (délégués, or participants of a pluriprofessional protocol, of a
        protocol in force: 403 for other members, 409 when the protocol is not in force)."""
        key = _idempotency_key(request)
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        body = ProtocolInclusionInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        inclusion = inclusions.include_patient(
            actor=member,
            protocol=protocol,
            patient=dict(request.data.get("patient") or {}),
            included_on=data["included_on"],
            informed_on=data["informed_on"],
            consent=data["consent"],
            creation_key=key,
        )
        response = Response(ProtocolInclusionOutput(inclusion).data, status=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(inclusion))


class ProtocolInclusionCountsApi(APIView):
    @extend_schema(responses=ProtocolInclusionCountsOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """How many patients were included, are followed, left and why (no identity)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        return Response(ProtocolInclusionCountsOutput(selectors.inclusion_counts(protocol)).data)


class ProtocolInclusionDetailApi(APIView):
    @extend_schema(responses=ProtocolInclusionOutput)
    def get(self, request: Request, code: UUID, inclusion_code: UUID) -> Response:
        """One included patient (the including member and the managers; audited)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        inclusion = selectors.access_inclusion(member, protocol, inclusion_code)
        return Response(ProtocolInclusionOutput(inclusion).data)


class ProtocolInclusionEndApi(APIView):
    @extend_schema(request=ProtocolInclusionEndInput, responses=ProtocolInclusionOutput)
    def post(self, request: Request, code: UUID, inclusion_code: UUID) -> Response:
        """The patient leaves the protocol: day and reason (409 when already out)."""
        member = current_member(request)
        protocol = selectors.access_protocol(member, code)
        inclusion = selectors.access_inclusion(member, protocol, inclusion_code)
        body = ProtocolInclusionEndInput(data=request.data)
        body.is_valid(raise_exception=True)
        inclusion = inclusions.end_inclusion(
            actor=member,
            inclusion=inclusion,
            ended_on=body.validated_data["ended_on"],
            reason=body.validated_data["end_reason"],
        )
        return Response(ProtocolInclusionOutput(inclusion).data)
