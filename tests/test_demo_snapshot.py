"""The `demo` fixture replays a session snapshot: same demo, still isolated, still correct."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from directory.demo import load_directory
from directory.models import Member, Membership, Organisation, User
from events.models import Event, Registration
from liaison.models import LiaisonSheet
from messaging.models import Conversation
from protocols.models import OfficeHours, Protocol
from tests.conftest import load_full_demo
from tests.demo_snapshot import DemoSnapshot, take_snapshot
from tests.factories import MemberFactory, UserFactory
from worker.models import Notification

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


def _whole_demo_contents() -> tuple[object, ...]:
    """What the whole demo shows, encrypted columns read back through their fields."""
    return (
        _directory_contents(),
        sorted(LiaisonSheet.objects.values_list("kind", "status")),
        sorted(conversation.subject for conversation in Conversation.objects.all()),
        sorted(Protocol.objects.values_list("title", flat=True)),
        sorted(OfficeHours.objects.values_list("weekday", "starts_at", "ends_at")),
        Notification.objects.count(),
        sorted(Event.objects.values_list("kind", "title", "starts_at")),
        sorted(
            (status, present is not None, answered)
            for status, present, answered in Registration.objects.values_list(
                "status", "attended_at", "survey_answered"
            )
        ),
        sorted(str(event.patient) for event in Event.objects.filter(patient__isnull=False)),
    )


def test_the_replayed_whole_demo_is_what_load_demo_builds(
    full_demo_snapshot: DemoSnapshot,
) -> None:
    with transaction.atomic():
        load_full_demo()
        loaded = _whole_demo_contents()
        transaction.set_rollback(True)
    with transaction.atomic():
        full_demo_snapshot.replay()
        replayed = _whole_demo_contents()
        transaction.set_rollback(True)
    assert replayed == loaded
    _, sheets, subjects, protocols, hours, _, events, registrations, patients = loaded
    assert events
    assert registrations
    assert patients  # the case meeting's identity, read back through its encrypted field
    assert sheets
    assert subjects
    assert protocols
    assert hours  # `time` columns, which SQLite reads back in a type it cannot bind


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_gets_the_snapshot_committed(
    demo: dict[str, Member], demo_snapshot: DemoSnapshot
) -> None:
    assert {username: m.pk for username, m in demo.items()} == demo_snapshot.member_ids
    assert not connection.in_atomic_block  # committed: the live server and the worker see it
    assert Member.objects.get(user__username="hop.cardio") == demo["hop.cardio"]
    assert demo["coord"].user.check_password("demo")
