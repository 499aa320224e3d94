"""Pinned query counts: lists constant in page size, sending in a fixed number."""

from __future__ import annotations

import pytest

from directory.services import issue_api_token
from liaison.models import LiaisonSheet

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


@pytest.fixture
def cardio_api(api_client, demo):
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {issue_api_token(user=demo['hop.cardio'].user)}"
    )
    return api_client


def test_the_inbox_lists_in_a_constant_number_of_queries(
    cardio_api, make_referral, django_assert_num_queries
) -> None:
    for _ in range(3):
        make_referral()
    # token with its member and organisations (one query), its participations, count, the
    # page's ids in triage order (a narrow query: liaison.selectors.TriagedList), the page,
    # participants, and the audit entry of the list read (lock the chain head, insert, move
    # the head)
    with django_assert_num_queries(9):
        small = cardio_api.get(f"{API}?box=inbox&page_size=2")
    for _ in range(12):
        make_referral()
    with django_assert_num_queries(9):
        large = cardio_api.get(f"{API}?box=inbox&page_size=15")
    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) == 15


def test_sending_takes_a_fixed_number_of_queries(
    api_client, demo, make_referral, django_assert_max_num_queries
) -> None:
    api_client.credentials(
        HTTP_AUTHORIZATION=f"Token {issue_api_token(user=demo['dr.martin'].user)}"
    )
    draft = make_referral(send=False)
    with django_assert_max_num_queries(45) as captured:
        response = api_client.post(f"{API}{draft.code}/send/")
    assert response.status_code == 200
    first = len(captured.captured_queries)
    other = make_referral(send=False)
    with django_assert_max_num_queries(first) as captured_again:
        api_client.post(f"{API}{other.code}/send/")
    assert len(captured_again.captured_queries) == first
    assert LiaisonSheet.objects.filter(status="sent").count() == 2
