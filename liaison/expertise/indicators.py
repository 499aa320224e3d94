"""Tele-expertise indicators of the coordinator's page, by month of first sending and
specialty: requests, median and 90th percentile time to answer, share answered within the
delay, share that avoided a consultation, share turned into a referral.

A fixed number of queries whatever the number of requests, on clear columns only (nothing
is decrypted, so nothing is audited): on PostgreSQL one grouped query with conditional
counts and `percentile_cont` (as liaison's indicators); on SQLite, which has no percentile
aggregate, a second query reads the answer times (three clear columns of the answered
requests) and Python interpolates the same way.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, F, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from liaison.catalogue import SPECIALTY, choice_label
from liaison.models import ExpertiseRequest
from liaison.outputs.indicators import MinutesBetween, PercentileCont

Consultation = ExpertiseRequest.Consultation


@dataclass(frozen=True)
class ExpertiseRow:
    month: date
    specialty: str
    specialty_label: str
    requests: int
    answered: int
    median_hours: float | None
    p90_hours: float | None
    within_delay: float | None  # shares of the answered requests, 0..1
    avoided_consultation: float | None
    turned_into_referral: float | None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.combine(start, time.min, tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone),
    )


def percentile(values: list[float], fraction: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def expertise_indicators(start: date, end: date) -> list[ExpertiseRow]:
    """The rows of the period, by month then specialty: one query on PostgreSQL, which
    computes the percentiles; two elsewhere (the answer times are read to compute them)."""
    since, until = _bounds(start, end)
    requests = ExpertiseRequest.objects.filter(first_sent_at__gte=since, first_sent_at__lt=until)
    answered = Q(answered_at__isnull=False)
    in_database = connection.vendor == "postgresql"
    percentiles = {}
    if in_database:
        minutes = MinutesBetween(F("answered_at"), F("first_sent_at"))
        percentiles = {
            "median": PercentileCont(minutes, 0.5, filter=answered),
            "p90": PercentileCont(minutes, 0.9, filter=answered),
        }
    counts = (
        requests.annotate(month=TruncMonth("first_sent_at"))
        .values("month", "specialty")
        .annotate(
            requests=Count("pk"),
            answered=Count("pk", filter=answered),
            within=Count("pk", filter=answered & Q(answered_at__lte=F("due_at"))),
            avoided=Count("pk", filter=answered & Q(consultation=Consultation.NOT_NEEDED)),
            referred=Count("pk", filter=answered & Q(referral__isnull=False)),
            **percentiles,
        )
        .order_by("month", "specialty")
    )
    hours: dict[tuple[date, str], list[float]] = defaultdict(list)
    if not in_database:
        for sent, done, specialty in requests.filter(answered).values_list(
            "first_sent_at", "answered_at", "specialty"
        ):
            if sent is None or done is None:  # excluded by the filters: for the type checker
                continue
            month = timezone.localtime(sent).date().replace(day=1)
            hours[month, specialty].append((done - sent).total_seconds() / 3600)

    def share(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    rows = []
    for row in counts:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        times = hours.get((month, row["specialty"]), [])
        if in_database:
            median = row["median"] / 60 if row["median"] is not None else None
            p90 = row["p90"] / 60 if row["p90"] is not None else None
        else:
            median, p90 = percentile(times, 0.5), percentile(times, 0.9)
        rows.append(
            ExpertiseRow(
                month=month,
                specialty=row["specialty"],
                specialty_label=choice_label(SPECIALTY, row["specialty"]),
                requests=row["requests"],
                answered=row["answered"],
                median_hours=median,
                p90_hours=p90,
                within_delay=share(row["within"], row["answered"]),
                avoided_consultation=share(row["avoided"], row["answered"]),
                turned_into_referral=share(row["referred"], row["answered"]),
            )
        )
    return rows
