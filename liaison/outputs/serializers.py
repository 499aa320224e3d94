"""API shapes of the outputs: the indicators' query and table."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.timezone import localdate
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import Serializer
from liaison.outputs.indicators import MAX_MONTHS, months_between

FLOAT = {"allow_null": True}


def default_period(today: date | None = None) -> tuple[date, date]:
    """The last twelve months, the current one included."""
    today = today or localdate()
    year, month = today.year, today.month - 11
    if month < 1:
        year, month = year - 1, month + 12
    return date(year, month, 1), today


class IndicatorsQuery(Serializer):
    """`from` and `to` are Python keywords: declared in get_fields."""

    organisation = serializers.UUIDField(
        required=False, help_text=_("An organisation's id: its sheets and its services'.")
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(
                required=False, help_text=_("First day (default: 11 months ago, 1st).")
            ),
            "to": serializers.DateField(
                required=False, help_text=_("Last day, included (default: today).")
            ),
            **super().get_fields(),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        default_start, default_end = default_period(attrs.get("to"))
        start, end = attrs.get("from") or default_start, attrs.get("to") or default_end
        if start > end:
            raise serializers.ValidationError({"from": [_("Le début doit précéder la fin.")]})
        if len(months_between(start, end)) > MAX_MONTHS:
            raise serializers.ValidationError({"to": [_("Dix ans au plus.")]})
        return {"start": start, "end": end, "organisation": attrs.get("organisation")}


class IndicatorMonthOutput(Serializer):
    month = serializers.CharField(help_text=_("YYYY-MM, months of sending (Europe/Paris)."))
    referrals_sent = serializers.IntegerField()
    referrals_received = serializers.IntegerField()
    referrals_accepted = serializers.IntegerField()
    referrals_declined = serializers.IntegerField()
    receipt_hours_median = serializers.FloatField(**FLOAT)
    receipt_hours_p90 = serializers.FloatField(**FLOAT)
    acceptance_hours_median = serializers.FloatField(**FLOAT)
    acceptance_hours_p90 = serializers.FloatField(**FLOAT)
    discharge_letters_sent = serializers.IntegerField()
    discharge_same_day_share = serializers.FloatField(
        **FLOAT, help_text=_("0 to 1; null without letters.")
    )
    discharge_delay_days_median = serializers.FloatField(**FLOAT)
    referrals_without_letter_after_30_days = serializers.IntegerField()
    messages_exchanged = serializers.IntegerField(
        allow_null=True, help_text=_("null: not available.")
    )
    protocols_acknowledged = serializers.IntegerField(
        allow_null=True, help_text=_("null: not available.")
    )
    protocols_in_force = serializers.IntegerField(
        allow_null=True, help_text=_("At the end of the month; null: not available.")
    )
    protocol_participants = serializers.IntegerField(
        allow_null=True,
        help_text=_("Professionals registered in a protocol at the end of the month."),
    )
    patients_included = serializers.IntegerField(
        allow_null=True,
        help_text=_("Patients included in a protocol that month (by day of inclusion)."),
    )


class IndicatorsOutput(Serializer):
    organisation = serializers.UUIDField(allow_null=True, source="organisation.code", default=None)
    months = IndicatorMonthOutput(many=True)
    total = IndicatorMonthOutput(
        help_text=_(
            'The whole period (month: "period"): counts summed, medians over the period, '
            "protocols and professionals as at its end."
        )
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": serializers.DateField(source="start"),
            "to": serializers.DateField(source="end"),
            **super().get_fields(),
        }
