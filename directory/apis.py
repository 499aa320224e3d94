"""Directory endpoints: thin views that parse, call a selector or a service, and serialize."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.serializers import StrictSerializer
from directory import importer, selectors, services
from directory.account.forms import password_login_allowed
from directory.filters import MemberFilter, OrganisationFilter
from directory.models import Member
from directory.permissions import current_member
from directory.serializers import (
    DirectoryImportInput,
    DirectoryImportReportOutput,
    MemberCreateInput,
    MemberInput,
    MemberOutput,
    MemberSelfInput,
    MembershipInput,
    MembershipRoleInput,
    OrganisationInput,
    OrganisationOutput,
)
from directory.tokens.apis import IssuedTokenOutput
from security import tokens
from security.idempotency import tell_replay, was_replayed
from security.throttling import LoginLockedOut, ScopedRateThrottle, take_lockout
from security.two_factor import check_api_otp

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key does not add the member twice.",
)


def idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 64:
        raise ValidationError({"Idempotency-Key": [_("64 caractères au plus.")]})
    return key


def member_to_show(actor: Member, code: UUID | str) -> Member:
    """A member as the caller may see them: the coordination sees deactivated members too
    (to reactivate them); to everyone else a deactivated member does not exist (404)."""
    if selectors.is_coordinator(actor):
        return selectors.access_member_to_keep(actor, code)
    return selectors.access_member(actor, code)


class OrganisationListApi(generics.ListAPIView):
    """The organisations of the CPTS: practices, hospital and its services, pharmacies..."""

    serializer_class = OrganisationOutput
    filterset_class = OrganisationFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return selectors.organisations_visible_to(None)
        return selectors.organisations_visible_to(current_member(self.request))

    @extend_schema(request=OrganisationInput, responses={201: OrganisationOutput})
    def post(self, request: Request) -> Response:
        """Add an organisation (CPTS coordination only)."""
        data = OrganisationInput(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = services.create_organisation(
            actor=current_member(request), **data.validated_data
        )
        return Response(OrganisationOutput(organisation).data, status=status.HTTP_201_CREATED)


class OrganisationDetailApi(APIView):
    @extend_schema(responses=OrganisationOutput)
    def get(self, request: Request, code: UUID) -> Response:
        organisation = selectors.access_organisation(current_member(request), code)
        return Response(OrganisationOutput(organisation).data)

    @extend_schema(request=OrganisationInput(partial=True), responses=OrganisationOutput)
    def patch(self, request: Request, code: UUID) -> Response:
        """Change an organisation (CPTS coordination only)."""
        member = current_member(request)
        organisation = selectors.access_organisation(member, code)
        data = OrganisationInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        organisation = services.update_organisation(
            actor=member, organisation=organisation, **data.validated_data
        )
        return Response(OrganisationOutput(organisation).data)


class MemberListApi(generics.ListAPIView):
    """The professionals of the CPTS, searchable by name, profession, commune, organisation."""

    serializer_class = MemberOutput
    filterset_class = MemberFilter

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return selectors.members_visible_to(None)
        return selectors.members_visible_to(current_member(self.request))

    @extend_schema(
        request=MemberCreateInput, responses={201: MemberOutput}, parameters=[IDEMPOTENCY_KEY]
    )
    def post(self, request: Request) -> Response:
        """Add a member and their memberships (CPTS coordination only)."""
        actor = current_member(request)
        data = MemberCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        member = services.create_member(
            actor=actor, creation_key=idempotency_key(request), **data.to_service_kwargs()
        )
        response = Response(
            MemberOutput(member_to_show(actor, member.code)).data, status=status.HTTP_201_CREATED
        )
        return tell_replay(response, replayed=was_replayed(member))


class MemberDetailApi(APIView):
    @extend_schema(responses=MemberOutput)
    def get(self, request: Request, code: UUID) -> Response:
        """A member; the coordination also reads deactivated members (`is_active` false)."""
        return Response(MemberOutput(member_to_show(current_member(request), code)).data)

    @extend_schema(request=MemberInput(partial=True), responses=MemberOutput)
    def patch(self, request: Request, code: UUID) -> Response:
        """Change a member's profile (the coordination, or the member for their own details).

        The coordination deactivates a member with `{"is_active": false}` and reactivates
        them with `{"is_active": true}`; 409 when the member already is in that state.
        """
        actor = current_member(request)
        member = member_to_show(actor, code)
        data = MemberInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_member(actor=actor, member=member, **data.validated_data)
        return Response(MemberOutput(member_to_show(actor, code)).data)


class MemberMembershipListApi(APIView):
    @extend_schema(request=MembershipInput, responses={201: MemberOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """Attach the member to one more structure, with a role (coordination only; 400 when
        the member already belongs to it)."""
        actor = current_member(request)
        member = member_to_show(actor, code)
        body = MembershipInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.add_membership(
            actor=actor,
            member=member,
            organisation=body.validated_data["id"],
            role=body.validated_data["role"],
        )
        return Response(
            MemberOutput(member_to_show(actor, code)).data, status=status.HTTP_201_CREATED
        )


class MemberMembershipApi(APIView):
    @extend_schema(request=MembershipRoleInput, responses=MemberOutput)
    def patch(self, request: Request, code: UUID, organisation_code: UUID) -> Response:
        """Change the member's role in this structure (coordination only; a coordinator
        cannot take away their own coordination: 409)."""
        actor = current_member(request)
        member = member_to_show(actor, code)
        membership = selectors.access_membership(member, organisation_code)
        body = MembershipRoleInput(data=request.data)
        body.is_valid(raise_exception=True)
        services.change_membership_role(
            actor=actor, membership=membership, role=body.validated_data["role"]
        )
        return Response(MemberOutput(member_to_show(actor, code)).data)

    @extend_schema(responses={204: None})
    def delete(self, request: Request, code: UUID, organisation_code: UUID) -> Response:
        """Detach the member from this structure (coordination only; 409 for their last one)."""
        actor = current_member(request)
        member = member_to_show(actor, code)
        membership = selectors.access_membership(member, organisation_code)
        services.end_membership(actor=actor, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeApi(APIView):
    """The caller's own member profile."""

    @extend_schema(responses=MemberOutput)
    def get(self, request: Request) -> Response:
        member = current_member(request)
        return Response(MemberOutput(selectors.access_member(member, member.code)).data)

    @extend_schema(request=MemberSelfInput, responses=MemberOutput)
    def patch(self, request: Request) -> Response:
        """Update one's own phone, specialty, RPPS or ADELI."""
        member = current_member(request)
        data = MemberSelfInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.update_member(actor=member, member=member, **data.validated_data)
        return Response(MemberOutput(selectors.access_member(member, member.code)).data)


