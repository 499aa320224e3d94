"""The indicators' monthly aggregates: kept up to date as sheets move, read in constant time.

Why (docs/outputs.md, "Aggregates"): computing the table from the sheets costs in proportion to
the sheets of the period (15 × a `COUNT(*)` of the table at 100k sheets). Here each sheet
*contributes* a few cells to `liaison.IndicatorCount` (its month of sending × a measure ×
a bucket, in every scope whose table shows it), and the page reads the cells of its months.

- **One function says what a sheet contributes** (`contribution`), from its clear columns
  only. A transition records the difference between the sheet's contribution before and after
  it, in the same transaction as the conditional UPDATE that moves the sheet
  (liaison.services.transitions calls `lock_before_change` then `record_change`): the figures
  are never behind, and a retried transition is counted once (a retry either finds the
  transition done and writes nothing, or rolls back with it). `rebuild()` recomputes every
  cell from the sheets with the same function (`manage.py rebuild_indicators`).
- **Exact medians and 90th percentiles**: the durations are stored as distributions at the
  indicators' own resolution: whole minutes for the receipt and acceptance times (the page
  shows hours to 0.1, i.e. 6 minutes), whole days for the discharge delay. A percentile
  interpolated on these values is the one `percentile_cont` gives on the same values: exact,
  not an estimate. To read a percentile without reading every minute of a month, each
  distribution is kept twice: by hour ("receipt_h") and by minute ("receipt_m"); the page
  reads the hours, finds which hours hold the ranks it needs (at most two per percentile),
  and reads only those hours' minutes.
- **Scopes**: 0 is the whole CPTS; an organisation's id holds the sheets its filtered table
  shows (liaison.outputs.indicators: sent from or to it or one of its services; for letters,
  also answering its referrals or addressed to its members). A sheet counts once per scope.
  The scopes are taken when the sheet moves: moving a service to another parent, or a
  recipient's memberships changing later, needs `rebuild_indicators` to show in past months.

Nothing here decrypts a sheet.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from directory.models import Membership, Organisation
from liaison.models import IndicatorCount, LiaisonSheet, SheetParticipant
from security.compiled import CompiledQuery

Key = tuple[int, str, str, int]  # scope, month, measure, bucket
Cell = tuple[str, str, int]  # month, measure, bucket (a contribution before its scopes)

SheetStatus = LiaisonSheet.Status
SheetKind = LiaisonSheet.Kind
OPEN = (SheetStatus.SENT, SheetStatus.RECEIVED, SheetStatus.ACCEPTED)
WHOLE_CPTS = 0
MINUTE = timedelta(minutes=1)
# Durations kept by hour (to find a rank) and by minute (to read it).
DURATIONS = {"receipt": ("receipt_h", "receipt_m"), "acceptance": ("acceptance_h", "acceptance_m")}
STATE_FIELDS = (
    "kind",
    "status",
    "document_version",
    "sent_at",
    "received_at",
    "accepted_at",
    "discharge_date",
)


@dataclass(frozen=True)
class SheetState:
    """What a sheet's contribution depends on (clear columns only)."""

    kind: str
    status: str
    document_version: int
    sent_at: datetime | None
    received_at: datetime | None
    accepted_at: datetime | None
    discharge_date: date | None

    @classmethod
    def of(cls, sheet: LiaisonSheet) -> SheetState:
        return cls(**{name: getattr(sheet, name) for name in STATE_FIELDS})


def minutes_between(later: datetime, earlier: datetime) -> int:
    """Whole minutes, truncated: the resolution the indicators measure durations in."""
    return (later - earlier) // MINUTE


def _local(moment: datetime) -> datetime:
    # The stored month must not depend on a request's active time zone: the CPTS's own.
    return timezone.localtime(moment, timezone.get_default_timezone())


