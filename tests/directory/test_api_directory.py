"""The directory API: lists, filters, detail, writes and their validation."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from directory.identifiers import luhn_complete
from directory.models import Member, Organisation
from directory.services import issue_api_token
from tests.factories import MemberFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db


def usernames(response: object) -> set[str]:
    return {row["display_name"] for row in response.json()["results"]}  # type: ignore[attr-defined]


def test_it_requires_authentication(api_client: APIClient, demo: dict[str, Member]) -> None:
    assert api_client.get("/api/v1/members/").status_code == 401
    assert api_client.get("/api/v1/organisations/").status_code == 401


def test_it_lists_nurses_with_a_token(api_client: APIClient, demo: dict[str, Member]) -> None:
    token = api_client.post(
        "/api/v1/auth/token/", {"username": "dr.martin", "password": "demo"}, format="json"
    ).json()["token"]
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = api_client.get("/api/v1/members/?profession=infirmier")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [str(demo["ide.petit"].code)]
    assert rows[0]["profession"] == "infirmier"
    assert rows[0]["rpps"] == demo["ide.petit"].rpps
    assert rows[0]["organisations"][0]["name"] == "MSP des Tilleuls"


def test_it_refuses_a_wrong_password(api_client: APIClient, demo: dict[str, Member]) -> None:
    response = api_client.post(
        "/api/v1/auth/token/", {"username": "dr.martin", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert "token" not in response.json()


def test_it_searches_members_by_any_name(client_for, demo: dict[str, Member]) -> None:
    client = client_for(demo["dr.martin"])
    assert usernames(client.get("/api/v1/members/?search=petit")) == {"Julie Petit"}
    assert usernames(client.get("/api/v1/members/?search=JULIE")) == {"Julie Petit"}
    assert usernames(client.get("/api/v1/members/?search=claire martin")) == {"Claire Martin"}


def test_it_filters_members_by_organisation_and_commune(client_for, demo) -> None:
    client = client_for(demo["dr.martin"])
    cardiologie = Organisation.objects.get(name="Cardiologie")

    by_service = client.get(f"/api/v1/members/?organisation={cardiologie.code}")
    by_commune = client.get("/api/v1/members/?commune=gien&page_size=200")

    assert usernames(by_service) == {"Sophie Lambert", "Nadia Garnier"}
    assert usernames(by_commune) == {
        "Sophie Lambert",
        "Nadia Garnier",
        "Paul Rousseau",
        "Lucie Dubois",
    }


def test_it_filters_organisations(client_for, demo: dict[str, Member]) -> None:
    client = client_for(demo["ide.petit"])
    hospital = Organisation.objects.get(kind="hospital")

    services = client.get(f"/api/v1/organisations/?parent={hospital.code}").json()["results"]
    pharmacies = client.get("/api/v1/organisations/?kind=pharmacy").json()["results"]
    found = client.get("/api/v1/organisations/?search=tilleuls").json()["results"]

    assert {row["name"] for row in services} == {
        "Urgences",
        "Cardiologie",
        "Médecine interne",
        "Dermatologie",
    }
    assert all(row["parent"] == str(hospital.code) for row in services)
    assert [row["name"] for row in pharmacies] == ["Pharmacie de la Loire"]
    assert set(found[0]) >= {"id", "name", "kind", "finess", "parent"}


@pytest.mark.parametrize(
    "query",
    ["profesion=infirmier", "profession=astronaute", "page=abc", "page_size=0", "parent=xyz"],
)
def test_it_answers_400_to_bad_query_parameters(client_for, demo, query: str) -> None:
    endpoint = "organisations" if query.startswith("parent") else "members"
    response = client_for(demo["dr.martin"]).get(f"/api/v1/{endpoint}/?{query}")
    assert response.status_code == 400
    assert query.split("=", maxsplit=1)[0] in response.json()


def test_it_caps_page_size_at_200(client_for, demo: dict[str, Member]) -> None:
    for _ in range(201 - Member.objects.count()):
        MemberFactory()
    response = client_for(demo["dr.martin"]).get("/api/v1/members/?page_size=1000")
    assert response.status_code == 200
    assert response.json()["count"] == 201
    assert len(response.json()["results"]) == 200


def test_it_never_exposes_database_keys(client_for, demo: dict[str, Member]) -> None:
    row = client_for(demo["dr.martin"]).get("/api/v1/me/").json()
    assert row["id"] == str(demo["dr.martin"].code)
    assert str(demo["dr.martin"].pk) != row["id"]


def test_it_lists_members_in_a_constant_number_of_queries(
    api_client: APIClient, demo, django_assert_num_queries
) -> None:
    token = issue_api_token(user=demo["dr.martin"].user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    # token with its user, member and organisations, count, page, memberships with their
    # organisations
    with django_assert_num_queries(4):
        api_client.get("/api/v1/members/?page_size=5")
    for _ in range(20):
        MembershipFactory(organisation=OrganisationFactory())
    with django_assert_num_queries(4):
        response = api_client.get("/api/v1/members/?page_size=30")
    assert len(response.json()["results"]) == 30


def test_it_hides_inactive_members(client_for, demo: dict[str, Member]) -> None:
    gone = MemberFactory(is_active=False)
    response = client_for(demo["dr.martin"]).get(f"/api/v1/members/{gone.code}/")
    assert response.status_code == 404


def test_a_bare_account_without_member_profile_gets_403(api_client, demo) -> None:
    from tests.factories import UserFactory

    api_client.force_authenticate(UserFactory())
    assert api_client.get("/api/v1/members/").status_code == 403


class TestWrites:
    def test_the_coordinator_adds_an_organisation(self, client_for, demo) -> None:
        hospital = Organisation.objects.get(kind="hospital")
        response = client_for(demo["coord"]).post(
            "/api/v1/organisations/",
            {"name": "Gériatrie", "kind": "hospital_service", "parent": str(hospital.code)},
            format="json",
        )
        assert response.status_code == 201, response.json()
        created = Organisation.objects.get(code=response.json()["id"])
        assert created.parent == hospital

    def test_a_gp_cannot_change_the_directory(self, client_for, demo) -> None:
        response = client_for(demo["dr.martin"]).post(
            "/api/v1/organisations/", {"name": "X", "kind": "cabinet"}, format="json"
        )
        assert response.status_code == 403
        assert not Organisation.objects.filter(name="X").exists()

    def test_a_service_must_belong_to_a_hospital(self, client_for, demo) -> None:
        cabinet = Organisation.objects.get(kind="cabinet")
        response = client_for(demo["coord"]).post(
            "/api/v1/organisations/",
            {"name": "Orpheline", "kind": "hospital_service", "parent": str(cabinet.code)},
            format="json",
        )
        assert response.status_code == 400
        assert "parent" in response.json()

    def test_it_refuses_a_finess_with_a_wrong_key(self, client_for, demo) -> None:
        response = client_for(demo["coord"]).post(
            "/api/v1/organisations/",
            {"name": "Labo", "kind": "laboratory", "finess": "750803448"},
            format="json",
        )
        assert response.status_code == 400
        assert "finess" in response.json()

    @pytest.mark.parametrize("rpps", ["10101201234", "1234", "abcdefghijk"])
    def test_an_invalid_rpps_is_a_400_naming_the_field_on_every_write(
        self, client_for, demo, rpps: str
    ) -> None:
        gp = demo["dr.martin"]
        msp = Organisation.objects.get(kind="msp")
        new_member = {
            "username": "dr.neuf",
            "family_name": "Neuf",
            "given_name": "Noé",
            "profession": "medecin_generaliste",
            "rpps": rpps,
            "organisations": [{"id": str(msp.code)}],
        }
        writes = [
            (client_for(gp).patch, "/api/v1/me/", {"rpps": rpps}),
            (client_for(demo["coord"]).patch, f"/api/v1/members/{gp.code}/", {"rpps": rpps}),
            (client_for(demo["coord"]).post, "/api/v1/members/", new_member),
        ]
        for send, url, body in writes:
            response = send(url, body, format="json")
            assert response.status_code == 400, url
            assert "rpps" in response.json(), url
        gp.refresh_from_db()
        assert gp.rpps != rpps

    def test_the_coordinator_adds_a_member(self, client_for, demo) -> None:
        msp = Organisation.objects.get(kind="msp")
        rpps = luhn_complete("3000000001")
        response = client_for(demo["coord"]).post(
            "/api/v1/members/",
            {
                "username": "kine.roux",
                "family_name": "Roux",
                "given_name": "Léa",
                "profession": "masseur_kinesitherapeute",
                "rpps": rpps,
                "organisations": [{"id": str(msp.code), "role": "member"}],
            },
            format="json",
        )
        assert response.status_code == 201, response.json()
        assert response.json()["organisations"][0]["id"] == str(msp.code)
        assert Member.objects.get(rpps=rpps).user.username == "kine.roux"

    def test_it_refuses_a_duplicate_rpps(self, client_for, demo) -> None:
        response = client_for(demo["coord"]).post(
            "/api/v1/members/",
            {
                "username": "clone",
                "family_name": "Clone",
                "given_name": "Claire",
                "profession": "medecin_generaliste",
                "rpps": demo["dr.martin"].rpps,
            },
            format="json",
        )
        assert response.status_code == 400
        assert "rpps" in response.json()

    def test_a_member_updates_their_own_phone(self, client_for, demo) -> None:
        response = client_for(demo["ide.petit"]).patch(
            "/api/v1/me/", {"phone": "06 12 34 56 78"}, format="json"
        )
        assert response.status_code == 200
        demo["ide.petit"].refresh_from_db()
        assert demo["ide.petit"].phone == "06 12 34 56 78"

    def test_a_member_cannot_edit_a_colleague(self, client_for, demo) -> None:
        nurse = demo["ide.petit"]
        response = client_for(demo["dr.martin"]).patch(
            f"/api/v1/members/{nurse.code}/", {"phone": "00"}, format="json"
        )
        assert response.status_code == 403

    def test_malformed_json_is_a_400(self, client_for, demo) -> None:
        response = client_for(demo["coord"]).generic(
            "POST", "/api/v1/organisations/", "{not json", content_type="application/json"
        )
        assert response.status_code == 400
