"""The home page is a dashboard: counts of what waits, each linking to its list."""

from __future__ import annotations

import re
from datetime import date

import pytest

from liaison.services import discharge, drafts, transitions
from tests.liaison.conftest import discharge_content

pytestmark = pytest.mark.django_db
COUNT = re.compile(
    r'data-count="(\w+)">\s*<a href="([^"]+)"><span class="dashboard-count">(\d+)</span>'
)


def dashboard(client, member) -> dict[str, tuple[str, int]]:
    client.force_login(member.user)
    body = client.get("/").content.decode()
    return {key: (url.replace("&amp;", "&"), int(n)) for key, url, n in COUNT.findall(body)}


def test_the_hospital_sees_what_to_receive_accept_and_write(client, demo, make_referral):
    cardio = demo["hop.cardio"]
    make_referral()
    make_referral()
    received = make_referral()
    transitions.transition_referral(actor=cardio, sheet=received, action="receive")
    accepted = make_referral()
    transitions.transition_referral(
        actor=cardio, sheet=accepted, action="accept", planned_date=date(2026, 12, 20)
    )

    counts = dashboard(client, cardio)

    assert counts["to_receive"] == ("/liaison/?kind=referral&status=sent", 2)
    assert counts["to_accept"][1] == 1
    assert counts["letters_to_write"][1] == 1
    # Each count is what its link lists.
    listed = client.get(counts["to_receive"][0]).content.decode()
    assert listed.count('data-sheet="') == 2


def test_the_gp_sees_unread_letters_until_opened(client, demo, make_referral):
    cardio = demo["hop.cardio"]
    letter = discharge.start_discharge_letter(actor=cardio, referral=make_referral())
    letter = drafts.update_draft(
        actor=cardio, sheet=letter, expected_version=letter.version, content=discharge_content()
    )
    letter = transitions.send_sheet(actor=cardio, sheet=letter)
    gp = demo["dr.martin"]

    url, unread = dashboard(client, gp)["letters_unread"]
    assert unread == 1
    assert str(letter.code) in client.get(url).content.decode()
    client.get(f"/liaison/{letter.code}/")

    assert dashboard(client, gp)["letters_unread"][1] == 0


def test_the_home_page_has_the_primary_actions(client, demo) -> None:
    client.force_login(demo["dr.martin"].user)

    body = client.get("/").content.decode()

    assert 'href="/liaison/nouvelle/"' in body
    assert 'href="/messagerie/nouvelle/"' in body
    assert "Vos structures" in body


def test_the_counts_take_a_fixed_number_of_queries(
    client, demo, make_referral, django_assert_num_queries
) -> None:
    client.force_login(demo["hop.cardio"].user)
    client.get("/")  # warm the session
    # session, user, member with its organisations (one query), its participations, the
    # liaison counts (one aggregate), unread messages, protocols to acknowledge, the
    # member's structures (member, memberships), the header's notifications (count,
    # latest) and the 2FA check
    with django_assert_num_queries(12):
        client.get("/")
    for _ in range(5):
        make_referral()
    # The header now names the sheets its notifications are about: one query for all five.
    with django_assert_num_queries(12 + 1):
        response = client.get("/")
    assert dashboard(client, demo["hop.cardio"])["to_receive"][1] == 5
    assert response.status_code == 200
