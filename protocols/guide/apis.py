"""Resource guide endpoints: themes, the guide by theme and commune, its PDF, the guide
entries of organisations and members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import refuse_unknown_parameters
from directory.permissions import current_member
from directory.selectors import access_member, access_organisation
from protocols.downloads import guide_download
from protocols.guide import selectors, services
from protocols.guide.serializers import (
    GuideEntryInput,
    GuideEntryOutput,
    GuideThemeOutput,
)
from protocols.serializers import ThemeInput, ThemeOutput

GUIDE_FILTERS = [
    OpenApiParameter("theme", str, description="A theme's slug."),
    OpenApiParameter("commune", str, description="A commune, as written in the directory."),
]


def _guide_filters(request: Request) -> dict[str, str]:
    refuse_unknown_parameters(request, {"theme", "commune"})
    values = {name: request.query_params.get(name, "")[:120] for name in ("theme", "commune")}
    invalid = [name for name, value in values.items() if "\x00" in value]
    if invalid:
        raise ValidationError({name: [_("Caractère interdit.")] for name in invalid})
    return values


def _choices(rows: list[dict[str, Any]]) -> list[services.ThemeChoice]:
    known, unknown = selectors.themes_with_slugs([row["theme"] for row in rows])
    if unknown:
        raise ValidationError({"themes": [_("Thème inconnu : %(t)s.") % {"t": ", ".join(unknown)}]})
    by_slug = {theme.slug: theme for theme in known}
    by_name = {theme.name.lower(): theme for theme in known}
    return [
        services.ThemeChoice(
            by_slug.get(row["theme"]) or by_name[row["theme"].lower()], row["note"]
        )
        for row in rows
    ]


class ThemeListApi(APIView):
    @extend_schema(responses=ThemeOutput(many=True))
    def get(self, request: Request) -> Response:
        """The themes of the guide, in their order."""
        current_member(request)
        return Response(ThemeOutput(selectors.themes(), many=True).data)

    @extend_schema(request=ThemeInput, responses={201: ThemeOutput})
    def post(self, request: Request) -> Response:
        """Add a theme (CPTS coordination only)."""
        body = ThemeInput(data=request.data)
        body.is_valid(raise_exception=True)
        theme = services.create_theme(actor=current_member(request), **body.validated_data)
        return Response(ThemeOutput(theme).data, status=status.HTTP_201_CREATED)


class GuideApi(APIView):
    @extend_schema(parameters=GUIDE_FILTERS, responses=GuideThemeOutput(many=True))
    def get(self, request: Request) -> Response:
        """Who does what: themes, then communes, then organisations and professionals."""
        current_member(request)
        return Response(
            GuideThemeOutput(selectors.guide(**_guide_filters(request)), many=True).data
        )


class GuidePdfApi(APIView):
    @extend_schema(
        parameters=GUIDE_FILTERS, responses={(200, "application/pdf"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request) -> HttpResponseBase:
        """The printable guide as a PDF (same grouping and filters as the guide)."""
        current_member(request)
        return guide_download(**_guide_filters(request))


class OrganisationGuideApi(APIView):
    @extend_schema(responses=GuideEntryOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """An organisation's themes and office hours."""
        organisation = access_organisation(current_member(request), code)
        links, hours = selectors.organisation_guide(organisation)
        return Response(GuideEntryOutput({"themes": links, "office_hours": hours}).data)

    @extend_schema(request=GuideEntryInput, responses=GuideEntryOutput)
    def put(self, request: Request, code: UUID) -> Response:
        """Replace them (the coordination or the organisation's administrators)."""
        member = current_member(request)
        organisation = access_organisation(member, code)
        body = GuideEntryInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.set_organisation_guide(
            actor=member,
            organisation=organisation,
            themes=_choices(body.validated_data["themes"]),
            office_hours=body.validated_data["office_hours"],
        )
        links, hours = selectors.organisation_guide(organisation)
        return Response(GuideEntryOutput({"themes": links, "office_hours": hours}).data)


class MemberGuideApi(APIView):
    @extend_schema(responses=GuideEntryOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """A member's themes and office hours."""
        shown = access_member(current_member(request), code)
        links, hours = selectors.member_guide(shown)
        return Response(GuideEntryOutput({"themes": links, "office_hours": hours}).data)

    @extend_schema(request=GuideEntryInput, responses=GuideEntryOutput)
    def put(self, request: Request, code: UUID) -> Response:
        """Replace them (the member themselves or the coordination)."""
        member = current_member(request)
        shown = access_member(member, code)
        body = GuideEntryInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.set_member_guide(
            actor=member,
            member=shown,
            themes=_choices(body.validated_data["themes"]),
            office_hours=body.validated_data["office_hours"],
        )
        links, hours = selectors.member_guide(shown)
        return Response(GuideEntryOutput({"themes": links, "office_hours": hours}).data)
