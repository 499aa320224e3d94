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
