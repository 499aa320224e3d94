"""Recurring events: a small RRULE-like rule, expanded into the dates of its occurrences.

A rule is a dict (stored on the series' first event, `Event.recurrence`):

    {"freq": "weekly" | "monthly", "interval": 1, "until": "2027-06-30" | None,
     "count": 12 | None, "by": "weekday" | "monthday", "exceptions": ["2027-01-05"]}

- weekly: every `interval` weeks, on the first occurrence's weekday;
- monthly: every `interval` months, on the same position of the weekday ("by": "weekday",
  the default: the 2nd Tuesday, the last Friday when the first one is in the month's last
  seven days) or on the same day of the month ("by": "monthday"; months without that day are
  skipped, as RFC 5545 does);
- it stops at `until` (a date, included) or after `count` occurrences (the first included),
  whichever comes first, and never after MAX_OCCURRENCES; `exceptions` are dates left out.

Occurrences keep the first one's wall-clock time in Europe/Paris (TIME_ZONE): a permanence at
14:00 stays at 14:00 across the change to summer time, its UTC instant moves. A rule that
yields no date is refused on the `recurrence` field, in words (FieldErrors, 400).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.timezone import get_current_timezone, localtime, make_aware
from django.utils.translation import gettext as _

from security.exceptions import FieldErrors

MAX_OCCURRENCES = 60
FREQUENCIES = ("weekly", "monthly")


def _date(value: Any, field: str, errors: dict[str, list[str]]) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors.setdefault("recurrence", []).append(
            _("%(field)s : date invalide (AAAA-MM-JJ).") % {"field": field}
        )
        return None


def validated_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """The rule as stored (JSON, dates as ISO strings), or FieldErrors on `recurrence`."""
    errors: dict[str, list[str]] = {}
    unknown = set(rule) - {"freq", "interval", "until", "count", "by", "exceptions"}
    if unknown:
        errors["recurrence"] = [
            _("Clés inconnues : %(keys)s.") % {"keys": ", ".join(sorted(unknown))}
        ]
    freq = rule.get("freq")
    if freq not in FREQUENCIES:
        errors.setdefault("recurrence", []).append(
            _("Fréquence attendue : « weekly » (hebdomadaire) ou « monthly » (mensuelle).")
        )
    interval = rule.get("interval", 1)
    if not isinstance(interval, int) or isinstance(interval, bool) or not 1 <= interval <= 12:
        errors.setdefault("recurrence", []).append(_("L'intervalle va de 1 à 12."))
        interval = 1
    count = rule.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        errors.setdefault("recurrence", []).append(_("Le nombre d'occurrences est au moins 1."))
        count = None
    until = _date(rule.get("until"), "until", errors)
    if until is None and count is None and "recurrence" not in errors:
        errors["recurrence"] = [_("Indiquez une date de fin ou un nombre d'occurrences.")]
    by = rule.get("by") or "weekday"
    if by not in ("weekday", "monthday"):
        errors.setdefault("recurrence", []).append(_("« by » vaut « weekday » ou « monthday »."))
    exceptions = rule.get("exceptions") or []
    if not isinstance(exceptions, list):
        errors.setdefault("recurrence", []).append(_("Les exceptions sont une liste de dates."))
        exceptions = []
    skipped = [_date(value, "exceptions", errors) for value in exceptions]
    if errors:
        raise FieldErrors(errors)
    return {
        "freq": freq,
        "interval": interval,
        "until": until.isoformat() if until else None,
        "count": count,
        "by": by,
        "exceptions": sorted({day.isoformat() for day in skipped if day is not None}),
    }


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date | None:
    """The nth (1-5, or -1 for the last) `weekday` of a month, or None if it has none."""
    days = [
        day
        for day in calendar.Calendar().itermonthdates(year, month)
        if day.month == month and day.weekday() == weekday
    ]
    if nth == -1:
        return days[-1]
    return days[nth - 1] if nth <= len(days) else None


def _candidate_days(first: date, rule: dict[str, Any]) -> list[date]:
    interval = rule["interval"]
    if rule["freq"] == "weekly":
        return [first + timedelta(weeks=step * interval) for step in range(MAX_OCCURRENCES * 4)]
    days: list[date] = []
    last_week = first + timedelta(days=7) > date(first.year, first.month, 1) + timedelta(
        days=calendar.monthrange(first.year, first.month)[1] - 1
    )
    nth = -1 if last_week and (first.day - 1) // 7 + 1 >= 4 else (first.day - 1) // 7 + 1
    for step in range(MAX_OCCURRENCES * 4):
        month_index = first.month - 1 + step * interval
        year, month = first.year + month_index // 12, month_index % 12 + 1
        if rule["by"] == "monthday":
            if first.day <= calendar.monthrange(year, month)[1]:
                days.append(date(year, month, first.day))
        else:
            day = _nth_weekday(year, month, first.weekday(), nth)
            if day is not None:
                days.append(day)
    return days


def occurrences(
    starts_at: datetime, ends_at: datetime, rule: dict[str, Any]
) -> list[tuple[datetime, datetime]]:
    """The (start, end) of every occurrence, the first included unless it is an exception.

    Raises FieldErrors on `recurrence` when the rule yields no date at all.
    """
    zone = get_current_timezone()
    local_start = localtime(starts_at, zone)
    duration = ends_at - starts_at
    until = date.fromisoformat(rule["until"]) if rule.get("until") else None
    skipped = {date.fromisoformat(day) for day in rule.get("exceptions") or []}
    found: list[tuple[datetime, datetime]] = []
    seen = 0
    for day in _candidate_days(local_start.date(), rule):
        if until is not None and day > until:
            break
        if rule.get("count") is not None and seen >= rule["count"]:
            break
        seen += 1
        if day in skipped:
            continue
        start = make_aware(datetime.combine(day, local_start.time().replace(tzinfo=None)), zone)
        found.append((start, start + duration))
        if len(found) >= MAX_OCCURRENCES:
            break
    if not found:
        raise FieldErrors({"recurrence": [_("Cette règle de récurrence ne donne aucune date.")]})
    return found
