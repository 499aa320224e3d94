"""Who works in an organisation today (directory.selectors.active_members_of): the read every
referral sent makes to tell its service, compiled once per thread and run with new values."""

from __future__ import annotations

import pytest

from directory.selectors import active_members_of
from tests.factories import HospitalServiceFactory, member_in

pytestmark = pytest.mark.django_db


def test_the_active_members_of_each_organisation_once_each_in_order() -> None:
    cardiology, pneumology = HospitalServiceFactory(), HospitalServiceFactory()
    first = member_in(cardiology)
    member_in(cardiology, is_active=False)  # left the CPTS
    lung = member_in(pneumology)
    both = member_in(pneumology)
    both.memberships.create(organisation=cardiology)
    last = member_in(cardiology)

    assert active_members_of(cardiology.pk) == [first, both, last]
    assert active_members_of(pneumology.pk) == [lung, both]  # the same read, other values
    assert active_members_of(HospitalServiceFactory().pk) == []
