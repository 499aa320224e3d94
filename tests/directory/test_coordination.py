"""The coordination of the CPTS: one rule (directory.selectors.is_coordinator), one cache.

"Coordinator" and "directory admin" were the same rule written five times, three of them
with their own cache on the member and one forgetting that a deactivated member coordinates
nothing. Every app now asks directory.selectors.
"""

from __future__ import annotations

import pytest

from directory import services as directory_services
from directory.models import Member, Membership, Organisation
from directory.selectors import coordinators, is_coordinator, require_coordinator
from liaison.outputs.selectors import require_coordinator as require_indicators_access
from protocols.selectors import protocols_visible_to
from security.exceptions import NotFound, PermissionDenied
from tests.factories import MemberFactory, MembershipFactory, OrganisationFactory, member_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def cpts(demo: dict[str, Member]) -> Organisation:
    return Organisation.objects.get(kind=Organisation.Kind.CPTS)


def test_the_coordination_is_the_active_admins_of_a_cpts(demo, cpts) -> None:
    member_in(OrganisationFactory(), role=Membership.Role.ADMIN)  # runs a practice, not the CPTS
    member_in(cpts)  # works for the CPTS, without the admin role
    member_in(cpts, role=Membership.Role.ADMIN, is_active=False)  # left

    assert coordinators() == [demo["coord"]]
    assert [m for m in Member.objects.all() if is_coordinator(m)] == [demo["coord"]]


def test_a_deactivated_coordinator_keeps_no_right_on_the_directory(demo) -> None:
    coord = Member.objects.get(pk=demo["coord"].pk)
    coord.is_active = False

    with pytest.raises(PermissionDenied):
        directory_services.create_organisation(
            actor=coord, name="Cabinet fantôme", kind=Organisation.Kind.CABINET
        )
    assert not Organisation.objects.filter(name="Cabinet fantôme").exists()


def test_every_app_asks_the_question_once_per_request(demo, django_assert_num_queries) -> None:
    coord, gp = (Member.objects.get(pk=demo[name].pk) for name in ("coord", "dr.martin"))

    with django_assert_num_queries(1):
        require_coordinator(coord, what="audit trail")
        require_indicators_access(coord)
        assert is_coordinator(coord)
    with django_assert_num_queries(1):
        protocols_visible_to(gp)  # asks whether gp coordinates, to build the queryset
        with pytest.raises(NotFound):
            require_indicators_access(gp)


def test_the_answer_is_not_kept_past_the_member_object(demo, cpts) -> None:
    """The cache lives on the object, which lives for one request: the next one sees a change."""
    member = MemberFactory()
    assert not is_coordinator(member)

    MembershipFactory(member=member, organisation=cpts, role=Membership.Role.ADMIN)

    assert is_coordinator(Member.objects.get(pk=member.pk))
