"""The coordinator's monthly indicators of the liaison loop (DOMAIN.md B §6.4).

Computed in the database with a fixed number of aggregate queries, whatever the number of
sheets: one for referrals, one for discharge letters, grouped by month of sending
(Europe/Paris), plus one to find an organisation's services when the table is filtered.

- A referral counts in the month it was sent (a reopened referral, in the month it was sent
  again); "received", "accepted", "declined" are what became of the referrals sent that
  month, as of now. Times are from `sent_at` to `received_at` / `accepted_at`, in hours.
- A discharge letter counts in the month it was sent; only first versions count (a later
  version completes a letter, it is not another letter). "Same day" is R1112-1-2's rule:
  sent on the day of discharge, local time. The delay is in days from the discharge date.
- "Without a discharge letter after 30 days": referrals sent that month, more than 30 days
  ago, still open (sent, received or accepted). Sending a discharge letter closes its
  referral, so an open referral is one still waiting for its letter (the liaison worklist
  "en attente" uses the same definition).
- Medians and 90th percentiles: PostgreSQL computes them (`percentile_cont`, exact and
  interpolated). SQLite has no percentile aggregate: there, two more queries fetch only the
  durations (three columns of the sheets that have them) and Python interpolates the same
  way. SQLite serves the demo; PostgreSQL is what production and the benchmark use.

Only clear columns are read: nothing here decrypts a sheet, so nothing here is audited.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import (
    Aggregate,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from directory.models import Organisation
from liaison.models import LiaisonSheet, SheetParticipant
from liaison.outputs import aggregates
from liaison.outputs.aggregates import minutes_between
from liaison.outputs.counters import COUNTERS, monthly_counts

PERIOD = "period"  # the key of the whole period among the months' keys
SheetStatus = LiaisonSheet.Status
SheetKind = LiaisonSheet.Kind
OPEN = (SheetStatus.SENT, SheetStatus.RECEIVED, SheetStatus.ACCEPTED)
MAX_MONTHS = 120
WITHOUT_LETTER_AFTER = timedelta(days=30)


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)`."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        # A float we write ourselves, never user input: safe to inline in the SQL.
        super().__init__(expression, fraction=float(fraction), **extra)


class MinutesBetween(Func):
    """`later - earlier` in whole minutes, truncated (the indicators' resolution), on
    PostgreSQL; `aggregates.minutes_between` in Python."""

    template = "FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 60)"
    arg_joiner = " - "
    output_field = FloatField()


class DaysBetween(Func):
    """`later - earlier` between two dates, in days (PostgreSQL: date - date is an integer)."""

    template = "(%(expressions)s)"
    arg_joiner = " - "
    output_field = IntegerField()


@dataclass(frozen=True)
class MonthRow:
    month: str  # "YYYY-MM"
    referrals_sent: int = 0
    referrals_received: int = 0
    referrals_accepted: int = 0
    referrals_declined: int = 0
    receipt_hours_median: float | None = None
    receipt_hours_p90: float | None = None
    acceptance_hours_median: float | None = None
    acceptance_hours_p90: float | None = None
    discharge_letters_sent: int = 0
    discharge_same_day_share: float | None = None  # 0..1
    discharge_delay_days_median: float | None = None
    referrals_without_letter_after_30_days: int = 0
    messages_exchanged: int | None = None  # None: the provider does not exist (yet)
    protocols_acknowledged: int | None = None
    protocols_in_force: int | None = None  # at the end of the month (a stock, not a flow)
    protocol_participants: int | None = None  # idem: professionals registered in a protocol
    patients_included: int | None = None  # patients included in a protocol that month

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


COLUMNS = [f.name for f in fields(MonthRow)]


@dataclass(frozen=True)
class Indicators:
    start: date
    end: date
    organisation: Organisation | None
    months: list[MonthRow]
    total: MonthRow | None = None  # the whole period: sums, period medians, last stocks


def months_between(start: date, end: date) -> list[str]:
    """Every "YYYY-MM" from start's month to end's month, both included."""
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def percentile_cont(values: list[int] | list[float], fraction: float) -> float | None:
    """The same interpolation as PostgreSQL's percentile_cont."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower, upper = math.floor(position), math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _month_key(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m")


def _organisation_ids(organisation: Organisation | None) -> list[int]:
    if organisation is None:
        return []
    children = Organisation.objects.filter(parent=organisation).values_list("pk", flat=True)
    return [organisation.pk, *children]


def _referrals(start_at: datetime, end_at: datetime, ids: list[int]) -> QuerySet[LiaisonSheet]:
    queryset = LiaisonSheet.objects.filter(
        kind=SheetKind.REFERRAL, sent_at__gte=start_at, sent_at__lt=end_at
    )
    if ids:
        queryset = queryset.filter(
            Q(sender_organisation_id__in=ids) | Q(recipient_organisation_id__in=ids)
        )
    return queryset


def _letters(start_at: datetime, end_at: datetime, ids: list[int]) -> QuerySet[LiaisonSheet]:
    queryset = LiaisonSheet.objects.filter(
        kind=SheetKind.DISCHARGE, document_version=1, sent_at__gte=start_at, sent_at__lt=end_at
    ).exclude(status=SheetStatus.DRAFT)
    if ids:
        recipient_here = SheetParticipant.objects.filter(
            sheet=OuterRef("pk"), member__memberships__organisation_id__in=ids
        )
        queryset = queryset.filter(
            Q(sender_organisation_id__in=ids)
            | Q(referral__sender_organisation_id__in=ids)
            | Exists(recipient_here)
        )
    return queryset


def _postgresql() -> bool:
    return connection.vendor == "postgresql"


def _referral_rows(
    queryset: QuerySet[LiaisonSheet], moment: datetime, tz: Any
) -> dict[str, dict[str, Any]]:
    aggregates: dict[str, Any] = {
        "referrals_sent": Count("pk"),
        "referrals_received": Count("pk", filter=Q(received_at__isnull=False)),
        "referrals_accepted": Count("pk", filter=Q(accepted_at__isnull=False)),
        "referrals_declined": Count("pk", filter=Q(status=SheetStatus.DECLINED)),
        # Sending a discharge letter closes its referral (liaison.services.transitions), so
        # "still open" is "still without a letter", as in the liaison worklist "en attente".
        # Asking the letters table instead cost a third of the query at a million sheets.
        "referrals_without_letter_after_30_days": Count(
            "pk", filter=Q(sent_at__lte=moment - WITHOUT_LETTER_AFTER, status__in=OPEN)
        ),
    }
    if _postgresql():
        # A reopened referral was received before it was sent again: not a receipt time.
        received, accepted = Q(received_at__gte=F("sent_at")), Q(accepted_at__gte=F("sent_at"))
        receipt = MinutesBetween(F("received_at"), F("sent_at"))
        acceptance = MinutesBetween(F("accepted_at"), F("sent_at"))
        aggregates |= {
            "receipt_hours_median": PercentileCont(receipt, 0.5, filter=received),
            "receipt_hours_p90": PercentileCont(receipt, 0.9, filter=received),
            "acceptance_hours_median": PercentileCont(acceptance, 0.5, filter=accepted),
            "acceptance_hours_p90": PercentileCont(acceptance, 0.9, filter=accepted),
        }
    rows = (
        queryset.annotate(month=TruncMonth("sent_at", tzinfo=tz))
        .values("month")
        .annotate(**aggregates)
        .order_by("month")
    )
    return {_month_key(row.pop("month")): _in_hours(row) for row in rows}


def _in_hours(values: dict[str, Any]) -> dict[str, Any]:
    """Percentiles of minutes → hours (interpolated in minutes, as the aggregates do)."""
    for key in ("receipt_hours_median", "receipt_hours_p90"):
        if values.get(key) is not None:
            values[key] = values[key] / 60
    for key in ("acceptance_hours_median", "acceptance_hours_p90"):
        if values.get(key) is not None:
            values[key] = values[key] / 60
    return values


def _referral_durations(queryset: QuerySet[LiaisonSheet]) -> dict[str, dict[str, Any]]:
    """SQLite: the receipt and acceptance times, fetched and interpolated in Python."""
    receipts: dict[str, list[float]] = defaultdict(list)
    acceptances: dict[str, list[float]] = defaultdict(list)
    rows: Any = queryset.filter(
        Q(received_at__isnull=False) | Q(accepted_at__isnull=False)
    ).values_list("sent_at", "received_at", "accepted_at")
    for sent_at, received_at, accepted_at in rows.order_by():
        month = _month_key(sent_at)
        if received_at is not None and received_at >= sent_at:
            receipts[month].append(minutes_between(received_at, sent_at))
        if accepted_at is not None and accepted_at >= sent_at:
            acceptances[month].append(minutes_between(accepted_at, sent_at))
    months = set(receipts) | set(acceptances)
    everything = {
        "receipts": [value for values in receipts.values() for value in values],
        "acceptances": [value for values in acceptances.values() for value in values],
    }
    receipts[PERIOD], acceptances[PERIOD] = everything["receipts"], everything["acceptances"]
    return {
        month: _in_hours(
            {
                "receipt_hours_median": percentile_cont(receipts[month], 0.5),
                "receipt_hours_p90": percentile_cont(receipts[month], 0.9),
                "acceptance_hours_median": percentile_cont(acceptances[month], 0.5),
                "acceptance_hours_p90": percentile_cont(acceptances[month], 0.9),
            }
        )
        for month in [*months, PERIOD]
    }


def _letter_rows(queryset: QuerySet[LiaisonSheet], tz: Any) -> dict[str, dict[str, Any]]:
    sent_day = TruncDate("sent_at", tzinfo=tz)
    aggregates: dict[str, Any] = {
        "discharge_letters_sent": Count("pk"),
        "same_day": Count("pk", filter=Q(discharge_date=sent_day)),
        "with_discharge_date": Count("pk", filter=Q(discharge_date__isnull=False)),
    }
    if _postgresql():
        delay = DaysBetween(sent_day, F("discharge_date"))
        aggregates["discharge_delay_days_median"] = PercentileCont(
            delay, 0.5, filter=Q(discharge_date__isnull=False)
        )
    rows = (
        queryset.annotate(month=TruncMonth("sent_at", tzinfo=tz))
        .values("month")
        .annotate(**aggregates)
        .order_by("month")
    )
    return {_month_key(row.pop("month")): row for row in rows}


def _letter_delays(queryset: QuerySet[LiaisonSheet]) -> dict[str, dict[str, Any]]:
    """SQLite: the delays from discharge to sending, in days, interpolated in Python."""
    delays: dict[str, list[float]] = defaultdict(list)
    rows: Any = queryset.filter(discharge_date__isnull=False).values_list(
        "sent_at", "discharge_date"
    )
    for sent_at, discharge_date in rows.order_by():
        delays[_month_key(sent_at)].append(
            (timezone.localtime(sent_at).date() - discharge_date).days
        )
    delays[PERIOD] = [value for values in list(delays.values()) for value in values]
    return {
        month: {"discharge_delay_days_median": percentile_cont(values, 0.5)}
        for month, values in delays.items()
    }


def _period_percentiles(
    referrals: QuerySet[LiaisonSheet], letters: QuerySet[LiaisonSheet], tz: Any
) -> dict[str, Any]:
    """PostgreSQL: the medians and 90th percentiles of the whole period (two queries)."""
    received, accepted = Q(received_at__gte=F("sent_at")), Q(accepted_at__gte=F("sent_at"))
    receipt = MinutesBetween(F("received_at"), F("sent_at"))
    acceptance = MinutesBetween(F("accepted_at"), F("sent_at"))
    values = referrals.aggregate(
        receipt_hours_median=PercentileCont(receipt, 0.5, filter=received),
        receipt_hours_p90=PercentileCont(receipt, 0.9, filter=received),
        acceptance_hours_median=PercentileCont(acceptance, 0.5, filter=accepted),
        acceptance_hours_p90=PercentileCont(acceptance, 0.9, filter=accepted),
    )
    delay = DaysBetween(TruncDate("sent_at", tzinfo=tz), F("discharge_date"))
    values |= letters.aggregate(
        discharge_delay_days_median=PercentileCont(
            delay, 0.5, filter=Q(discharge_date__isnull=False)
        )
    )
    return _in_hours(values)


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def whole_months(start: date, end: date, moment: datetime) -> bool:
    """Does the period hold whole months only, as the aggregates do? It starts on a 1st and
    ends on a month's last day, or today or later (nothing is sent after now)."""
    ends_month = (end + timedelta(days=1)).day == 1
    return start.day == 1 and (ends_month or end >= timezone.localtime(moment).date())


def _direct_figures(
    start_at: datetime, end_at: datetime, ids: list[int], moment: datetime, tz: Any
) -> dict[str, dict[str, Any]]:
    """The figures computed from the sheets themselves (a fixed number of queries, but each
    in proportion to the sheets of the period)."""
    referrals = _referrals(start_at, end_at, ids)
    letters = _letters(start_at, end_at, ids)
    by_month: dict[str, dict[str, Any]] = defaultdict(dict)
    for month, values in _referral_rows(referrals, moment, tz).items():
        by_month[month].update(values)
    for month, values in _letter_rows(letters, tz).items():
        by_month[month].update(values)
    if not _postgresql():
        for month, values in _referral_durations(referrals).items():
            by_month[month].update(values)
        for month, values in _letter_delays(letters).items():
            by_month[month].update(values)
    else:
        by_month[PERIOD].update(_period_percentiles(referrals, letters, tz))
    return by_month


def liaison_indicators(
    *,
    start: date,
    end: date,
    organisation: Organisation | None = None,
    moment: datetime | None = None,
    counters: dict[str, tuple[str, str]] | None = None,
    source: str = "auto",
) -> Indicators:
    """The table of the coordinator's page, one row per month from `start` to `end` (included).

    `counters` replaces the registry of the other apps' monthly counts (tests use a stub).
    `source`: "aggregates" (the monthly aggregates, constant time), "direct" (the sheets
    themselves: the reference the aggregates are tested and verified against), or "auto":
    the aggregates when the period is whole months, the sheets when it cuts a month.
    """
    tz = timezone.get_current_timezone()
    moment = moment or timezone.now()
    start_at = timezone.make_aware(datetime.combine(start, time.min), tz)
    end_at = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz)
    if source == "auto":
        source = "aggregates" if whole_months(start, end, moment) else "direct"
    if source == "aggregates":
        by_month = aggregates.monthly_figures(
            months=months_between(start, end),
            organisation_id=organisation.pk if organisation else None,
            moment=moment,
            end_at=end_at,
        )
    else:
        by_month = _direct_figures(start_at, end_at, _organisation_ids(organisation), moment, tz)
    external = {
        name: monthly_counts(name, start, end, organisation, registry=counters)
        for name in (COUNTERS if counters is None else counters)
    }

    rows = []
    for month in months_between(start, end):
        values = by_month.get(month, {})
        with_date = values.get("with_discharge_date", 0)
        row: dict[str, Any] = {
            key: values.get(key, 0)
            for key in (
                "referrals_sent",
                "referrals_received",
                "referrals_accepted",
                "referrals_declined",
                "referrals_without_letter_after_30_days",
                "discharge_letters_sent",
            )
        }
        row |= {
            key: _rounded(values.get(key), 1)
            for key in (
                "receipt_hours_median",
                "receipt_hours_p90",
                "acceptance_hours_median",
                "acceptance_hours_p90",
                "discharge_delay_days_median",
            )
        }
        row["discharge_same_day_share"] = (
            _rounded(values.get("same_day", 0) / with_date, 3) if with_date else None
        )
        for name, counts in external.items():
            if name in COUNTERS:
                row[name] = None if counts is None else counts.get(month, 0)
        rows.append(MonthRow(month=month, **row))
    return Indicators(
        start=start,
        end=end,
        organisation=organisation,
        months=rows,
        total=_total(rows, by_month),
    )


