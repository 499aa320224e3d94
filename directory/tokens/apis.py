"""API tokens over the API: list and revoke one's own (the coordination: anyone's), and make
integration tokens. Personal tokens are made by POST /api/v1/auth/token/ (directory/apis.py).

Thin: security.tokens does the work, directory.tokens.selectors decides who may see what. The
secret appears in one answer only, the one that made the token.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import refuse_unknown_parameters
from config.serializers import Serializer
from directory import selectors as directory_selectors
from directory import services as directory_services
from directory.permissions import current_member
from directory.tokens import selectors as token_selectors
from security import tokens
from security.models import ApiToken


@extend_schema_serializer(component_name="Token")
class IssuedTokenOutput(Serializer):
    """A new token: the secret, shown only in this answer, and what it is worth."""

    token = serializers.CharField(
        source="secret", help_text="The secret: send it as `Authorization: Token <token>`."
    )
    id = serializers.UUIDField(source="token.code", help_text="To list or revoke the token.")
    name = serializers.CharField(source="token.name")
    kind = serializers.ChoiceField(source="token.kind", choices=ApiToken.Kind.choices)
    scopes = serializers.ListField(source="token.scopes", child=serializers.CharField())
    expires_at = serializers.DateTimeField(
        source="token.expires_at", help_text="Absolute end of validity."
    )
    idle_timeout_minutes = serializers.SerializerMethodField(
        help_text="The token dies after this many minutes without use."
    )

    def get_idle_timeout_minutes(self, issued: tokens.IssuedToken) -> int | None:
        timeout = issued.token.idle_timeout
        return int(timeout.total_seconds() // 60) if timeout else None


@extend_schema_serializer(component_name="ApiToken")
class ApiTokenOutput(Serializer):
    """A token as lists show it: never the secret, only its first characters."""

    id = serializers.UUIDField(source="code")
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=ApiToken.Kind.choices)
    prefix = serializers.CharField(help_text="The first characters of the token.")
    scopes = serializers.ListField(child=serializers.CharField())
    status = serializers.SerializerMethodField()
    issued_with_2fa = serializers.BooleanField()
    bound_to_session = serializers.SerializerMethodField(
        help_text="Revoked when the web session that made it logs out."
    )
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(help_text="Updated at most once a minute.")
    expires_at = serializers.DateTimeField()
    idle_timeout_minutes = serializers.SerializerMethodField()
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField(help_text="Empty unless revoked.")

    def get_status(self, token: ApiToken) -> str:
        return tokens.status_of(token)

    def get_bound_to_session(self, token: ApiToken) -> bool:
        return bool(token.session_digest)

    def get_idle_timeout_minutes(self, token: ApiToken) -> int | None:
        return int(token.idle_timeout.total_seconds() // 60) if token.idle_timeout else None


class ApiTokenListApi(generics.ListAPIView):
    """The caller's tokens, newest first; the coordination may ask for a member's (`member`).

    Revoked and expired tokens stay listed, with their status, so that a member can see
    what happened to a token that stopped working.
    """

    class FilterSerializer(Serializer):
        member = serializers.UUIDField(
            required=False,
            help_text="Public id of the member whose tokens to list (coordination only); "
            "default: the caller.",
        )

    serializer_class = ApiTokenOutput
    filter_backends: list[type] = []  # the query is validated by FilterSerializer below

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        member = current_member(request)
        refuse_unknown_parameters(request, {"member"}, self)
        query = self.FilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        code = query.validated_data.get("member")
        owner = directory_selectors.access_member(member, code) if code else member
        page = self.paginate_queryset(token_selectors.tokens_of(member, owner=owner))
        return self.get_paginated_response(ApiTokenOutput(page, many=True).data)


class ApiTokenRevokeApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request, code: UUID) -> Response:
        """Revoke a token: one's own, or any member's for the coordination (else 404).

        Revoking an already revoked token is accepted (204) and changes nothing.
        """
        member = current_member(request)
        token = token_selectors.access_token(member, code)
        reason = (
            ApiToken.RevokedReason.OWNER
            if token.user_id == member.user_id
            else ApiToken.RevokedReason.ADMIN
        )
        tokens.revoke_token(token=token, actor=member, reason=reason)
        return Response(status=status.HTTP_204_NO_CONTENT)


class IntegrationTokenCreateApi(APIView):
    @extend_schema_serializer(component_name="IntegrationTokenInput")
    class InputSerializer(Serializer):
        organisation = serializers.UUIDField(
            help_text="Public id of the organisation whose system will use the token."
        )
        name = serializers.CharField(
            max_length=100, help_text="The integration, e.g. « DPI Centre hospitalier »."
        )
        scopes = serializers.ListField(
            child=serializers.ChoiceField(choices=list(tokens.INTEGRATION_SCOPES)),
            min_length=1,
            help_text="`read`: what a member of the organisation sees; `liaison:write`: "
            "liaison sheets; `messaging:write`: messages. Other writes are refused (403).",
        )

    @extend_schema(request=InputSerializer, responses={201: IssuedTokenOutput})
    def post(self, request: Request) -> Response:
        """Make a scoped, long-lived token for a hospital's system (coordination only).

        The system acts as a service account of the organisation (see
        directory.services.create_integration_token). The token is shown only in this answer.
        """
        member = current_member(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        organisation = directory_selectors.access_organisation(
            member, data.validated_data["organisation"]
        )
        issued = directory_services.create_integration_token(
            actor=member,
            organisation=organisation,
            name=data.validated_data["name"],
            scopes=data.validated_data["scopes"],
        )
        return Response(IssuedTokenOutput(issued).data, status=status.HTTP_201_CREATED)