class PingApi(APIView):
    """A probe of the API stack itself: token authentication and one row read, nothing else.

    The baseline of the load benchmarks (bench/liaison.py): what any authenticated API call
    costs on this server before its own work. Left out of the public schema on purpose.
    """

    @extend_schema(exclude=True)
    def get(self, request: Request) -> Response:
        return Response({"member": str(current_member(request).code)})


class TokenObtainApi(APIView):
    """Exchange a username and password (and the TOTP code when 2FA applies) for an API token.

    Send the token as `Authorization: Token <token>`. When the member has enrolled an
    authenticator app, or two-factor authentication is enforced (REQUIRE_2FA), `otp` must be
    the code it currently shows: a token outlives any session, so it takes the same proof as a
    web login. Each call makes a new token, named by `name` (default: the User-Agent); it dies
    after API_TOKEN_IDLE_TIMEOUT_MINUTES without use and API_TOKEN_MAX_AGE_HOURS after issue.
    The token is shown only in this answer: the server keeps its hash.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"

    @extend_schema_serializer(component_name="TokenObtain")  # not a generic "Input"
    class InputSerializer(StrictSerializer):
        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        otp = serializers.CharField(
            max_length=16,
            required=False,
            allow_blank=True,
            help_text=(
                "The 6-digit code currently shown by the member's authenticator app. Required "
                "when two-factor authentication is enforced for the member (REQUIRE_2FA, on in "
                "production): without it, or with a wrong or already used code, the answer is "
                "400 naming `otp`. Also required once the member has enrolled an app, "
                "whatever REQUIRE_2FA says. Recovery codes are not accepted here."
            ),
        )
        name = serializers.CharField(
            max_length=100,
            required=False,
            allow_blank=True,
            help_text="What the token is for (device, script); default: the User-Agent.",
        )

    @extend_schema(
        request=InputSerializer,
        responses={200: IssuedTokenOutput},
        examples=[
            OpenApiExample(
                "Demo GP",
                value={"username": "dr.martin", "password": "demo"},
                request_only=True,
            ),
            OpenApiExample(
                "With two-factor authentication",
                value={"username": "dr.martin", "password": "demo", "otp": "123456"},
                request_only=True,
            ),
        ],
        auth=[],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # django-axes counts failures and flags lockouts on Django's request, which its
        # middleware reads; DRF's wrapper would keep the flag to itself.
        http_request = request._request
        user = authenticate(
            http_request,
            username=data.validated_data["username"],
            password=data.validated_data["password"],
        )
        if take_lockout(http_request):
            raise LoginLockedOut(http_request)
        if user is None or selectors.member_for_user(user) is None:
            raise ValidationError({"detail": "Identifiant ou mot de passe incorrect."})
        if not password_login_allowed(selectors.member_for_user(user)):
            # The same rule as the login page: the password is closed to this member.
            raise PermissionDenied(
                detail=_("Ce compte se connecte avec Pro Santé Connect (e-CPS ou carte CPS)."),
                code="psc_only",
            )
        with_2fa = check_api_otp(user, data.validated_data.get("otp", ""))
        issued = tokens.issue_personal_token(
            user=user,
            name=data.validated_data.get("name")
            or tokens.default_token_name(request.META.get("HTTP_USER_AGENT", "")),
            issued_with_2fa=with_2fa,
        )
        return Response(IssuedTokenOutput(issued).data)


class DirectoryImportApi(APIView):
    parser_classes = [MultiPartParser]

    @extend_schema(
        request={"multipart/form-data": DirectoryImportInput},
        responses={200: DirectoryImportReportOutput},
    )
    def post(self, request: Request) -> Response:
        """Import organisations and members from CSV (coordination only).

        `dry_run` (default true) lists each row and why it would be rejected, importing
        nothing. Without `skip_invalid`, one rejected row means nothing is imported.
        """
        member = current_member(request)
        body = DirectoryImportInput(data=request.data)
        body.is_valid(raise_exception=True)
        report = importer.import_directory(
            actor=member,
            fileobj=body.validated_data["file"],
            dry_run=body.validated_data["dry_run"],
            skip_invalid=body.validated_data["skip_invalid"],
            existing=body.validated_data["existing"],
        )
        return Response(DirectoryImportReportOutput(report).data)
