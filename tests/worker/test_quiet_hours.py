"""Quiet hours and the digest time, in the CPTS's local time (Europe/Paris, with DST)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from worker.models import NotificationSettings
from worker.selectors import digest_cutoff, quiet_period_end

PARIS = ZoneInfo("Europe/Paris")


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def quiet(start: time | None, end: time | None) -> NotificationSettings:
    return NotificationSettings(quiet_hours_start=start, quiet_hours_end=end)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-06-01 21:00", "2026-06-02 07:30"),  # evening: until tomorrow morning
        ("2026-06-02 06:00", "2026-06-02 07:30"),  # early morning: until this morning
        ("2026-06-02 07:30", None),  # the end is not quiet any more
        ("2026-06-02 12:00", None),
        ("2026-06-02 20:00", "2026-06-03 07:30"),  # the start is quiet already
    ],
)
def test_a_period_over_midnight(at: str, expected: str | None) -> None:
    end = quiet_period_end(quiet(time(20), time(7, 30)), paris(at))
    assert end == (paris(expected) if expected else None)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        ("2026-06-02 12:30", "2026-06-02 14:00"),
        ("2026-06-02 11:00", None),
        ("2026-06-02 14:00", None),
    ],
)
def test_a_period_within_the_day(at: str, expected: str | None) -> None:
    end = quiet_period_end(quiet(time(12), time(14)), paris(at))
    assert end == (paris(expected) if expected else None)


def test_no_quiet_hours_means_never_quiet() -> None:
    assert quiet_period_end(None, paris("2026-06-02 03:00")) is None
    assert quiet_period_end(quiet(None, None), paris("2026-06-02 03:00")) is None


def test_quiet_hours_follow_daylight_saving_time() -> None:
    # The night the clocks go forward (29 March 2026): 07:30 is 05:30 UTC, not 06:30.
    end = quiet_period_end(quiet(time(20), time(7, 30)), paris("2026-03-28 23:00"))
    assert end is not None
    assert end.astimezone(ZoneInfo("UTC")).isoformat() == "2026-03-29T05:30:00+00:00"


def test_the_digest_covers_what_came_before_the_latest_digest_hour() -> None:
    assert digest_cutoff(paris("2026-06-02 09:00")) == paris("2026-06-02 07:00")
    assert digest_cutoff(paris("2026-06-02 06:59")) == paris("2026-06-01 07:00")
