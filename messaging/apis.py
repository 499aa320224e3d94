"""Messaging endpoints: parse, access the conversation, call one service, serialize."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast
from uuid import UUID

from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.downloads import upload_download
from config.filters import refuse_unknown_parameters, validated_query
from config.parsers import JSONParser
from config.serializers import reject_unknown_keys
from directory.models import Member
from directory.permissions import current_member
from directory.selectors import organisation_ids_of
from messaging import selectors
from messaging.models import Conversation, Message
from messaging.serializers import (
    ConversationCreateInput,
    ConversationListQuery,
    ConversationOutput,
    MessageCreateInput,
    MessageListQuery,
    MessageOutput,
    MessageUploadInput,
    ParticipantAddInput,
    ReadInput,
    ReadOutput,
)
from messaging.services import conversations, messages
from messaging.services.messages import Upload
from security.idempotency import tell_replay, was_replayed

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Retrying with the same key creates nothing twice (the first result is returned).",
)
DOWNLOAD_TYPES = ("application/pdf", "image/png", "image/jpeg", "text/plain")


def idempotency_key(request: Request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 64:
        raise ValidationError({"Idempotency-Key": [_("64 caractères au plus.")]})
    return key


def conversation_context(member: Member) -> dict[str, Any]:
    return {"member": member, "organisation_ids": set(organisation_ids_of(member))}


def conversation_response(
    member: Member, conversation: Conversation, *, status_code: int = 200
) -> Response:
    fresh = selectors.conversation_for_output(member, conversation)
    return Response(
        ConversationOutput(fresh, context=conversation_context(member)).data, status=status_code
    )


class ConversationListApi(generics.ListAPIView):
    """The caller's conversations, most recent activity first, each with its unread count."""

    serializer_class = ConversationOutput
    filter_backends: list[type] = []

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return selectors.no_conversations()
        query = validated_query(self.request, ConversationListQuery, self)
        return selectors.conversation_list(current_member(self.request), **query)

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context.update(conversation_context(current_member(self.request)))
        return context

    @extend_schema(parameters=[ConversationListQuery])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ConversationCreateInput,
        responses={201: ConversationOutput},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request) -> Response:
        """Start a conversation with members and/or a shared inbox, optionally with a message."""
        member = current_member(request)
        body = ConversationCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        conversation = conversations.start_conversation(
            actor=member,
            subject=data["subject"],
            participants=selectors.participants_from_codes(member, data["participants"]),
            organisation_inbox=(
                selectors.inbox_from_code(data["organisation_inbox"])
                if data.get("organisation_inbox")
                else None
            ),
            patient=data.get("patient"),
            liaison_sheet=(
                selectors.sheet_from_code(member, data["liaison_sheet"])
                if data.get("liaison_sheet")
                else None
            ),
            retention_days=data.get("retention_days"),
            body=data["body"],
            urgent=data["urgent"],
            creation_key=idempotency_key(request),
        )
        response = conversation_response(member, conversation, status_code=status.HTTP_201_CREATED)
        return tell_replay(response, replayed=was_replayed(conversation))


class ConversationDetailApi(APIView):
    @extend_schema(responses=ConversationOutput)
    def get(self, request: Request, code: UUID) -> Response:
        member = current_member(request)
        conversation = selectors.access_conversation_for_output(member, code)
        return Response(ConversationOutput(conversation, context=conversation_context(member)).data)


class MessageCursorPagination(CursorPagination):
    """Newest first, by (created_at, id): the cost of a page does not grow with the conversation."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = selectors.PAGE_ORDER

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> Any:
        self.check_page_size(request)
        return super().paginate_queryset(queryset, request, view)

    def check_page_size(self, request: Request) -> None:
        """A 400 for a page size that is not a positive integer (DRF would use the default)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is not None and (not value.isdigit() or int(value) < 1):
            raise ValidationError(
                {self.page_size_query_param: [_("Un entier positif est attendu.")]}
            )

    def paginate_messages(
        self,
        queryset: Callable[[], QuerySet[Message]],
        request: Request,
        view: Any,
        *,
        first_page: Callable[[int], list[Message]],
    ) -> list[Message]:
        """`paginate_queryset(queryset())`, with a page without a cursor (every poll, the first
        page) read by `first_page(limit)` in PAGE_ORDER (selectors.message_page, compiled).

        What follows is CursorPagination.paginate_queryset with no cursor (offset 0, no
        position, forward): the same page and the same state for its next/previous links.
        """
        if request.query_params.get(self.cursor_query_param) is not None:
            return cast(list[Message], self.paginate_queryset(queryset(), request, view))
        self.check_page_size(request)
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.cursor = None
        results = first_page(self.page_size + 1)
        self.page = results[: self.page_size]
        self.has_next = len(results) > len(self.page)
        self.has_previous = False
        if self.has_next:
            self.next_position = self._get_position_from_instance(results[-1], self.ordering)
        if self.has_next and self.template is not None:
            self.display_page_controls = True
        return self.page