def differences_from_the_sheets(
    *, start: date, end: date, organisations: list[Organisation | None], moment: datetime
) -> list[str]:
    """Every cell where the aggregates' table differs from the one computed from the sheets,
    for each organisation's table (None: the whole CPTS); empty when they agree. The check of
    `rebuild_indicators --verify` (no counters: they are other apps' figures)."""
    found = []
    for organisation in organisations:
        tables = [
            liaison_indicators(
                start=start,
                end=end,
                organisation=organisation,
                moment=moment,
                counters={},
                source=source,
            )
            for source in ("aggregates", "direct")
        ]
        kept, reference = tables
        rows = zip([*kept.months, kept.total], [*reference.months, reference.total], strict=True)
        for row, expected in rows:
            assert row is not None
            assert expected is not None
            for key in COLUMNS:
                if getattr(row, key) != getattr(expected, key):
                    where = organisation.name if organisation else "CPTS"
                    found.append(
                        f"{where} {row.month} {key}: {getattr(row, key)!r} "
                        f"(from the sheets: {getattr(expected, key)!r})"
                    )
    return found


ADDITIVE = (
    "referrals_sent",
    "referrals_received",
    "referrals_accepted",
    "referrals_declined",
    "discharge_letters_sent",
    "referrals_without_letter_after_30_days",
    "messages_exchanged",
    "protocols_acknowledged",
    "patients_included",
)
STOCKS = ("protocols_in_force", "protocol_participants")
PERIOD_MEDIANS = (
    "receipt_hours_median",
    "receipt_hours_p90",
    "acceptance_hours_median",
    "acceptance_hours_p90",
    "discharge_delay_days_median",
)


