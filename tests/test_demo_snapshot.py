"""The `demo` fixture replays a session snapshot: same demo, still isolated, still correct."""

from __future__ import annotations

import pytest
from django.db import connection

from directory.demo import load_directory
from directory.models import Member, Membership, Organisation, User
from tests.demo_snapshot import DemoSnapshot, take_snapshot
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def _directory_contents() -> tuple[object, ...]:
    """The demo as a person reads it: what differs between two loads is left out."""
    return (
        sorted(Organisation.objects.values_list("name", "kind", "finess", "parent__name")),
        sorted(
            Member.objects.values_list(
                "user__username", "user__email", "family_name", "profession", "rpps", "is_active"
            )
        ),
        sorted(
            Membership.objects.values_list("member__user__username", "organisation__name", "role")
        ),
    )


def test_the_replayed_demo_is_the_loaded_demo(
    demo: dict[str, Member], demo_snapshot: DemoSnapshot
) -> None:
    replayed = _directory_contents()
    assert load_directory(password="demo").keys() == demo.keys()  # finds it all, adds nothing
    assert _directory_contents() == replayed
    assert list(demo) == list(demo_snapshot.member_ids)
    assert demo["dr.martin"].user.check_password("demo")
    assert [demo["coord"].memberships.get().role] == [Membership.Role.ADMIN]


def test_a_test_without_the_demo_does_not_see_it() -> None:
    assert not User.objects.exists()
    assert not Organisation.objects.exists()


def test_each_test_gets_its_own_member_instances(
    demo: dict[str, Member], demo_snapshot: DemoSnapshot
) -> None:
    again = demo_snapshot.members()
    assert again["dr.martin"] == demo["dr.martin"]
    assert again["dr.martin"] is not demo["dr.martin"]


def test_rows_written_after_the_replay_get_new_ids(demo: dict[str, Member]) -> None:
    member = MemberFactory()
    assert member.pk not in {m.pk for m in demo.values()}
    assert member.user.pk not in {m.user.pk for m in demo.values()}


def test_a_test_that_wrote_users_first_still_gets_the_demo(request: pytest.FixtureRequest) -> None:
    before = UserFactory(username="deja.la")
    demo = request.getfixturevalue("demo")
    assert User.objects.filter(pk=before.pk, username="deja.la").exists()
    assert Member.objects.filter(pk=demo["coord"].pk, user__username="coord").exists()


def test_a_demo_loader_that_changes_existing_rows_is_refused() -> None:
    organisation = Organisation.objects.create(name="Avant", kind=Organisation.Kind.MSP)

    def rename() -> dict[str, Member]:
        Organisation.objects.filter(pk=organisation.pk).update(name="Après")
        return {}

    with pytest.raises(RuntimeError, match="directory_organisation"):
        take_snapshot(rename)
    assert Organisation.objects.get(pk=organisation.pk).name == "Avant"  # rolled back


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_loads_the_demo_through_the_services(
    demo: dict[str, Member],
) -> None:
    assert not connection.in_atomic_block
    assert Member.objects.get(user__username="hop.cardio") == demo["hop.cardio"]
