"""The coordinator keeps the directory from the pages and the API (issue #16).

Today only the CSV import added members, /admin/ refused the coordinator, the API's
deactivation answered 404 and reactivation was impossible.
"""

from __future__ import annotations

import pytest
from django.test import Client

from directory.identifiers import luhn_complete
from directory.models import Member, Membership, Organisation
from security.models import AuditEntry

pytestmark = pytest.mark.django_db

NEW = "/annuaire/membres/nouveau/"


def form(**overrides: str) -> dict[str, str]:
    msp = Organisation.objects.get(kind="msp")
    return {
        "key": "f" * 32,
        "given_name": "Léa",
        "family_name": "Roux",
        "profession": "masseur_kinesitherapeute",
        "rpps": luhn_complete("3000000001"),
        "username": "kine.roux",
        "email": "lea.roux@example.org",
        "organisation": str(msp.code),
        "role": "member",
        **overrides,
    }


@pytest.fixture
def coord(client: Client, demo: dict[str, Member]) -> Client:
    client.force_login(demo["coord"].user)
    return client


def test_the_coordinator_adds_a_member_with_structure_and_role(coord, demo) -> None:
    assert coord.get("/annuaire/").content.decode().count(NEW) == 1
    assert "Structure d'exercice" in coord.get(NEW).content.decode()

    response = coord.post(NEW, form())

    added = Member.objects.get(user__username="kine.roux")
    assert response.status_code == 302
    assert response["Location"] == f"/annuaire/membres/{added.code}/"
    assert added.get_profession_display() == "Masseur-kinésithérapeute"
    assert added.user.email == "lea.roux@example.org"
    assert not added.user.has_usable_password()
    membership = added.memberships.get()
    assert (membership.organisation.kind, membership.role) == ("msp", Membership.Role.MEMBER)
    entry = AuditEntry.objects.get(action="member.create")
    assert (entry.actor_id, entry.target_code) == (demo["coord"].pk, added.code)


def test_a_double_click_adds_the_member_once(coord) -> None:
    first = coord.post(NEW, form())
    second = coord.post(NEW, form())
    assert first["Location"] == second["Location"]
    assert Member.objects.filter(user__username="kine.roux").count() == 1


def test_an_rpps_with_a_wrong_check_digit_is_refused_and_the_form_kept(coord) -> None:
    good = luhn_complete("3000000001")
    wrong = good[:-1] + str((int(good[-1]) + 1) % 10)

    response = coord.post(NEW, form(rpps=wrong))

    page = response.content.decode()
    assert response.status_code == 400
    assert "clé de contrôle (Luhn) du numéro RPPS est incorrecte" in page
    assert 'value="Roux"' in page
    assert 'value="kine.roux"' in page
    assert not Member.objects.filter(user__username="kine.roux").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("organisation", "", "Choisissez la structure"),
        ("profession", "astronaute", "pas un choix valide"),
        ("family_name", "", "Ce champ ne peut être vide"),
        ("username", "dr.martin", "identifiant est déjà utilisé"),
    ],
)
def test_bad_input_is_a_400_said_next_to_its_field(coord, field, value, message) -> None:
    response = coord.post(NEW, form(**{field: value}))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert f'id="err_{field}"' in response.content.decode()
    assert not Member.objects.filter(user__username="kine.roux").exists()


def test_the_coordinator_edits_a_member(coord, demo) -> None:
    nurse = demo["ide.petit"]
    url = f"/annuaire/membres/{nurse.code}/modifier/"
    values = {**{k: v for k, v in form().items() if k not in ("username", "organisation")}}
    values.update(given_name="Julie", family_name="Petit-Durand", profession="infirmier")
    values["rpps"] = nurse.rpps

    response = coord.post(url, values)

    assert response.status_code == 302
    nurse.refresh_from_db()
    assert nurse.family_name == "Petit-Durand"
    assert nurse.user.email == "lea.roux@example.org"
    assert AuditEntry.objects.filter(action="member.edit", target_code=nurse.code).exists()


