"""The participants an access check or an inbox page loads behave as Django's prefetch.

They are read by compiled queries and left on each sheet as a prefetched relation whose
filter is built only when someone filters it further (liaison.selectors): reading them costs
no query, and filtering them further still reads that sheet's participants only.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from directory.models import Member
from liaison import selectors
from liaison.models import LiaisonSheet, SheetParticipant

pytestmark = pytest.mark.django_db


def test_an_accessed_sheet_holds_its_participants_like_a_prefetch(
    make_referral: Callable[..., LiaisonSheet],
    demo: dict[str, Member],
    django_assert_num_queries: Callable[..., object],
) -> None:
    other = make_referral()
    SheetParticipant.objects.create(
        sheet=other, member=demo["pharma.durand"], role=SheetParticipant.Role.COPY
    )
    sheet = make_referral()

    accessed = selectors.access_sheet(demo["hop.cardio"], sheet.code)

    with django_assert_num_queries(0):
        participants = list(accessed.participants.all())
        assert [p.member.pk for p in participants] == [demo["ide.petit"].pk]
        assert all(p.sheet is accessed for p in participants)
    further = accessed.participants.all().filter(role=SheetParticipant.Role.COPY)
    assert [p.member_id for p in further] == [demo["ide.petit"].pk]  # not the other sheet's


def test_an_inbox_page_holds_each_sheet_s_own_participants(
    make_referral: Callable[..., LiaisonSheet],
    demo: dict[str, Member],
    django_assert_num_queries: Callable[..., object],
) -> None:
    first, second = make_referral(), make_referral()
    SheetParticipant.objects.create(
        sheet=second, member=demo["pharma.durand"], role=SheetParticipant.Role.COPY
    )
    member = demo["hop.cardio"]

    with django_assert_num_queries(2):  # the page's sheets, then all their participants
        page = selectors.triaged_page([first.pk, second.pk], member)
    assert selectors.triaged_page([], member) == []

    by_code = {sheet.code: sheet for sheet in page}
    with django_assert_num_queries(0):
        first_members = [p.member_id for p in by_code[first.code].participants.all()]
        second_members = [p.member_id for p in by_code[second.code].participants.all()]
    assert first_members == [demo["ide.petit"].pk]
    assert second_members == [demo["ide.petit"].pk, demo["pharma.durand"].pk]
    further = by_code[first.code].participants.all().filter(member=demo["pharma.durand"])
    assert list(further) == []
