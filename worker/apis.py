"""Notification endpoints: thin views that parse, call a selector or a service, and serialize."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.pagination import PagePagination
from config.serializers import reject_unknown_keys
from directory.permissions import current_member
from worker import selectors, services
from worker.models import Notification
from worker.serializers import (
    FailedNotificationOutput,
    NotificationOutput,
    PreferencesInput,
    PreferencesOutput,
    ReadAllOutput,
)


class NotificationFilter(django_filters.FilterSet):
    # A choice rather than a BooleanFilter, which ignores a value it cannot read: ?unread=oui
    # must be a 400, not the whole list.
    unread = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_unread",
        label="true : seulement les non lues ; false : seulement les lues",
    )

    class Meta:
        model = Notification
        fields = ["unread"]

    def filter_unread(
        self, queryset: QuerySet[Notification], name: str, value: str
    ) -> QuerySet[Notification]:
        return queryset.filter(read_at__isnull=value == "true")


class NotificationPagination(PagePagination):
    """The usual page, plus the caller's unread count (the web header's badge)."""

    unread_count = 0

    def get_paginated_response(self, data: Any) -> Response:
        response = super().get_paginated_response(data)
        response.data["unread_count"] = self.unread_count
        return response

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["properties"]["unread_count"] = {"type": "integer", "example": 3}
        paginated["required"] = [*paginated.get("required", []), "unread_count"]
        return paginated


class NotificationListApi(generics.ListAPIView):
    """The caller's notifications, newest first, with their unread count."""

    serializer_class = NotificationOutput
    filterset_class = NotificationFilter
    pagination_class = NotificationPagination

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return selectors.notifications_visible_to(None)
        return selectors.notifications_visible_to(current_member(self.request))

    def get_serializer(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("many") and args:
            page = list(args[0])
            subjects = selectors.notification_subjects(page, reader=current_member(self.request))
            kwargs["context"] = {
                **self.get_serializer_context(),
                "subjects": {n.pk: s for n, s in zip(page, subjects, strict=True)},
            }
            args = (page, *args[1:])
        return super().get_serializer(*args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        assert isinstance(self.paginator, NotificationPagination)
        self.paginator.unread_count = selectors.unread_count(current_member(request))
        return super().list(request, *args, **kwargs)


class NotificationReadApi(APIView):
    """Mark one of the caller's notifications read (404 for anyone else's)."""

    @extend_schema(request=None, responses=NotificationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        reject_unknown_keys(request)
        member = current_member(request)
        notification = selectors.access_notification(member, code)
        notification = services.mark_notification_read(notification=notification, actor=member)
        return Response(NotificationOutput(notification).data)


class NotificationReadAllApi(APIView):
    """Mark all the caller's notifications read."""

    @extend_schema(request=None, responses=ReadAllOutput)
    def post(self, request: Request) -> Response:
        reject_unknown_keys(request)
        member = current_member(request)
        marked = services.mark_all_notifications_read(actor=member)
        return Response({"marked": marked, "unread_count": selectors.unread_count(member)})


class NotificationPreferencesApi(APIView):
    """The caller's channel per event type (in-app, e-mail, daily digest) and quiet hours."""

    @extend_schema(responses=PreferencesOutput)
    def get(self, request: Request) -> Response:
        preferences = selectors.notification_preferences_of(current_member(request))
        return Response(PreferencesOutput(preferences).data)

    @extend_schema(request=PreferencesInput, responses=PreferencesOutput)
    def put(self, request: Request) -> Response:
        """Replace the preferences; event types left out go back to their default."""
        member = current_member(request)
        data = PreferencesInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.update_notification_preferences(actor=member, **data.to_service_kwargs())
        preferences = selectors.notification_preferences_of(member)
        return Response(PreferencesOutput(preferences).data)


class NotificationTestApi(APIView):
    """Send oneself a test notification, through one's own channels and quiet hours."""

    @extend_schema(request=None, responses={201: NotificationOutput})
    def post(self, request: Request) -> Response:
        reject_unknown_keys(request)
        notification = services.send_test_notification(actor=current_member(request))
        return Response(NotificationOutput(notification).data, status=status.HTTP_201_CREATED)


class FailedNotificationListApi(generics.ListAPIView):
    """Notifications whose e-mail could not be delivered (CPTS coordination only, else 403)."""

    serializer_class = FailedNotificationOutput

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):
            return selectors.failed_notifications_visible_to(None)
        return selectors.failed_notifications_visible_to(current_member(self.request))


class NotificationRetryApi(APIView):
    """Give a failed notification new attempts (CPTS coordination; 409 if no longer failed)."""

    @extend_schema(request=None, responses=FailedNotificationOutput)
    def post(self, request: Request, code: UUID) -> Response:
        reject_unknown_keys(request)
        member = current_member(request)
        notification = selectors.access_failed_notification(member, code)
        notification = services.retry_notification(notification=notification, actor=member)
        return Response(FailedNotificationOutput(notification).data)
