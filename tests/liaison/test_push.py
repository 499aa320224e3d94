"""A sheet's send and state changes are pushed to those who may see it (worker/push/)."""

from __future__ import annotations

import pytest

from liaison.selectors import access_sheet
from liaison.services.transitions import _audience, transition_referral
from tests.push_server import read, start
from worker import push

pytestmark = pytest.mark.django_db


def test_a_state_change_reaches_both_sides_and_not_a_stranger(
    demo, make_referral, django_capture_on_commit_callbacks
) -> None:
    cardio = demo["hop.cardio"]
    sheet = make_referral()
    loaded = access_sheet(cardio, sheet.code)
    audience = _audience(loaded)
    stranger = push.member_topic(demo["pharma.durand"].pk)
    cursor = start(*audience, stranger)
    with django_capture_on_commit_callbacks(execute=True):
        transition_referral(actor=cardio, sheet=loaded, action="receive")
    # The author is also told by a notification (its own event); here, the sheet's.
    events = [event for event in read(cursor) if event.payload["type"] == "sheet"]
    assert {event.topic for event in events} == set(audience)
    assert stranger not in audience
    assert len({event.event_id for event in events}) == 1  # one publication, several topics
    assert events[0].public_payload == {
        "type": "sheet",
        "sheet": str(sheet.code),
        "status": "received",
    }


def test_its_audience_is_who_may_see_it(demo, make_referral, cardiologie) -> None:
    loaded = access_sheet(demo["dr.martin"], make_referral().code)
    assert set(_audience(loaded)) == {
        push.member_topic(demo["dr.martin"].pk),  # the author
        push.organisation_topic(loaded.sender_organisation_id),  # the practice
        push.organisation_topic(cardiologie.pk),  # the service's worklist
        push.member_topic(demo["ide.petit"].pk),  # the named participant
    }


def test_pushing_a_sheet_adds_no_query(demo, make_referral, django_assert_num_queries) -> None:
    loaded = access_sheet(demo["dr.martin"], make_referral().code)
    with django_assert_num_queries(0):
        topics = _audience(loaded)  # the participants come from what access_sheet loaded
        push.publish(topics=topics, kind="sheet", sheet=loaded.code, status=loaded.status)