def contribution(state: SheetState | None) -> Counter[Cell]:
    """The cells one sheet adds to the table (the same for every scope it is in)."""
    cells: Counter[Cell] = Counter()
    if state is None or state.sent_at is None or state.status == SheetStatus.DRAFT:
        return cells
    sent = _local(state.sent_at)
    month = sent.strftime("%Y-%m")
    if state.kind == SheetKind.REFERRAL:
        cells[month, "sent", 0] += 1
        if state.received_at is not None:
            cells[month, "received", 0] += 1
        if state.accepted_at is not None:
            cells[month, "accepted", 0] += 1
        if state.status == SheetStatus.DECLINED:
            cells[month, "declined", 0] += 1
        if state.status in OPEN:
            cells[month, "open", sent.day] += 1
        # A reopened referral was received before it was sent again: not a receipt time.
        for name, moment in (("receipt", state.received_at), ("acceptance", state.accepted_at)):
            if moment is not None and moment >= state.sent_at:
                minutes = minutes_between(moment, state.sent_at)
                hours, fine = DURATIONS[name]
                cells[month, hours, minutes // 60] += 1
                cells[month, fine, minutes] += 1
    elif state.kind == SheetKind.DISCHARGE and state.document_version == 1:
        # (a later version completes a letter: not another one; tele-expertise requests
        # have their own figures, expertise.indicators)
        cells[month, "letters", 0] += 1
        if state.discharge_date is not None:
            cells[month, "dated", 0] += 1
            cells[month, "delay_d", (sent.date() - state.discharge_date).days] += 1
            if sent.date() == state.discharge_date:
                cells[month, "same_day", 0] += 1
    return cells


def _scopes(organisations: Iterable[tuple[int | None, int | None]]) -> list[int]:
    """The whole CPTS, each organisation and its parent (whose table includes its services)."""
    scopes = {WHOLE_CPTS}
    for organisation, parent in organisations:
        scopes |= {pk for pk in (organisation, parent) if pk is not None}
    return sorted(scopes)


def _letter_organisations(sheet_id: int) -> list[tuple[int | None, int | None]]:
    """The organisations whose table shows a letter, with their parents (one query)."""
    sheet = LiaisonSheet.objects.filter(pk=sheet_id)
    participants = SheetParticipant.objects.filter(sheet_id=sheet_id).values("member_id")
    found = Organisation.objects.filter(
        Q(pk__in=sheet.values("sender_organisation_id"))
        | Q(pk__in=sheet.values("referral__sender_organisation_id"))
        | Q(memberships__member_id__in=participants)
    )
    return list(found.values_list("pk", "parent_id").distinct())


@dataclass(frozen=True)
class Before:
    """A sheet's state read under its row lock, before a transition changes it."""

    sheet_id: int
    state: SheetState | None
    organisations: tuple[tuple[int | None, int | None], ...]


def _locked_for_change(sheet_id: int) -> QuerySet[LiaisonSheet]:
    return (
        LiaisonSheet.objects.select_for_update(of=("self",))
        .filter(pk=sheet_id)
        .select_related("sender_organisation", "recipient_organisation")
        .only(
            *STATE_FIELDS,
            "sender_organisation__parent",
            "recipient_organisation__parent",
        )
        .order_by()
    )


# Every transition starts with this read: compiled once per thread (security.compiled), as
# Django compiling its two joins cost more than running it (docs/benchmarks.md).
_LOCKED = CompiledQuery(_locked_for_change, sheet_id=int)


def lock_before_change(sheet_id: int) -> Before:
    """Lock the sheet's row and read its state and organisations (one query).

    Read in the transaction, under the lock, not from the caller's copy of the sheet: that copy
    may predate a concurrent transition, and the difference must start from what is stored.
    """
    rows = _LOCKED.fetch(sheet_id=sheet_id)
    if not rows:
        return Before(sheet_id, None, ())
    (sheet,) = rows
    organisations = tuple(
        (organisation.pk, organisation.parent_id) if organisation is not None else (None, None)
        for organisation in (sheet.sender_organisation, sheet.recipient_organisation)
    )
    return Before(sheet_id, SheetState.of(sheet), organisations)


def created(sheet: LiaisonSheet) -> Before:
    """The "before" of a sheet just created: it contributed nothing, its organisations are read
    with their parents (one query)."""
    ids = [sheet.sender_organisation_id, sheet.recipient_organisation_id]
    organisations = Organisation.objects.filter(pk__in=[pk for pk in ids if pk is not None])
    return Before(sheet.pk, None, tuple(organisations.values_list("pk", "parent_id")))


def record_change(before: Before, after: SheetState | LiaisonSheet) -> int:
    """Add the difference between the sheet's contributions before and after a transition.

    No query when nothing the indicators count changed; otherwise one UPSERT (a discharge
    letter, the first time it counts, one more query for the organisations of its recipients).
    Returns the number of cells changed.
    """
    state = after if isinstance(after, SheetState) else SheetState.of(after)
    difference = contribution(state)
    difference.subtract(contribution(before.state))
    changed = {cell: delta for cell, delta in difference.items() if delta}
    if not changed:
        return 0
    organisations: Iterable[tuple[int | None, int | None]] = before.organisations
    if state.kind == SheetKind.DISCHARGE:
        organisations = _letter_organisations(before.sheet_id)
    add_counts(
        ((scope, *cell), delta)
        for scope in _scopes(organisations)
        for cell, delta in changed.items()
    )
    return len(changed)


def closed(before: Before) -> SheetState:
    """The state after a conditional UPDATE to "closed" that touched only the status."""
    assert before.state is not None  # the UPDATE found the row
    return replace(before.state, status=SheetStatus.CLOSED)


def add_counts(deltas: Iterable[tuple[Key, int]]) -> None:
    """One statement: INSERT … ON CONFLICT DO UPDATE SET count = count + delta (PostgreSQL and
    SQLite ≥ 3.24). Concurrent transitions add to the same cell without losing an update: the
    database serialises the increments on the row, not the whole table."""
    rows = list(deltas)
    if not rows:
        return
    table = connection.ops.quote_name(IndicatorCount._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(rows))
    params: list[Any] = []
    for (scope, month, measure, bucket), delta in rows:
        params += [scope, month, measure, bucket, delta]
    sql = (
        f"INSERT INTO {table} (scope, month, measure, bucket, count) VALUES {values} "  # noqa: S608
        "ON CONFLICT (scope, measure, month, bucket) "
        f"DO UPDATE SET count = {table}.count + excluded.count"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# --- rebuild ----------------------------------------------------------------------------


def _all_contributions(chunk_size: int = 5000) -> Iterator[tuple[Key, int]]:
    parents = dict(Organisation.objects.values_list("pk", "parent_id"))
    sheets = LiaisonSheet.objects.exclude(status=SheetStatus.DRAFT).filter(sent_at__isnull=False)
    memberships: dict[int, set[int]] = defaultdict(set)
    for member_id, organisation_id in Membership.objects.values_list(
        "member_id", "organisation_id"
    ):
        memberships[member_id].add(organisation_id)
    recipients: dict[int, set[int]] = defaultdict(set)
    letters = sheets.filter(kind=SheetKind.DISCHARGE, document_version=1)
    referral_senders = dict(
        LiaisonSheet.objects.filter(pk__in=letters.values("referral_id")).values_list(
            "pk", "sender_organisation_id"
        )
    )
    for sheet_id, member_id in SheetParticipant.objects.filter(sheet__in=letters).values_list(
        "sheet_id", "member_id"
    ):
        recipients[sheet_id] |= memberships[member_id]
    columns = [*STATE_FIELDS, "pk", "sender_organisation_id", "recipient_organisation_id"]
    columns.append("referral_id")
    for row in sheets.values_list(*columns).order_by().iterator(chunk_size=chunk_size):
        state = SheetState(*row[: len(STATE_FIELDS)])
        sheet_id, sender, recipient, referral = row[len(STATE_FIELDS) :]
        cells = contribution(state)
        if not cells:
            continue
        # The same organisations as record_change (and the direct filter) take.
        organisations: set[int | None] = {sender, recipient}
        if state.kind == SheetKind.DISCHARGE:
            organisations = {sender, referral_senders.get(referral)}
            organisations |= recipients.get(sheet_id, set())
        scopes = _scopes((pk, parents.get(pk)) for pk in organisations if pk is not None)
        for cell, count in cells.items():
            for scope in scopes:
                yield (scope, *cell), count


def rebuild() -> int:
    """Recompute every cell from the sheets; returns the number of cells.

    One transaction; on PostgreSQL the table is locked against the transitions' increments
    first, so a transition either committed before (and its sheet is read here) or waits and
    adds its difference on top of the rebuilt cells. Run by `manage.py rebuild_indicators`.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
            table = connection.ops.quote_name(IndicatorCount._meta.db_table)
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        IndicatorCount.objects.all().delete()
        counts: Counter[Key] = Counter()
        for key, count in _all_contributions():
            counts[key] += count
        IndicatorCount.objects.bulk_create(
            (
                IndicatorCount(scope=s, month=m, measure=name, bucket=b, count=c)
                for (s, m, name, b), c in counts.items()
            ),
            batch_size=2000,
        )
    return len(counts)


# --- reading ----------------------------------------------------------------------------


def _ranks(total: int, fraction: float) -> tuple[float, int, int]:
    position = fraction * (total - 1)  # percentile_cont's, as indicators.percentile_cont
    return position, math.floor(position), math.ceil(position)


def _bucket_of(histogram: dict[int, int], rank: int) -> tuple[int, int]:
    """The bucket holding the value of rank `rank` (0-based), and the rank of its first value."""
    seen = 0
    for bucket in sorted(histogram):
        if rank < seen + histogram[bucket]:
            return bucket, seen
        seen += histogram[bucket]
    raise IndexError(rank)


class Distribution:
    """One month's (or the period's) durations: hours to find a rank, minutes to read it."""

    def __init__(self, hours: dict[int, int]) -> None:
        self.hours = {hour: count for hour, count in hours.items() if count}
        self.total = sum(self.hours.values())

    def hours_needed(self, fractions: Iterable[float]) -> set[int]:
        needed: set[int] = set()
        for fraction in fractions if self.total else ():
            _, lower, upper = _ranks(self.total, fraction)
            needed |= {_bucket_of(self.hours, lower)[0], _bucket_of(self.hours, upper)[0]}
        return needed

    def percentile(self, fraction: float, minutes: dict[int, int]) -> float | None:
        """percentile_cont(fraction) of the durations, in minutes (interpolated exactly)."""
        if not self.total:
            return None
        position, lower, upper = _ranks(self.total, fraction)

        def value(rank: int) -> int:
            hour, first = _bucket_of(self.hours, rank)
            in_hour = {m: c for m, c in minutes.items() if m // 60 == hour and c}
            minute, _ = _bucket_of(in_hour, rank - first)
            return minute

        low, high = value(lower), value(upper)
        return low + (high - low) * (position - lower)


def _plain_percentile(histogram: dict[int, int], fraction: float) -> float | None:
    histogram = {value: count for value, count in histogram.items() if count}
    total = sum(histogram.values())
    if not total:
        return None
    position, lower, upper = _ranks(total, fraction)
    low, high = _bucket_of(histogram, lower)[0], _bucket_of(histogram, upper)[0]
    return low + (high - low) * (position - lower)


PERIOD = "period"
COUNTS = {
    "sent": "referrals_sent",
    "received": "referrals_received",
    "accepted": "referrals_accepted",
    "declined": "referrals_declined",
    "letters": "discharge_letters_sent",
    "same_day": "same_day",
    "dated": "with_discharge_date",
}
FRACTIONS = {"median": 0.5, "p90": 0.9}
COARSE = [*COUNTS, "open", "delay_d", *(hours for hours, _ in DURATIONS.values())]


def monthly_figures(
    *, months: list[str], organisation_id: int | None, moment: datetime, end_at: datetime
) -> dict[str, dict[str, Any]]:
    """The figures of whole months from the aggregates, as the direct computation gives them
    (indicators.liaison_indicators): counts, "same_day"/"with_discharge_date", unrounded
    medians and percentiles (hours, days), and the period's percentiles under PERIOD.

    Three queries, whatever the number of sheets: the cells of the months except the minutes,
    the minutes of the few hours that hold a percentile, and the referrals still open sent on
    the day that is exactly 30 days ago up to that moment (the one day the daily counts cannot
    split; bounded by a day's sheets, by the `sent_at` index).
    """
    scope = organisation_id or WHOLE_CPTS
    cells = IndicatorCount.objects.filter(scope=scope)
    in_period = cells.filter(month__gte=months[0], month__lte=months[-1])
    # Every measure but the minutes: the index (scope, measure, month, bucket) seeks each.
    read = _Cells()
    for month, measure, bucket, count in in_period.filter(measure__in=COARSE).values_list(
        "month", "measure", "bucket", "count"
    ):
        read.add(month, measure, bucket, count)
    by_month = read.counts
    for month, late in _late_referrals(read.open_by_day, months, organisation_id, moment, end_at):
        by_month[month]["referrals_without_letter_after_30_days"] = late
    for (month, key), value in _duration_percentiles(read.hours, scope).items():
        by_month[month][key] = value
    period_delays: Counter[int] = Counter()
    for month, histogram in read.delays.items():
        by_month[month]["discharge_delay_days_median"] = _plain_percentile(histogram, 0.5)
        period_delays.update(histogram)
    by_month[PERIOD]["discharge_delay_days_median"] = _plain_percentile(period_delays, 0.5)
    return by_month


class _Cells:
    """The cells of one table's months, sorted by what they hold."""

    def __init__(self) -> None:
        self.counts: dict[str, dict[str, Any]] = defaultdict(dict)
        self.hours: dict[str, dict[str, Counter[int]]] = {
            name: defaultdict(Counter) for name in DURATIONS
        }
        self.delays: dict[str, Counter[int]] = defaultdict(Counter)
        self.open_by_day: dict[str, Counter[int]] = defaultdict(Counter)
        self.coarse = {coarse: name for name, (coarse, _) in DURATIONS.items()}

    def add(self, month: str, measure: str, bucket: int, count: int) -> None:
        if measure in COUNTS:
            key = COUNTS[measure]
            self.counts[month][key] = self.counts[month].get(key, 0) + count
        elif measure == "open":
            self.open_by_day[month][bucket] += count
        elif measure == "delay_d":
            self.delays[month][bucket] += count
        elif measure in self.coarse:
            self.hours[self.coarse[measure]][month][bucket] += count


def _late_referrals(
    open_by_day: dict[str, Counter[int]],
    months: list[str],
    organisation_id: int | None,
    moment: datetime,
    end_at: datetime,
) -> Iterator[tuple[str, int]]:
    """Referrals without a letter 30 days after sending, by month: whole days before the
    cutoff's day from the daily counts, that day itself from the sheets (one bounded query)."""
    cutoff_at = moment - timedelta(days=30)
    cutoff = _local(cutoff_at)
    cutoff_month, cutoff_day = cutoff.strftime("%Y-%m"), cutoff.day
    for month, days in open_by_day.items():
        if month < cutoff_month:
            yield month, sum(days.values())
    if not months[0] <= cutoff_month <= months[-1]:
        return
    same_day = LiaisonSheet.objects.filter(
        kind=SheetKind.REFERRAL,
        status__in=OPEN,
        sent_at__gte=cutoff.replace(hour=0, minute=0, second=0, microsecond=0),
        sent_at__lte=cutoff_at,
        sent_at__lt=end_at,
    )
    if organisation_id:
        same_day = same_day.filter(
            Q(sender_organisation_id=organisation_id)
            | Q(sender_organisation__parent_id=organisation_id)
            | Q(recipient_organisation_id=organisation_id)
            | Q(recipient_organisation__parent_id=organisation_id)
        )
    earlier = open_by_day.get(cutoff_month, Counter())
    yield (
        cutoff_month,
        sum(count for day, count in earlier.items() if day < cutoff_day) + same_day.count(),
    )


def _minutes_of(scope: int, hours: list[tuple[str, str, int]]) -> list[tuple[str, str, int, int]]:
    """The minute cells of the given (measure, month, hour)s, in one query: a join with a
    VALUES list, one index range per item (an OR of hundreds of ranges costs PostgreSQL more
    to plan than to run)."""
    if not hours:
        return []
    table = connection.ops.quote_name(IndicatorCount._meta.db_table)
    # Typed as the columns: an untyped text would hide the index from the join.
    item = "(CAST(%s AS varchar(16)), CAST(%s AS varchar(7)), %s, %s)"
    values = ", ".join([item] * len(hours))
    params: list[Any] = []
    for measure, month, hour in hours:
        params += [measure, month, hour * 60, (hour + 1) * 60]
    where = (
        "c.scope = %s AND c.measure = w.measure AND c.month = w.month "
        "AND c.bucket >= w.low AND c.bucket < w.high"
    )
    if connection.vendor == "postgresql":
        # LATERAL … OFFSET 0: one index range per item. Joined plainly, PostgreSQL
        # underestimates the rows and prefers scanning the whole scope (15 × slower).
        source = f"LATERAL (SELECT * FROM {table} c WHERE {where} OFFSET 0) c"  # noqa: S608
        on = ""
    else:
        source, on = f"{table} c", f" ON {where}"
    sql = (
        f"WITH wanted (measure, month, low, high) AS (VALUES {values}) "  # noqa: S608
        f"SELECT c.month, c.measure, c.bucket, c.count FROM wanted w JOIN {source}{on}"
    )
    if not on:
        sql += " ON TRUE"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, scope])
        return [(str(m), str(name), int(b), int(c)) for m, name, b, c in cursor.fetchall()]


