"""The audit trail API: the coordination looks up who touched an object, or what a member did.

Thin, like every interface: check the caller, validate the query, call the selector (which
records the listing), paginate and serialize.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.filters import refuse_unknown_parameters
from config.serializers import Serializer
from directory.audit.selectors import (
    AUDIT_TRAIL,
    audit_actions_for,
    audit_checkpoint_status_for,
    audit_entries_about,
)
from directory.permissions import current_member
from directory.selectors import require_coordinator
from security.audit import CheckpointStatus
from security.models import AuditEntry
from security.reauth import refuse_unless_recent


class AuditEntryListApi(generics.ListAPIView):
    """Audit entries about one object (`target`) or by one member (`actor`), newest first.

    Reserved to the CPTS coordination; anyone else gets 404. Each listing is itself recorded
    in the trail (action `audit.list`).
    """

    class FilterSerializer(Serializer):
        target = serializers.UUIDField(
            required=False,
            help_text="Public id of the object the entries are about (this or `actor`).",
        )
        actor = serializers.UUIDField(
            required=False, help_text="Public id of the member who acted (this or `target`)."
        )

    # Named components: every API nests an "OutputSerializer", and the schema needs one name each.
    @extend_schema_serializer(component_name="AuditEntry")
    class OutputSerializer(Serializer):
        id = serializers.IntegerField(help_text="Position in the hash chain.")
        created_at = serializers.DateTimeField()
        actor = serializers.UUIDField(
            source="actor_code", allow_null=True, help_text="Member id; null for the system."
        )
        actor_name = serializers.SerializerMethodField()
        action = serializers.CharField(help_text="`<model>.<verb>`, e.g. `liaison_sheet.read`.")
        target_type = serializers.CharField(help_text="`app.model`, empty if no target.")
        target = serializers.UUIDField(source="target_code", allow_null=True)
        ip = serializers.CharField()
        user_agent = serializers.CharField()
        extra = serializers.DictField()

        def get_actor_name(self, entry: AuditEntry) -> str:
            return entry.actor.display_name if entry.actor is not None else ""

    serializer_class = OutputSerializer
    filter_backends: list[type] = []  # the query is validated by FilterSerializer below

    @extend_schema(parameters=[FilterSerializer])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        member = current_member(request)
        # Before reading the query: someone outside the coordination learns nothing, not
        # even which parameters this endpoint takes.
        require_coordinator(member, what=AUDIT_TRAIL)
        query = self.validated_query(request)
        refuse_unless_recent(request)  # an export of the trail: a recent authentication
        entries = audit_entries_about(member, **query)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(self.OutputSerializer(page, many=True).data)

    def validated_query(self, request: Request) -> dict[str, Any]:
        """`target` and `actor` as UUIDs; 400 naming the parameter otherwise."""
        refuse_unknown_parameters(request, {"target", "actor"}, self)
        data = self.FilterSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        if not data.validated_data:
            message = _("Indiquez « target » (un objet) ou « actor » (un membre).")
            raise ValidationError({"target": [message], "actor": [message]})
        return dict(data.validated_data)


class AuditActionListApi(APIView):
    """Every action the audit trail may hold, with its French label (coordination only).

    The names are those of the `action` field of the entries; each app declares its own
    (security/actions.py). Not paginated: a few dozen rows, in name order.
    """

    @extend_schema_serializer(component_name="AuditAction")
    class OutputSerializer(Serializer):
        action = serializers.CharField(source="name", help_text="`<model>.<verb>`.")
        # A field named like Field.label: right for the JSON, wrong for the stubs.
        label = serializers.CharField(help_text="What it means, in French.")  # type: ignore[assignment]

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        declared = audit_actions_for(current_member(request))
        return Response(self.OutputSerializer(declared, many=True).data)


class AuditCheckpointStatusApi(APIView):
    """Whether the newest signed checkpoint of the trail is still in the chain (coordination only).

    A cheap check (the checkpointed entry only): the full walk is `manage.py verify_audit`.
    """

    @extend_schema_serializer(component_name="AuditCheckpointStatus")
    class OutputSerializer(Serializer):
        ok = serializers.BooleanField(help_text="A checkpoint exists and still holds.")
        detail = serializers.SerializerMethodField(help_text="What it means, in a sentence.")
        problem = serializers.CharField(help_text="The technical reason when not ok.")
        sequence = serializers.IntegerField(
            source="checkpoint.sequence", allow_null=True, help_text="Entries it covers."
        )
        checkpointed_at = serializers.CharField(
            source="checkpoint.checkpointed_at", allow_null=True
        )
        entries_since = serializers.IntegerField(
            help_text="Entries written since, not yet covered by a checkpoint."
        )

        def get_detail(self, status: CheckpointStatus) -> str:
            if status.ok:
                return str(_("Le dernier point de contrôle du journal d'audit est intact."))
            if status.checkpoint is None:
                return str(_("Aucun point de contrôle valide du journal d'audit n'a été trouvé."))
            return str(
                _(
                    "Le dernier point de contrôle ne correspond plus au journal d'audit : "
                    "lancez « manage.py verify_audit » et prévenez le responsable de la sécurité."
                )
            )

    @extend_schema(responses=OutputSerializer)
    def get(self, request: Request) -> Response:
        status = audit_checkpoint_status_for(current_member(request))
        return Response(self.OutputSerializer(status).data)
