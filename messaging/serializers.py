"""API shapes of messaging: plain serializers, fed by selectors (fields decrypt on access)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer
from directory.serializers import MemberRef, OrganisationRef
from messaging.models import Attachment, Conversation, Message
from messaging.selectors import download_url
from patients.identity import IdentityWarningOutput, PatientSerializer, identity_warnings


class ConversationParticipantOutput(Serializer):
    member = MemberRef()
    joined_at = serializers.DateTimeField()
    left_at = serializers.DateTimeField(allow_null=True)


class ConversationOutput(Serializer):
    """A conversation as its reader sees it, with the caller's unread counts."""

    id = serializers.UUIDField(source="code")
    subject = serializers.CharField()
    organisation_inbox = OrganisationRef(allow_null=True)
    patient = PatientSerializer(allow_null=True)
    warnings = serializers.SerializerMethodField(
        help_text=_("Points of the identity to check (RNIV): shown to people, never refused.")
    )
    liaison_sheet = serializers.UUIDField(
        allow_null=True, source="liaison_sheet.code", default=None
    )
    created_by = MemberRef()
    participants = ConversationParticipantOutput(many=True)
    created_at = serializers.DateTimeField()
    last_message_at = serializers.DateTimeField(allow_null=True)
    retention_days = serializers.IntegerField()
    retain_until = serializers.DateTimeField(
        help_text=_("Deleted after this time unless a new message pushes it back.")
    )
    unread = serializers.IntegerField(help_text=_("Messages the caller has not read yet."))
    urgent_unread = serializers.IntegerField(help_text=_("Of which flagged urgent."))
    can_write = serializers.SerializerMethodField()

    @extend_schema_field(IdentityWarningOutput(many=True))
    def get_warnings(self, conversation: Conversation) -> list[dict[str, str]]:
        return identity_warnings(conversation.patient or {})

    def get_can_write(self, conversation: Conversation) -> bool:
        """False for a member who left (they still read the history up to then)."""
        member = self.context["member"]
        if conversation.organisation_inbox_id in self.context["organisation_ids"]:
            return True
        return any(
            p.member_id == member.pk and p.left_at is None for p in conversation.participants.all()
        )


class MessageAttachmentOutput(Serializer):
    id = serializers.UUIDField(source="code")
    filename = serializers.CharField()
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    download_url = serializers.SerializerMethodField(
        help_text=_("Signed for the caller; expires after MESSAGING_DOWNLOAD_LINK_SECONDS.")
    )

    def get_download_url(self, attachment: Attachment) -> str:
        return download_url(self.context["member"], attachment, self.context["conversation_code"])


class ReceiptOutput(Serializer):
    member = MemberRef()
    read_at = serializers.DateTimeField(allow_null=True)


class MessageOutput(Serializer):
    id = serializers.UUIDField(source="code")
    kind = serializers.ChoiceField(choices=Message.Kind.choices)
    author = MemberRef()
    about_member = MemberRef(allow_null=True, help_text=_("Events: the member added or who left."))
    body = serializers.CharField(allow_blank=True, help_text=_("Empty once redacted."))
    urgent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    redacted_at = serializers.DateTimeField(
        allow_null=True, help_text=_('"Message retiré" at this time.')
    )
    reply_to = serializers.UUIDField(allow_null=True, source="reply_to.code", default=None)
    attachments = MessageAttachmentOutput(many=True)
    receipts = ReceiptOutput(many=True, help_text=_("One per recipient: read or not, and when."))

    def to_representation(self, message: Message) -> dict[str, Any]:
        data = super().to_representation(message)
        if message.redacted_at is not None:
            data["body"] = ""
            data["attachments"] = []
        return data


class ConversationCreateInput(StrictSerializer):
    subject = serializers.CharField(max_length=200)
    participants = serializers.ListField(
        child=serializers.UUIDField(),
        required=False,
        default=list,
        max_length=50,
        help_text=_("Member ids; the caller takes part anyway."),
    )
    organisation_inbox = serializers.UUIDField(
        required=False, allow_null=True, help_text=_("An organisation whose members all read it.")
    )
    patient = PatientSerializer(required=False, allow_null=True)
    liaison_sheet = serializers.UUIDField(
        required=False, allow_null=True, help_text=_("A liaison sheet the caller can see.")
    )
    retention_days = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=36500,
        help_text=_("Days kept after the last message (default and legal minimum: settings)."),
    )
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        help_text=_("Optional first message."),
    )
    urgent = serializers.BooleanField(required=False, default=False)


class MessageCreateInput(StrictSerializer):
    body = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    urgent = serializers.BooleanField(required=False, default=False)
    reply_to = serializers.UUIDField(required=False, allow_null=True)

    # The files of a multipart message, read from request.FILES by the view.
    extra_keys = frozenset({"attachments"})


class MessageUploadInput(MessageCreateInput):
    attachments = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        help_text=_("PDF, PNG, JPEG or plain text; type checked on the content."),
    )


class ReadInput(StrictSerializer):
    up_to = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text=_("Mark read up to this message (default: everything)."),
    )


class ReadOutput(Serializer):
    marked = serializers.IntegerField()
    unread = serializers.IntegerField()


class ParticipantAddInput(StrictSerializer):
    member = serializers.UUIDField()


def _choice(help_text: str) -> serializers.ChoiceField:
    return serializers.ChoiceField(["true", "false"], required=False, help_text=help_text)


class ConversationListQuery(Serializer):
    participant = serializers.UUIDField(required=False, help_text=_("A member taking part."))
    subject = serializers.CharField(
        required=False,
        max_length=200,
        help_text=_(
            "Words of the subject, accent- and case-insensitive. Subjects are encrypted: "
            "only the MESSAGING_SUBJECT_SEARCH_LIMIT most recent conversations matching the "
            "other filters are searched; narrow by date to reach older ones."
        ),
    )
    ins = serializers.CharField(
        required=False, max_length=21, help_text=_("Patient INS (blind index).")
    )
    family_name = serializers.CharField(
        required=False, max_length=100, help_text=_("Patient birth or used name, with birth_date.")
    )
    birth_date = serializers.DateField(required=False)
    date_from = serializers.DateField(required=False, help_text=_("Last message on or after."))
    date_to = serializers.DateField(required=False, help_text=_("Last message on or before."))
    unread = _choice("true: with unread messages; false: all read")
    urgent = _choice("true: with an urgent message")
    left = _choice("true: the conversations the caller left")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("family_name") and not attrs.get("birth_date"):
            raise serializers.ValidationError(
                {"birth_date": [_("La recherche par nom se fait avec la date de naissance.")]}
            )
        for key in ("unread", "urgent", "left"):
            if key in attrs:
                attrs[key] = attrs[key] == "true"
        return attrs


class MessageListQuery(Serializer):
    since = serializers.UUIDField(
        required=False, help_text=_("Only messages newer than this one (polling).")
    )