def _duration_percentiles(
    hours: dict[str, dict[str, Counter[int]]], scope: int
) -> dict[tuple[str, str], float | None]:
    """Each month's and the period's medians and 90th percentiles of the receipt and
    acceptance times, in hours: which hours hold the ranks, then those hours' minutes only."""
    distributions: dict[tuple[str, str], Distribution] = {}
    for name, per_month in hours.items():
        period: Counter[int] = Counter()
        for month, histogram in per_month.items():
            distributions[name, month] = Distribution(histogram)
            period.update(histogram)
        distributions[name, PERIOD] = Distribution(period)
    # (measure, month, hour) whose minutes are needed: a month's own, and for the period's
    # the hours in every month that has durations in them. Each one an index range.
    needed: set[tuple[str, str, int]] = set()
    for (name, month), distribution in distributions.items():
        for hour in distribution.hours_needed(FRACTIONS.values()):
            if month != PERIOD:
                needed.add((DURATIONS[name][1], month, hour))
                continue
            needed |= {
                (DURATIONS[name][1], other, hour)
                for other, histogram in hours[name].items()
                if histogram.get(hour)
            }
    minutes: dict[str, dict[str, Counter[int]]] = {name: defaultdict(Counter) for name in DURATIONS}
    names = {fine: name for name, (_, fine) in DURATIONS.items()}
    for month, measure, bucket, count in _minutes_of(scope, sorted(needed)):
        minutes[names[measure]][month][bucket] += count
        minutes[names[measure]][PERIOD][bucket] += count
    figures: dict[tuple[str, str], float | None] = {}
    for (name, month), distribution in distributions.items():
        for label, fraction in FRACTIONS.items():
            value = distribution.percentile(fraction, minutes[name][month])
            figures[month, f"{name}_hours_{label}"] = None if value is None else value / 60
    return figures
