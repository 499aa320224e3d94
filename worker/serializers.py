"""Shapes of notifications and preferences in the API (ids are public UUIDs)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from config.serializers import HourMinuteField, Serializer, StrictSerializer
from directory.serializers import MemberRef
from worker.events import Channel, area_of
from worker.models import Notification
from worker.selectors import EventPreference, notification_subjects, notification_text


class NotificationOutput(Serializer):
    id = serializers.UUIDField(source="code")
    event = serializers.CharField()
    text = serializers.SerializerMethodField(
        help_text="Ce qui s'est passé, qui l'a fait, et sur quoi (sans donnée patient)."
    )
    actor = MemberRef(allow_null=True)
    target_type = serializers.CharField(allow_blank=True, help_text="ex. liaison.liaisonsheet")
    target_id = serializers.UUIDField(source="target_code", allow_null=True)
    url = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField(source="is_read")
    read_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.CharField())
    def get_text(self, notification: Notification) -> str:
        # A list passes the subjects of its page (one query per target type) in the context.
        subjects = self.context.get("subjects")
        if subjects is None:
            (subject,) = notification_subjects([notification])
        else:
            subject = subjects.get(notification.pk)
        return notification_text(notification, subject)


class FailedNotificationOutput(Serializer):
    """What the coordination needs to act on a failed delivery: who, what kind, why."""

    id = serializers.UUIDField(source="code")
    recipient = MemberRef()
    event = serializers.CharField()
    status = serializers.ChoiceField(choices=Notification.Status.choices)
    attempts = serializers.IntegerField()
    last_error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class EventPreferenceOutput(Serializer):
    event = serializers.CharField(source="event.name")
    description = serializers.CharField(source="event.description")
    area = serializers.SerializerMethodField(help_text="Le groupe de la page, ex. liaison")
    area_label = serializers.SerializerMethodField(help_text="ex. Liaison ville-hôpital")
    channel = serializers.ChoiceField(choices=Channel.choices)
    default_channel = serializers.ChoiceField(
        source="event.default_channel", choices=Channel.choices
    )

    @extend_schema_field(serializers.CharField())
    def get_area(self, preference: EventPreference) -> str:
        return area_of(preference.event).prefix

    @extend_schema_field(serializers.CharField())
    def get_area_label(self, preference: EventPreference) -> str:
        return str(area_of(preference.event).label)


class PreferencesOutput(Serializer):
    events = EventPreferenceOutput(many=True)
    quiet_hours_start = HourMinuteField(allow_null=True)
    quiet_hours_end = HourMinuteField(allow_null=True)


class EventPreferenceInput(StrictSerializer):
    event = serializers.CharField(max_length=64)
    channel = serializers.ChoiceField(choices=Channel.choices)


class PreferencesInput(StrictSerializer):
    """The whole set: events left out go back to their default channel."""

    events: serializers.ListSerializer[Any] = serializers.ListSerializer(
        child=EventPreferenceInput(), max_length=500
    )
    quiet_hours_start = HourMinuteField(
        allow_null=True, help_text="Début des heures calmes (heure de Paris), ex. 20:00"
    )
    quiet_hours_end = HourMinuteField(allow_null=True, help_text="Fin, ex. 07:30")

    def validate_events(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        names = [item["event"] for item in value]
        if len(names) != len(set(names)):
            raise serializers.ValidationError(
                _("Chaque type de notification ne peut figurer qu'une fois.")
            )
        return value

    def to_service_kwargs(self) -> dict[str, Any]:
        data = self.validated_data
        return {
            "channels": {item["event"]: item["channel"] for item in data["events"]},
            "quiet_hours_start": data["quiet_hours_start"],
            "quiet_hours_end": data["quiet_hours_end"],
        }


class ReadAllOutput(Serializer):
    marked = serializers.IntegerField(help_text="Notifications qui étaient non lues.")
    unread_count = serializers.IntegerField()
