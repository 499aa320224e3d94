"""Times of notifications read as a person says them (issue #16): never "0 minute"."""

from __future__ import annotations

from datetime import timedelta

from django.utils.timezone import now

from worker.templatetags.notification_time import since


def test_a_notification_of_this_minute_reads_a_l_instant() -> None:
    assert since(now() - timedelta(seconds=20)) == "à l'instant"


def test_older_ones_say_how_long_ago_in_one_unit() -> None:
    assert since(now() - timedelta(minutes=5, seconds=10)) == "il y a 5\xa0minutes"
    assert since(now() - timedelta(days=2, hours=3)) == "il y a 2\xa0jours"
