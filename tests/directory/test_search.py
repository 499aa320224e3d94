"""Directory search that finds people as they are typed (issue #16).

"helene" did not find Hélène, a structure's name did not find its professionals, and the
structure type emptied the list of professionals instead of narrowing it.
"""

from __future__ import annotations

import pytest
from django.test import Client

from directory.models import Member, Organisation
from tests.factories import MemberFactory, OrganisationFactory, member_in

pytestmark = pytest.mark.django_db


def names(client: Client, query: str) -> list[str]:
    return [m.display_name for m in client.get(f"/annuaire/?{query}").context["members_page"]]


@pytest.fixture
def gp(client: Client, demo: dict[str, Member]) -> Client:
    client.force_login(demo["dr.martin"].user)
    return client


@pytest.mark.parametrize("typed", ["helene", "HELENE", "Hélène bernard", "hÉlÈne"])
def test_search_is_accent_and_case_blind(gp, typed: str) -> None:
    assert names(gp, f"q={typed}") == ["Hélène Bernard"]


def test_a_structure_name_finds_its_professionals(gp) -> None:
    assert names(gp, "q=pharmacie loire") == ["Marc Durand"]
    assert set(names(gp, "q=cardiologie")) == {"Sophie Lambert", "Nadia Garnier"}
    # The hospital's name finds the people of its services.
    hospital = Organisation.objects.get(kind="hospital").name
    assert "Paul Rousseau" in names(gp, f"q={hospital.split()[0]}")


def test_organisations_are_found_without_their_accents(gp) -> None:
    organisations = gp.get("/annuaire/?q=medecine interne").context["organisations"]
    assert [o.name for o in organisations] == ["Médecine interne"]


def test_profession_and_structure_type_narrow_together(gp) -> None:
    pharmacy = OrganisationFactory(kind=Organisation.Kind.PHARMACY, name="Pharmacie du Port")
    member_in(pharmacy, profession=Member.Profession.NURSE, family_name="Vasseur")

    nurses_in_pharmacies = names(gp, "profession=infirmier&kind=pharmacy")
    assert [n.split()[-1] for n in nurses_in_pharmacies] == ["Vasseur"]
    assert names(gp, "profession=pharmacien&kind=pharmacy") == ["Marc Durand"]
    assert names(gp, "kind=social_service") == ["Inès Moreau"]


def test_the_api_search_is_accent_blind_too(client_for, demo) -> None:
    body = client_for(demo["dr.martin"]).get("/api/v1/members/?search=helene").json()
    assert [m["display_name"] for m in body["results"]] == ["Hélène Bernard"]


def test_a_renamed_member_is_found_by_the_new_name(gp, demo) -> None:
    member = MemberFactory(given_name="Zoé", family_name="Aubert")
    member.family_name = "Évrard"
    member.save(update_fields=["family_name"])
    assert "Zoé Évrard" in names(gp, "q=evrard")


def test_profession_labels_agree_with_the_person(gp, demo) -> None:
    page = gp.get("/annuaire/?q=petit").content.decode()
    assert "Infirmière" in page  # Julie Petit: the directory knows
    unknown = MemberFactory(profession=Member.Profession.NURSE, family_name="Xavier")
    assert unknown.profession_label == "Infirmier"  # not known: the list's label
    man = MemberFactory(profession=Member.Profession.PHARMACIST, civility="m")
    assert man.profession_label == "Pharmacien"
    body = gp.get(f"/annuaire/membres/{demo['ide.petit'].code}/").content.decode()
    assert "Infirmière" in body
