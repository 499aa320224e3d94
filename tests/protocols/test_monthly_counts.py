"""monthly_acknowledgement_counts: the coordinator indicators' input, in one query."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from directory.models import Organisation
from protocols.models import Acknowledgement
from protocols.selectors import monthly_acknowledgement_counts

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


@pytest.fixture
def acknowledgements(demo, published):
    version = published()
    rows = [
        ("dr.martin", at(2026, 1, 15, 10)),
        ("ide.petit", at(2026, 1, 31, 23, 30)),  # still January in Paris (22:30 UTC)
        ("pharma.durand", at(2026, 3, 1, 0, 30)),  # March in Paris, February in UTC
        ("dr.leroy", at(2025, 12, 31, 12)),
    ]
    for username, moment in rows:
        Acknowledgement.objects.create(
            version=version, member=demo[username], acknowledged_at=moment
        )
    return version


def test_it_counts_per_local_month_with_every_month_of_the_period(
    acknowledgements, django_assert_num_queries
) -> None:
    with django_assert_num_queries(1):
        counts = monthly_acknowledgement_counts(date(2026, 1, 1), date(2026, 3, 31))
    assert counts == {"2026-01": 2, "2026-02": 0, "2026-03": 1}


def test_both_ends_are_included(acknowledgements) -> None:
    assert monthly_acknowledgement_counts(date(2026, 1, 15), date(2026, 1, 15)) == {"2026-01": 1}
    assert monthly_acknowledgement_counts(date(2025, 12, 31), date(2026, 1, 14)) == {
        "2025-12": 1,
        "2026-01": 0,
    }


def test_it_counts_the_members_of_one_organisation(
    demo, acknowledgements, django_assert_num_queries
) -> None:
    msp = Organisation.objects.get(name="MSP des Tilleuls")  # dr.martin, dr.leroy, ide.petit
    with django_assert_num_queries(1):
        counts = monthly_acknowledgement_counts(
            date(2025, 12, 1), date(2026, 3, 31), organisation=msp
        )
    assert counts == {"2025-12": 1, "2026-01": 2, "2026-02": 0, "2026-03": 0}
    pharmacy = Organisation.objects.get(name="Pharmacie de la Loire")
    assert (
        monthly_acknowledgement_counts(date(2026, 1, 1), date(2026, 3, 31), pharmacy)["2026-03"]
        == 1
    )


def test_an_empty_period_gives_no_months() -> None:
    assert monthly_acknowledgement_counts(date(2026, 3, 1), date(2026, 2, 1)) == {}


def test_protocols_in_force_and_participants_are_read_at_each_month_end(
    demo, published, django_assert_num_queries
) -> None:
    """D4011-4-2's follow-up: the stocks at the end of each month, in one query each."""
    from protocols.models import Participation, ProtocolVersion
    from protocols.selectors import monthly_protocol_participants, monthly_protocols_in_force

    first, second = published(), published()
    assert first.protocol_id != second.protocol_id
    ProtocolVersion.objects.filter(pk=first.pk).update(published_at=at(2026, 1, 10))
    # Published in February, retired on the 1st of March at 00:30 in Paris (still 28 Feb UTC).
    ProtocolVersion.objects.filter(pk=second.pk).update(
        published_at=at(2026, 2, 3), retired_at=at(2026, 3, 1, 0, 30)
    )
    Participation.objects.all().delete()
    rows = [
        ("dr.martin", first, at(2026, 1, 12), None),
        ("dr.martin", second, at(2026, 2, 4), None),  # one professional, two protocols
        ("ide.petit", first, at(2026, 1, 20), at(2026, 2, 15)),  # left in February
        ("pharma.durand", second, at(2026, 3, 2), None),  # in a retired protocol: not engaged
        ("dr.leroy", first, at(2026, 3, 5), None),
    ]
    for username, version, registered, ended in rows:
        Participation.objects.create(
            protocol=version.protocol,
            member=demo[username],
            role=Participation.Role.PARTICIPANT,
            registered_at=registered,
            registered_by=demo["coord"],
            ended_at=ended,
        )
    with django_assert_num_queries(1):
        in_force = monthly_protocols_in_force(date(2025, 12, 1), date(2026, 3, 31))
    assert in_force == {"2025-12": 0, "2026-01": 1, "2026-02": 2, "2026-03": 1}
    with django_assert_num_queries(1):
        engaged = monthly_protocol_participants(date(2025, 12, 1), date(2026, 3, 31))
    assert engaged == {"2025-12": 0, "2026-01": 2, "2026-02": 1, "2026-03": 2}  # martin, leroy
    # A period ending mid-month reads the stock on its last day.
    assert monthly_protocols_in_force(date(2026, 2, 1), date(2026, 2, 3)) == {"2026-02": 2}
    assert monthly_protocols_in_force(date(2026, 2, 1), date(2026, 2, 2)) == {"2026-02": 1}
    msp = Organisation.objects.get(name="MSP des Tilleuls")  # dr.martin, dr.leroy, ide.petit
    assert monthly_protocol_participants(date(2026, 3, 1), date(2026, 3, 31), organisation=msp) == {
        "2026-03": 2
    }
    # Registered before the protocol came into force: engaged from its publication on.
    ProtocolVersion.objects.filter(pk=first.pk).update(published_at=at(2026, 2, 10))
    assert monthly_protocol_participants(date(2026, 1, 1), date(2026, 2, 28)) == {
        "2026-01": 0,
        "2026-02": 1,
    }


