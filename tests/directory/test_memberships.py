"""Changing an existing member's structures and roles (issue #16): the pages and the rules
of directory.services (coordination only, one structure at least, no self-lockout)."""

from __future__ import annotations

import pytest
from django.test import Client

from directory import services
from directory.models import Member, Membership, Organisation
from directory.selectors import is_coordinator
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from security.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def coord(client: Client, demo: dict[str, Member]) -> Client:
    client.force_login(demo["coord"].user)
    return client


def organisation(kind: str) -> Organisation:
    return Organisation.objects.get(kind=kind)


def held(member: Member) -> dict[str, str]:
    return {
        m.organisation.kind: m.role
        for m in Membership.objects.filter(member=member).select_related("organisation")
    }


def base(member: Member) -> str:
    return f"/annuaire/membres/{member.code}/"


def test_the_edit_page_lists_structures_and_offers_the_others(coord, demo) -> None:
    page = coord.get(base(demo["ide.petit"]) + "modifier/").content.decode()
    assert "Structures et rôles" in page
    assert "MSP des Tilleuls" in page
    assert 'id="membership-add-form"' in page
    assert "Retirer de cette structure" not in page  # her only structure: it stays


def test_the_coordinator_adds_a_structure_changes_a_role_and_ends_one(coord, demo) -> None:
    nurse = demo["ide.petit"]
    added = coord.post(
        base(nurse) + "structures/",
        {"organisation": str(organisation("pharmacy").code), "role": "member"},
    )
    assert added.status_code == 302
    assert held(nurse) == {"msp": "member", "pharmacy": "member"}
    pharmacy = organisation("pharmacy").code
    changed = coord.post(base(nurse) + f"structures/{pharmacy}/role/", {"role": "admin"})
    assert changed.status_code == 302
    assert held(nurse)["pharmacy"] == "admin"
    # Ending asks first (a page, or its box in a dialog), then ends.
    end = base(nurse) + f"structures/{organisation('msp').code}/retirer/"
    question = coord.get(end).content.decode()
    assert "Retirer Julie Petit de MSP des Tilleuls ?" in question
    assert held(nurse) == {"msp": "member", "pharmacy": "admin"}
    assert coord.post(end).status_code == 302
    assert held(nurse) == {"pharmacy": "admin"}
    actions = list(
        AuditEntry.objects.filter(target_code=nurse.code, action__startswith="membership.")
        .order_by("sequence")
        .values_list("action", flat=True)
    )
    assert actions == ["membership.add", "membership.change_role", "membership.end"]


def test_the_last_structure_stays(coord, demo) -> None:
    nurse = demo["ide.petit"]
    response = coord.post(base(nurse) + f"structures/{organisation('msp').code}/retirer/")
    assert response.status_code == 302
    assert held(nurse) == {"msp": "member"}
    page = coord.get(base(nurse) + "modifier/").content.decode()
    assert "Un membre garde au moins une structure : ajoutez-en une autre avant." in page


def test_a_structure_already_held_or_missing_is_a_400_said_on_the_field(coord, demo) -> None:
    nurse = demo["ide.petit"]
    again = coord.post(
        base(nurse) + "structures/",
        {"organisation": str(organisation("msp").code), "role": "member"},
    )
    assert again.status_code == 400
    assert "Ce membre appartient déjà à cette structure." in again.content.decode()
    empty = coord.post(base(nurse) + "structures/", {"organisation": "", "role": "admin"})
    assert empty.status_code == 400
    page = empty.content.decode()
    assert "Choisissez une structure." in page
    assert '<option value="admin" selected>' in page  # the role chosen is kept
    bad_role = coord.post(
        base(nurse) + "structures/",
        {"organisation": str(organisation("pharmacy").code), "role": "owner"},
    )
    assert bad_role.status_code == 400
    assert "Rôle inconnu" in bad_role.content.decode()
    assert held(nurse) == {"msp": "member"}


def test_the_coordinator_keeps_their_own_coordination(demo) -> None:
    coordinator = demo["coord"]
    cpts = Membership.objects.get(member=coordinator, organisation__kind="cpts")
    with pytest.raises(InvalidTransition):
        services.change_membership_role(actor=coordinator, membership=cpts, role="member")
    services.add_membership(
        actor=coordinator, member=coordinator, organisation=organisation("msp"), role="member"
    )
    with pytest.raises(InvalidTransition):
        services.end_membership(actor=coordinator, membership=cpts)
    assert is_coordinator(Member.objects.get(pk=coordinator.pk))


def test_only_the_coordination_changes_memberships(demo) -> None:
    gp = demo["dr.martin"]
    own = Membership.objects.get(member=gp)
    with pytest.raises(PermissionDenied):
        services.add_membership(
            actor=gp, member=gp, organisation=organisation("pharmacy"), role="member"
        )
    with pytest.raises(PermissionDenied):
        services.change_membership_role(actor=gp, membership=own, role="admin")
    with pytest.raises(PermissionDenied):
        services.end_membership(actor=gp, membership=own)


def test_a_resent_role_change_records_nothing(demo) -> None:
    nurse = demo["ide.petit"]
    own = Membership.objects.get(member=nurse)
    services.change_membership_role(actor=demo["coord"], membership=own, role="member")
    assert not AuditEntry.objects.filter(action="membership.change_role").exists()
    with pytest.raises(FieldErrors):
        services.change_membership_role(actor=demo["coord"], membership=own, role="")


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_membership_pages_are_404_for_anyone_else(client: Client, demo, method) -> None:
    client.force_login(demo["dr.martin"].user)
    nurse = demo["ide.petit"]
    msp = organisation("msp").code
    for url in (
        base(nurse) + "structures/",
        base(nurse) + f"structures/{msp}/role/",
        base(nurse) + f"structures/{msp}/retirer/",
    ):
        response = getattr(client, method)(url, {"organisation": str(msp), "role": "admin"})
        assert response.status_code == 404, url
    assert held(nurse) == {"msp": "member"}


class TestTheApi:
    def url(self, member: Member, organisation_code: object = None) -> str:
        tail = f"{organisation_code}/" if organisation_code else ""
        return f"/api/v1/members/{member.code}/organisations/{tail}"

    def test_the_same_rules_through_the_api(self, client_for, demo) -> None:
        nurse = demo["ide.petit"]
        api = client_for(demo["coord"])
        pharmacy, msp = organisation("pharmacy").code, organisation("msp").code
        added = api.post(self.url(nurse), {"id": str(pharmacy), "role": "member"}, format="json")
        assert added.status_code == 201
        assert {o["kind"] for o in added.json()["organisations"]} == {"msp", "pharmacy"}
        again = api.post(self.url(nurse), {"id": str(pharmacy)}, format="json")
        assert again.status_code == 400
        changed = api.patch(self.url(nurse, pharmacy), {"role": "admin"}, format="json")
        assert changed.status_code == 200
        assert api.delete(self.url(nurse, msp)).status_code == 204
        last = api.delete(self.url(nurse, pharmacy))
        assert last.status_code == 409
        assert held(nurse) == {"pharmacy": "admin"}
        assert api.delete(self.url(nurse, msp)).status_code == 404  # no longer held

    def test_a_member_may_not(self, client_for, demo) -> None:
        gp = demo["dr.martin"]
        response = client_for(gp).post(
            self.url(gp), {"id": str(organisation("pharmacy").code)}, format="json"
        )
        assert response.status_code == 403
        assert held(gp) == {"msp": "member"}