def test_deactivation_asks_first_then_closes_the_account_and_reactivation_reopens_it(
    coord, demo, client: Client
) -> None:
    nurse = demo["ide.petit"]
    detail = f"/annuaire/membres/{nurse.code}/"

    confirmation = coord.get(f"{detail}desactiver/")
    assert "Oui, désactiver" in confirmation.content.decode()
    assert Member.objects.get(pk=nurse.pk).is_active  # asking changed nothing

    coord.post(f"{detail}desactiver/")
    assert not Member.objects.get(pk=nurse.pk).is_active
    assert AuditEntry.objects.filter(action="member.deactivate", target_code=nurse.code).exists()
    page = coord.get(detail).content.decode()
    assert "Compte désactivé" in page
    assert "Réactiver ce membre" in page
    assert "PETIT Julie" in coord.get("/annuaire/").content.decode()  # listed as deactivated

    assert coord.post(f"{detail}desactiver/").status_code == 409  # twice: the state forbids

    coord.post(f"{detail}reactiver/")
    assert Member.objects.get(pk=nurse.pk).is_active
    assert AuditEntry.objects.filter(action="member.reactivate", target_code=nurse.code).exists()


def test_the_coordinator_cannot_deactivate_themselves(coord, demo) -> None:
    response = coord.post(f"/annuaire/membres/{demo['coord'].code}/desactiver/")
    assert response.status_code == 409
    assert Member.objects.get(pk=demo["coord"].pk).is_active


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_page_of_it_is_a_404_for_anyone_else(client: Client, demo, method) -> None:
    client.force_login(demo["dr.martin"].user)
    nurse = demo["ide.petit"]
    for url in (
        NEW,
        f"/annuaire/membres/{nurse.code}/modifier/",
        f"/annuaire/membres/{nurse.code}/desactiver/",
        f"/annuaire/membres/{nurse.code}/reactiver/",
    ):
        assert getattr(client, method)(url, form()).status_code == 404, url
    assert Member.objects.get(pk=nurse.pk).is_active
    assert not Member.objects.filter(user__username="kine.roux").exists()
    assert NEW not in client.get("/annuaire/").content.decode()


def test_a_deactivated_member_is_a_404_for_members(client: Client, demo) -> None:
    nurse = Member.objects.get(pk=demo["ide.petit"].pk)
    Member.objects.filter(pk=nurse.pk).update(is_active=False)
    client.force_login(demo["dr.martin"].user)
    assert client.get(f"/annuaire/membres/{nurse.code}/").status_code == 404


class TestTheApi:
    def test_the_coordinator_deactivates_and_reactivates_a_member(self, client_for, demo) -> None:
        api = client_for(demo["coord"])
        url = f"/api/v1/members/{demo['ide.petit'].code}/"

        off = api.patch(url, {"is_active": False}, format="json")
        assert off.status_code == 200, off.json()
        assert off.json()["is_active"] is False
        # PATCH sets a state: said twice, it stays so, and closes the account once.
        assert api.patch(url, {"is_active": False}, format="json").status_code == 200
        assert AuditEntry.objects.filter(action="member.deactivate").count() == 1

        on = api.patch(url, {"is_active": True}, format="json")
        assert on.status_code == 200, on.json()
        assert on.json()["is_active"] is True
        actions = AuditEntry.objects.filter(target_code=demo["ide.petit"].code)
        assert {"member.deactivate", "member.reactivate"} <= set(
            actions.values_list("action", flat=True)
        )

    def test_a_gp_may_neither_deactivate_nor_see_a_deactivated_member(
        self, client_for, demo
    ) -> None:
        url = f"/api/v1/members/{demo['ide.petit'].code}/"
        assert client_for(demo["dr.martin"]).patch(url, {"is_active": False}).status_code == 403
        Member.objects.filter(pk=demo["ide.petit"].pk).update(is_active=False)
        assert client_for(demo["dr.martin"]).get(url).status_code == 404

    def test_an_idempotency_key_adds_the_member_once(self, client_for, demo) -> None:
        msp = Organisation.objects.get(kind="msp")
        body = {
            "username": "kine.roux",
            "family_name": "Roux",
            "given_name": "Léa",
            "profession": "masseur_kinesitherapeute",
            "organisations": [{"id": str(msp.code)}],
        }
        api = client_for(demo["coord"])
        first = api.post("/api/v1/members/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        again = api.post("/api/v1/members/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
        assert (first.status_code, again.status_code) == (201, 201)
        assert first.json()["id"] == again.json()["id"]
        assert again["Idempotent-Replayed"] == "true"