def test_local_midnights_bound_the_period_across_a_daylight_saving_change(
    demo, published, django_assert_num_queries
) -> None:
    """Paris goes to summer time on 2026-03-29 (UTC+1 -> UTC+2) and back on 2026-10-25."""
    version = published()
    rows = [
        ("dr.martin", at(2026, 3, 31, 23, 59, 59)),  # March, 21:59:59 UTC
        ("ide.petit", at(2026, 4, 1, 0, 0)),  # April from local midnight: 22:00 UTC on 31/03
        ("pharma.durand", at(2026, 3, 29, 3, 30)),  # the short day, after the change
        ("dr.leroy", at(2026, 10, 25, 23, 30)),  # the long day's last half hour (22:30 UTC)
        ("dr.bernard", at(2026, 10, 26, 0, 0)),  # the next day, 23:00 UTC on the 25th
    ]
    for username, moment in rows:
        Acknowledgement.objects.create(
            version=version, member=demo[username], acknowledged_at=moment
        )
    with django_assert_num_queries(1):
        counts = monthly_acknowledgement_counts(date(2026, 3, 29), date(2026, 4, 30))
    assert counts == {"2026-03": 2, "2026-04": 1}
    assert monthly_acknowledgement_counts(date(2026, 3, 1), date(2026, 3, 31)) == {"2026-03": 2}
    assert monthly_acknowledgement_counts(date(2026, 4, 1), date(2026, 4, 1)) == {"2026-04": 1}
    assert monthly_acknowledgement_counts(date(2026, 3, 30), date(2026, 3, 31)) == {"2026-03": 1}
    assert monthly_acknowledgement_counts(date(2026, 10, 25), date(2026, 10, 25)) == {"2026-10": 1}
    assert monthly_acknowledgement_counts(date(2026, 10, 26), date(2026, 10, 31)) == {"2026-10": 1}


def test_the_period_is_a_range_on_the_indexed_column(demo, published) -> None:
    """No function of acknowledged_at in the WHERE clause: its index can serve the range."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        monthly_acknowledgement_counts(date(2026, 3, 1), date(2026, 3, 31))
    where = queries.captured_queries[0]["sql"].split(" WHERE ", 1)[1].split(" GROUP BY ")[0]
    assert '"acknowledged_at" >=' in where
    assert '"acknowledged_at" <' in where
    assert "django_datetime_cast_date" not in where  # SQLite's __date
    assert "AT TIME ZONE" not in where  # PostgreSQL's
