"""The demo CPTS loads idempotently and its identifiers pass their check digits."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from directory.identifiers import validate_finess, validate_rpps
from directory.models import Member, Membership, Organisation

pytestmark = pytest.mark.django_db


def test_it_loads_the_demo_twice_without_duplicates() -> None:
    call_command("load_demo")
    counts = (Organisation.objects.count(), Member.objects.count(), Membership.objects.count())
    call_command("load_demo")
    assert (
        Organisation.objects.count(),
        Member.objects.count(),
        Membership.objects.count(),
    ) == counts
    assert counts == (10, 11, 11)  # with Dermatologie and dr.derm (tele-expertise)


def test_every_demo_identifier_passes_its_check(demo: dict[str, Member]) -> None:
    rpps = [member.rpps for member in demo.values() if member.rpps]
    finess = [o.finess for o in Organisation.objects.exclude(finess="")]
    assert len(rpps) >= 7
    assert len(finess) >= 2
    for number in rpps:
        validate_rpps(number)
    for number in finess:
        validate_finess(number)


def test_the_demo_has_the_expected_structure(demo: dict[str, Member]) -> None:
    hospital = Organisation.objects.get(kind=Organisation.Kind.HOSPITAL)
    assert set(hospital.children.values_list("name", flat=True)) == {
        "Urgences", "Cardiologie", "Médecine interne", "Dermatologie",
    }  # fmt: skip
    assert Membership.objects.get(member=demo["coord"]).role == Membership.Role.ADMIN
    assert demo["dr.martin"].user.check_password("demo")
    assert demo["ide.petit"].profession == Member.Profession.NURSE


def test_demo_password_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DEMO_PASSWORD", "autre-secret")
    call_command("load_demo")
    assert Member.objects.get(user__username="dr.leroy").user.check_password("autre-secret")


def test_each_app_loads_its_own_demo_through_its_app_config() -> None:
    from liaison.models import LiaisonSheet
    from messaging.models import Conversation
    from protocols.models import Protocol
    from worker.models import Notification

    output = StringIO()
    call_command("load_demo", stdout=output)
    assert "liaison" in output.getvalue()
    assert "messaging" in output.getvalue()
    assert LiaisonSheet.objects.exists()
    assert Conversation.objects.exists()
    assert Protocol.objects.exists()
    assert Notification.objects.exists()
    command = Path(__file__).parent.parent / "directory/management/commands/load_demo.py"
    source = command.read_text()
    for app in ("liaison", "messaging", "protocols", "worker"):
        assert f"from {app}" not in source  # the ground floor does not point up
