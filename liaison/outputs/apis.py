"""Output endpoints: a sheet as PDF or FHIR document, FHIR import, the coordinator's indicators.

Thin like liaison/apis.py: parse, access (which audits), call one function, answer.
Downloads answer their own media type whatever the Accept header says (a client asking for
`application/pdf` must not get 406), and their errors are the usual JSON bodies.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import validated_query
from config.parsers import FhirJSONParser, JSONParser
from directory.permissions import current_member
from liaison import actions, selectors
from liaison.apis import idempotency_key, sheet_response
from liaison.outputs import selectors as output_selectors
from liaison.outputs.files import FHIR_JSON, download, indicators_csv, sheet_fhir, sheet_pdf
from liaison.outputs.indicators import Indicators
from liaison.outputs.serializers import IndicatorsOutput, IndicatorsQuery
from liaison.outputs.services import import_sheet_from_fhir
from liaison.serializers import SheetOutput
from security.idempotency import tell_replay, was_replayed
from security.reauth import refuse_unless_recent


class AlwaysJsonErrors(DefaultContentNegotiation):
    """The download itself is a plain HttpResponse; DRF renders only the errors, as JSON."""

    def select_renderer(
        self, request: Request, renderers: list[Any], format_suffix: str | None = None
    ) -> Any:
        return renderers[0], renderers[0].media_type


class LiaisonSheetPdfApi(APIView):
    content_negotiation_class = AlwaysJsonErrors

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    def get(self, request: Request, code: UUID) -> HttpResponseBase:
        """The sheet as PDF: identity and date on every page, filled sections only (audited)."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code, audit_action=actions.SHEET_PDF)
        return download(sheet_pdf(sheet))


class LiaisonSheetFhirApi(APIView):
    content_negotiation_class = AlwaysJsonErrors

    @extend_schema(responses={(200, FHIR_JSON): OpenApiTypes.OBJECT})
    def get(self, request: Request, code: UUID) -> HttpResponseBase:
        """The sheet as a FHIR R4 document Bundle (Composition first; audited)."""
        member = current_member(request)
        sheet = selectors.access_sheet(member, code, audit_action=actions.SHEET_FHIR)
        return download(sheet_fhir(sheet))


class LiaisonSheetFromFhirApi(APIView):
    parser_classes = [JSONParser, FhirJSONParser]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT, FHIR_JSON: OpenApiTypes.OBJECT},
        responses={201: SheetOutput},
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                required=False,
                description="Retrying with the same key creates one draft.",
            )
        ],
    )
    def post(self, request: Request) -> Response:
        """Create a draft from a FHIR R4 document Bundle (e.g. a hospital's discharge letter).

        400 lists, by JSON path in the Bundle, everything that could not be understood; nothing
        is created then. The caller becomes the draft's author.
        """
        member = current_member(request)
        sheet = import_sheet_from_fhir(
            actor=member, bundle=request.data, creation_key=idempotency_key(request)
        )
        response = sheet_response(sheet, status_code=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(sheet))


def _indicators(request: Request) -> Indicators:
    member = current_member(request)
    output_selectors.require_coordinator(member)  # before parsing: others learn nothing
    query = validated_query(request, IndicatorsQuery)
    return output_selectors.access_liaison_indicators(member, **query)


class LiaisonIndicatorsApi(APIView):
    @extend_schema(parameters=[IndicatorsQuery], responses=IndicatorsOutput)
    def get(self, request: Request) -> Response:
        """The coordinator's monthly liaison indicators (404 for anyone else)."""
        return Response(IndicatorsOutput(_indicators(request)).data)


class LiaisonIndicatorsCsvApi(APIView):
    content_negotiation_class = AlwaysJsonErrors

    @extend_schema(parameters=[IndicatorsQuery], responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> HttpResponseBase:
        """The same table as CSV (';' separated, decimal comma, UTF-8 with BOM)."""
        indicators = _indicators(request)
        refuse_unless_recent(request)  # an export: a recent authentication, as on the page
        return download(indicators_csv(indicators))