def _total(rows: list[MonthRow], by_month: dict[str, dict[str, Any]]) -> MonthRow:
    """The period's row: flows summed, stocks as at the end, medians over the whole period
    (not a median of medians), the same-day share over every letter of the period."""
    values: dict[str, Any] = {}
    for key in ADDITIVE:
        figures = [getattr(row, key) for row in rows]
        values[key] = None if all(f is None for f in figures) else sum(f or 0 for f in figures)
    for key in STOCKS:
        values[key] = getattr(rows[-1], key) if rows else None
    period = by_month.get(PERIOD, {})
    for key in PERIOD_MEDIANS:
        values[key] = _rounded(period.get(key), 1)
    same_day = sum(v.get("same_day", 0) for k, v in by_month.items() if k != PERIOD)
    with_date = sum(v.get("with_discharge_date", 0) for k, v in by_month.items() if k != PERIOD)
    values["discharge_same_day_share"] = _rounded(same_day / with_date, 3) if with_date else None
    return MonthRow(month=PERIOD, **values)


# --- presentation: the same labels for the page, the CSV and the docs -----------------

COLUMN_LABELS = {
    "month": _("Mois"),
    "referrals_sent": _("Fiches d'entrée envoyées"),
    "referrals_received": _("Reçues par le service"),
    "referrals_accepted": _("Acceptées"),
    "referrals_declined": _("Refusées"),
    "receipt_hours_median": _("Envoi → réception, médiane (h)"),
    "receipt_hours_p90": _("Envoi → réception, 90e centile (h)"),
    "acceptance_hours_median": _("Envoi → acceptation, médiane (h)"),
    "acceptance_hours_p90": _("Envoi → acceptation, 90e centile (h)"),
    "discharge_letters_sent": _("Lettres de sortie envoyées"),
    "discharge_same_day_share": _("Envoyées le jour de la sortie (%)"),
    "discharge_delay_days_median": _("Sortie → envoi, médiane (j)"),
    "referrals_without_letter_after_30_days": _("Fiches sans lettre de sortie après 30 jours"),
    "messages_exchanged": _("Messages échangés"),
    "protocols_acknowledged": _("Prises de connaissance de protocoles"),
    "protocols_in_force": _("Protocoles en vigueur (fin de mois)"),
    "protocol_participants": _("Professionnels engagés dans un protocole (fin de mois)"),
    "patients_included": _("Patients inclus dans un protocole"),
}
TOTAL_LABEL = _("Total de la période")