class ConversationMessagesApi(generics.GenericAPIView):
    pagination_class = MessageCursorPagination
    serializer_class = MessageOutput
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    filter_backends: list[type] = []

    @extend_schema(parameters=[MessageListQuery], responses=MessageOutput(many=True))
    def get(self, request: Request, code: UUID) -> Response:
        """The messages, newest first, by cursor; `since` returns only newer ones (polling).

        A page that returns no message discloses nothing and is not audited; any other is.
        """
        member = current_member(request)
        refuse_unknown_parameters(request, MessageListQuery().fields, self)
        conversation, since = selectors.access_conversation_to_poll(
            member, code, request.query_params.get("since", "")
        )
        query = MessageListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        standing = selectors.standing_of(member, conversation)

        def messages() -> QuerySet[Message]:
            queryset = selectors.messages_of(conversation, standing)
            return queryset if since is None else selectors.messages_after(queryset, since)

        paginator = cast(MessageCursorPagination, self.paginator)
        page = paginator.paginate_messages(
            messages,
            request,
            self,
            first_page=lambda limit: selectors.message_page(
                conversation, standing, since=since, limit=limit
            ),
        )
        selectors.record_disclosure(member, conversation, messages=len(page or []))
        context = {"member": member, "conversation_code": conversation.code}
        return self.get_paginated_response(MessageOutput(page, many=True, context=context).data)

    @extend_schema(
        request={"application/json": MessageCreateInput, "multipart/form-data": MessageUploadInput},
        responses={201: MessageOutput},
        parameters=[IDEMPOTENCY_KEY],
    )
    def post(self, request: Request, code: UUID) -> Response:
        """Write a message: text up to the size limit, the urgent flag, files (multipart).

        A member who left the conversation gets 403. Retried with the same Idempotency-Key,
        it answers the first message again (header `Idempotent-Replayed: true`).
        """
        member = current_member(request)
        conversation = selectors.access_conversation_to_write(member, code)
        body = MessageCreateInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        reply_to = data.get("reply_to")
        files = [
            Upload(fileobj=upload, filename=upload.name or "", size=upload.size or 0)
            for upload in request.FILES.getlist("attachments")
        ]
        posted = messages.post_message(
            actor=member,
            conversation=conversation,
            body=data["body"],
            urgent=data["urgent"],
            files=files,
            idempotency_key=idempotency_key(request),
            reply_to=selectors.message_in(conversation, reply_to, field="reply_to")
            if reply_to
            else None,
        )
        message = posted.message  # with what was written: no read back
        if posted.replayed:  # the first attempt's message, with its receipts as they are now
            message = selectors.messages_of(
                conversation, selectors.standing_of(member, conversation)
            ).get(pk=message.pk)
        context = {"member": member, "conversation_code": conversation.code}
        response = Response(
            MessageOutput(message, context=context).data, status=status.HTTP_201_CREATED
        )
        return tell_replay(response, replayed=posted.replayed)


class MessageRedactApi(APIView):
    @extend_schema(request=None, responses=MessageOutput)
    def post(self, request: Request, code: UUID, message_code: UUID) -> Response:
        """Withdraw one's own message: content and files deleted, "message retiré" stays."""
        reject_unknown_keys(request)
        member = current_member(request)
        conversation = selectors.access_conversation(member, code, audit_action=None)
        standing = selectors.standing_of(member, conversation)
        message = selectors.messages_of(conversation, standing).filter(code=message_code).first()
        if message is None:
            message = selectors.message_in(conversation, message_code)  # NotFound
        message = messages.redact_message(actor=member, message=message)
        fresh = selectors.messages_of(conversation, standing).get(pk=message.pk)
        context = {"member": member, "conversation_code": conversation.code}
        return Response(MessageOutput(fresh, context=context).data)


class ConversationReadApi(APIView):
    @extend_schema(request=ReadInput, responses=ReadOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Mark the conversation read (up to a message): the senders see the time.

        Not audited: a receipt discloses nothing; the read that showed the messages was.
        """
        member = current_member(request)
        conversation = selectors.access_conversation(member, code, audit_action=None)
        body = ReadInput(data=request.data)
        body.is_valid(raise_exception=True)
        up_to = body.validated_data.get("up_to")
        marked = messages.mark_read(
            actor=member,
            conversation=conversation,
            up_to=selectors.message_in(conversation, up_to, field="up_to") if up_to else None,
        )
        unread = selectors.unread_in(member, conversation)
        return Response(ReadOutput({"marked": marked, "unread": unread}).data)


class ConversationParticipantsApi(APIView):
    @extend_schema(request=ParticipantAddInput, responses={201: ConversationOutput})
    def post(self, request: Request, code: UUID) -> Response:
        """Add a member; they see the whole history from now on."""
        member = current_member(request)
        conversation = selectors.access_conversation(member, code, audit_action=None)
        body = ParticipantAddInput(data=request.data)
        body.is_valid(raise_exception=True)
        added = selectors.member_from_code(member, body.validated_data["member"])
        conversations.add_participant(actor=member, conversation=conversation, member=added)
        return conversation_response(member, conversation, status_code=status.HTTP_201_CREATED)


class ConversationLeaveApi(APIView):
    @extend_schema(request=None, responses=ConversationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        """Leave: keep the history up to now, stop receiving and writing."""
        reject_unknown_keys(request)
        member = current_member(request)
        conversation = selectors.access_conversation(member, code, audit_action=None)
        conversations.leave_conversation(actor=member, conversation=conversation)
        return conversation_response(member, conversation)


class AttachmentDownloadApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "token",
                OpenApiTypes.STR,
                required=True,
                description="The signed token of the message's download_url.",
            )
        ],
        responses={
            (200, content_type): OpenApiResponse(OpenApiTypes.BINARY)
            for content_type in DOWNLOAD_TYPES
        },
        description="403 (`link_expired`) when the link expired or was issued to someone else.",
    )
    def get(self, request: Request, code: UUID, attachment_code: UUID) -> HttpResponseBase:
        """Download an attachment, decrypted on the fly (audited); the link expires."""
        member = current_member(request)
        attachment = selectors.access_attachment(
            member, code, attachment_code, token=request.query_params.get("token", "")
        )
        return upload_download(attachment)
