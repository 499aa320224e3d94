"""Input and output shapes of the resource guide API."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.fields import empty

from config.serializers import HourMinuteField, StrictSerializer
from protocols.guide.importer import ImportReport, RowStatus
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
            raise serializers.ValidationError({"ends_at": ["La fin doit suivre le début."]})
        return attrs


class OfficeHoursOutput(OfficeHoursSerializer):
    weekday_label = serializers.CharField(source="get_weekday_display")


class ThemeLinkInput(StrictSerializer):
    theme = serializers.CharField(max_length=120, help_text="The theme's slug (or its name).")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ThemeLinkOutput(serializers.Serializer):
    theme = ThemeOutput()
    note = serializers.CharField()


class GuideEntryInput(StrictSerializer):
    themes = ThemeLinkInput(many=True, max_length=30)
    office_hours = OfficeHoursSerializer(many=True, max_length=30)


class GuideEntryOutput(serializers.Serializer):
    themes = ThemeLinkOutput(many=True)
    office_hours = OfficeHoursOutput(many=True)


class GuideItemOutput(serializers.Serializer):
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


class GuideCommuneOutput(serializers.Serializer):
    name = serializers.CharField()
    entries = GuideItemOutput(many=True)


class GuideThemeOutput(serializers.Serializer):
    theme = ThemeOutput()
    communes = GuideCommuneOutput(many=True)


class DefaultedBooleanField(serializers.BooleanField):
    """A form field left out takes its default: DRF would read a missing checkbox as False,
    which would turn a forgotten `dry_run` into a real import."""

    default_empty_html = empty


class DirectoryImportInput(StrictSerializer):
    file = serializers.FileField(help_text="CSV, `;` or `,` separated, UTF-8 or Windows-1252.")
    dry_run = DefaultedBooleanField(required=False, default=True)
    skip_invalid = serializers.BooleanField(required=False, default=False)


class DirectoryImportRowOutput(serializers.Serializer):
    line = serializers.IntegerField()
    kind = serializers.CharField()
    label = serializers.CharField()
    status = serializers.ChoiceField(choices=RowStatus.choices)
    errors = serializers.ListField(child=serializers.CharField())


class DirectoryImportReportOutput(serializers.Serializer):
    dry_run = serializers.BooleanField()
    skip_invalid = serializers.BooleanField()
    imported = serializers.BooleanField(help_text="Whether anything was committed.")
    organisations_created = serializers.IntegerField()
    members_created = serializers.IntegerField()
    accepted = serializers.IntegerField()
    rejected_count = serializers.SerializerMethodField()
    rows = DirectoryImportRowOutput(many=True)

    def get_rejected_count(self, report: ImportReport) -> int:
        return len(report.rejected)