def month_name(month: str) -> str:
    """ "2026-12" → "décembre 2026" (in the active language: "December 2026" in English);
    the period's key → "Total de la période"."""
    if month == PERIOD:
        return str(TOTAL_LABEL)
    try:
        year, number = (int(part) for part in month.split("-"))
        return date_format(date(year, number, 1), "F Y")
    except ValueError:
        return month


def format_cell(key: str, value: Any, *, empty: str = "—", words: bool = True) -> str:
    """A table cell in French: decimal comma, percent for the share, a dash for "no figure",
    the month in words (`words=False`: as "YYYY-MM", for a spreadsheet to sort)."""
    if value is None:
        return empty
    if key == "month":
        # The CSV keeps "2026-12" so a spreadsheet sorts it; the total row is named anyway.
        month = str(value)
        return month_name(month) if words or month == PERIOD else month
    if key == "discharge_same_day_share":
        return f"{value * 100:.1f}".replace(".", ",")
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return str(value)


def csv_lines(indicators: Indicators) -> list[list[str]]:
    """The table as CSV rows (header first); an unknown figure is an empty cell."""
    lines = [[COLUMN_LABELS[key] for key in COLUMNS]]
    rows = [*indicators.months, *([indicators.total] if indicators.total else [])]
    lines += [
        [format_cell(key, getattr(row, key), empty="", words=False) for key in COLUMNS]
        for row in rows
    ]
    return lines
