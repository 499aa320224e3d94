"""Tele-expertise indicators: a fixed number of queries, nothing decrypted, the right shares."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils.timezone import localdate

from liaison.expertise.indicators import expertise_indicators, percentile
from liaison.models import ExpertiseRequest
from tests.expertise.conftest import API
from tests.expertise.test_alerts_and_billing import answered
from tests.expertise.test_api_loop import sent_request

pytestmark = pytest.mark.django_db
# PostgreSQL computes the percentiles in the grouped query; SQLite reads the times once more.
QUERIES = 1 if connection.vendor == "postgresql" else 2


def period() -> tuple:
    today = localdate()
    return today.replace(day=1) - timedelta(days=40), today


def test_a_fixed_number_of_queries_for_one_request_or_many(
    client_for, demo, dermatologie, derm, django_assert_num_queries
) -> None:
    gp = demo["dr.martin"]
    code = answered(client_for, gp, derm, dermatologie)
    with django_assert_num_queries(QUERIES):
        rows = expertise_indicators(*period())
    assert len(rows) == 1
    for _ in range(3):
        sent_request(client_for, gp, dermatologie)
    client_for(gp).post(f"{API}{code}/referral/")
    second = answered(client_for, gp, derm, dermatologie)
    ExpertiseRequest.objects.filter(sheet__code=second).update(consultation="routine")
    with django_assert_num_queries(QUERIES):
        rows = expertise_indicators(*period())
    (row,) = rows
    assert row.specialty_label == "Dermatologie"
    assert row.requests == 5
    assert row.answered == 2
    assert row.within_delay == 1.0
    assert row.avoided_consultation == 0.5
    assert row.turned_into_referral == 0.5
    assert row.median_hours is not None


def test_percentiles_interpolate() -> None:
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    assert percentile([10.0], 0.9) == 10.0
    assert percentile([], 0.5) is None


def test_the_coordinator_sees_them(client, demo, dermatologie, derm, client_for) -> None:
    answered(client_for, demo["dr.martin"], derm, dermatologie)
    client.force_login(demo["coord"].user)
    page = client.get("/indicateurs/").content.decode()
    assert 'id="expertise-indicators"' in page
    assert "Dermatologie" in page
