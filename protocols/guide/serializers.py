"""Input and output shapes of the resource guide API."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import serializers

from config.serializers import HourMinuteField, Serializer, StrictSerializer
from protocols.guide.selectors import GuideEntryKind
from protocols.models import OfficeHours
from protocols.serializers import ThemeOutput


class OfficeHoursSerializer(StrictSerializer):
    weekday = serializers.ChoiceField(
        choices=OfficeHours.Weekday.choices, help_text="0 = lundi … 6 = dimanche."
    )
    starts_at = HourMinuteField()
    ends_at = HourMinuteField()
    location = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    details = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": [_("La fin doit suivre le début.")]})
        return attrs


class OfficeHoursOutput(OfficeHoursSerializer):
    weekday_label = serializers.CharField(source="get_weekday_display")


class ThemeLinkInput(StrictSerializer):
    theme = serializers.CharField(max_length=120, help_text="The theme's slug (or its name).")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ThemeLinkOutput(Serializer):
    theme = ThemeOutput()
    note = serializers.CharField()


class GuideEntryInput(StrictSerializer):
    themes = ThemeLinkInput(many=True, max_length=30)
    office_hours = OfficeHoursSerializer(many=True, max_length=30)


class GuideEntryOutput(Serializer):
    themes = ThemeLinkOutput(many=True)
    office_hours = OfficeHoursOutput(many=True)


class GuideItemOutput(Serializer):
    kind = serializers.ChoiceField(choices=GuideEntryKind.choices)
    id = serializers.UUIDField(source="code")
    name = serializers.CharField()
    role = serializers.CharField()
    note = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()
    organisations = serializers.ListField(child=serializers.CharField())
    office_hours = OfficeHoursOutput(many=True)


class GuideCommuneOutput(Serializer):
    name = serializers.CharField()
    entries = GuideItemOutput(many=True)


class GuideThemeOutput(Serializer):
    theme = ThemeOutput()
    communes = GuideCommuneOutput(many=True)
