"""GET /api/v1/audit/: the coordination looks up the trail; everyone else gets 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from directory.models import Member, Organisation
from directory.services import issue_api_token
from security import actions
from security.audit import record, verify_chain, write_checkpoint
from security.models import AuditChainHead, AuditEntry
from tests.access import assert_hidden_from
from tests.audit_counts import AUDIT_ENTRY
from tests.factories import UserFactory
from tests.security.test_verify_audit import execute

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/"
SOME_CODE = "5f0c6f4e-0b8a-4c1e-9a53-2f1a4b6d7e80"


@pytest.fixture
def sheet_like(demo: dict[str, Member]) -> Organisation:
    """Any object with a public code stands in for a liaison sheet here."""
    return Organisation.objects.get(name="Cardiologie")


@pytest.fixture
def trail(demo: dict[str, Member], sheet_like: Organisation) -> list[AuditEntry]:
    """dr.martin touches the object twice, hop.cardio once, and dr.martin something else."""
    return [
        record(actor=demo["dr.martin"], action="organisation.read", target=sheet_like),
        record(actor=demo["hop.cardio"], action="organisation.read", target=sheet_like),
        record(
            actor=demo["dr.martin"],
            action="organisation.update",
            target=sheet_like,
            extra={"fields": ["phone"]},
        ),
        record(actor=demo["dr.martin"], action="member.read", target=demo["ide.petit"]),
    ]


def listed(response: object) -> list[tuple[str, str | None]]:
    rows = response.json()["results"]  # type: ignore[attr-defined]
    return [(row["action"], row["actor"]) for row in rows]


def test_it_lists_who_touched_an_object_newest_first(
    client_for, demo, sheet_like, trail: list[AuditEntry]
) -> None:
    response = client_for(demo["coord"]).get(URL, {"target": str(sheet_like.code)})

    assert response.status_code == 200
    martin, cardio = str(demo["dr.martin"].code), str(demo["hop.cardio"].code)
    assert listed(response) == [
        ("organisation.update", martin),
        ("organisation.read", cardio),
        ("organisation.read", martin),
    ]
    newest = response.json()["results"][0]
    assert newest == {
        "id": trail[2].pk,
        "created_at": newest["created_at"],
        "actor": martin,
        "actor_name": "Claire Martin",
        "action": "organisation.update",
        "target_type": "directory.organisation",
        "target": str(sheet_like.code),
        "ip": "",
        "user_agent": "",
        "extra": {"fields": ["phone"]},
    }


def test_it_lists_what_a_member_did(client_for, demo, trail: list[AuditEntry]) -> None:
    martin = demo["dr.martin"]

    response = client_for(demo["coord"]).get(URL, {"actor": str(martin.code)})

    assert [row["id"] for row in response.json()["results"]] == [
        trail[3].pk,
        trail[2].pk,
        trail[0].pk,
    ]


def test_it_combines_target_and_actor(client_for, demo, sheet_like, trail) -> None:
    query = {"target": str(sheet_like.code), "actor": str(demo["hop.cardio"].code)}

    response = client_for(demo["coord"]).get(URL, query)

    assert [row["id"] for row in response.json()["results"]] == [trail[1].pk]


def test_it_records_the_listing_with_the_callers_address(
    api_client: APIClient, demo, sheet_like, trail
) -> None:
    api_client.force_authenticate(demo["coord"].user)

    api_client.get(
        URL, {"target": str(sheet_like.code)}, HTTP_USER_AGENT="Firefox", REMOTE_ADDR="192.0.2.9"
    )

    entry = AuditEntry.objects.get(action=actions.AUDIT_LIST)
    assert entry.actor == demo["coord"]
    assert entry.target_code is None
    assert entry.extra == {"target": str(sheet_like.code)}
    assert (entry.ip, entry.user_agent) == ("192.0.2.9", "Firefox")
    assert verify_chain().ok


def test_it_shows_the_listing_in_the_coordinators_own_trail(client_for, demo) -> None:
    coord = demo["coord"]

    response = client_for(coord).get(URL, {"actor": str(coord.code)})

    assert listed(response) == [(actions.AUDIT_LIST, str(coord.code))]


def test_it_requires_a_target_or_an_actor(client_for, demo) -> None:
    response = client_for(demo["coord"]).get(URL)

    assert response.status_code == 400
    assert set(response.json()) == {"target", "actor"}
    assert not AuditEntry.objects.filter(action=actions.AUDIT_LIST).exists()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("target=not-a-uuid", "target"),
        ("actor=42", "actor"),
        (f"tagret={SOME_CODE}", "tagret"),
        (f"target={SOME_CODE}&page=abc", "page"),
        (f"target={SOME_CODE}&page_size=0", "page_size"),
    ],
)
def test_it_answers_400_naming_the_parameter(client_for, demo, query, parameter) -> None:
    response = client_for(demo["coord"]).get(f"{URL}?{query}")

    assert response.status_code == 400
    assert parameter in response.json()


def test_it_hides_the_trail_from_everyone_but_the_coordination(client_for, demo, trail) -> None:
    others = [member for username, member in demo.items() if username != "coord"]
    target = trail[0].target_code

    assert_hidden_from(client_for, "get", f"{URL}?target={target}", others)
    # Even a malformed query: a 400 would tell them which parameters the endpoint takes.
    assert_hidden_from(client_for, "get", f"{URL}?tagret=x", others)
    assert_hidden_from(client_for, "get", URL, others)
    assert not AuditEntry.objects.filter(action=actions.AUDIT_LIST).exists()


def test_it_requires_an_authenticated_member(api_client: APIClient, demo) -> None:
    query = {"target": str(demo["ide.petit"].code)}
    assert api_client.get(URL, query).status_code == 401
    api_client.force_authenticate(UserFactory(is_superuser=True, is_staff=True))
    assert api_client.get(URL, query).status_code == 403  # an account, not a CPTS member


def test_it_paginates(client_for, demo, sheet_like, trail) -> None:
    client = client_for(demo["coord"])
    query = {"target": str(sheet_like.code), "page_size": 2}

    first = client.get(URL, query).json()
    second = client.get(URL, {**query, "page": 2}).json()

    assert first["count"] == 3
    assert [row["id"] for row in first["results"] + second["results"]] == [
        trail[2].pk,
        trail[1].pk,
        trail[0].pk,
    ]


def test_it_lists_in_a_constant_number_of_queries(
    api_client: APIClient, demo, sheet_like, django_assert_num_queries
) -> None:
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {issue_api_token(user=demo['coord'].user)}")
    query = {"target": str(sheet_like.code), "page_size": 50}
    record(actor=None, action="organisation.read", target=sheet_like)  # the chain head exists
    # token with its user, member and organisations, coordinator check in the view (cached
    # on the member: the selector's check is free), record the listing (tests/audit_counts.py),
    # count, page with actors
    with django_assert_num_queries(4 + AUDIT_ENTRY):
        api_client.get(URL, query)
    for member in demo.values():
        record(actor=member, action="organisation.read", target=sheet_like)
    with django_assert_num_queries(4 + AUDIT_ENTRY):
        response = api_client.get(URL, query)
    assert response.json()["count"] == 1 + len(demo)


def test_it_is_described_in_the_openapi_schema(api_client: APIClient) -> None:
    schema = api_client.get("/api/schema/?format=json").json()

    operation = schema["paths"][URL]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"target", "actor", "page", "page_size"}
    assert parameters["target"]["schema"] == {"type": "string", "format": "uuid"}
    assert "404" in operation["responses"]
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    row = schema["components"]["schemas"][page.rsplit("/", 1)[1]]["properties"]["results"]
    assert row["type"] == "array"


class TestAdmin:
    """The Django admin shows the trail read-only and finds entries by UUID."""

    @pytest.fixture
    def admin_client(self, db: None) -> Client:
        client = Client()
        client.force_login(UserFactory(is_superuser=True, is_staff=True))
        return client

    def test_it_lists_and_finds_entries_by_uuid(self, admin_client, demo, sheet_like, trail):
        changelist = "/admin/security/auditentry/"

        by_target = admin_client.get(changelist, {"q": str(sheet_like.code)})
        by_actor = admin_client.get(changelist, {"q": str(demo["hop.cardio"].code)})
        by_name = admin_client.get(changelist, {"q": "Lambert"})

        assert by_target.status_code == 200
        assert by_target.context["cl"].result_count == 3
        assert by_actor.context["cl"].result_count == 1
        assert by_name.context["cl"].result_count == 1

    def test_it_filters_by_action(self, admin_client, trail) -> None:
        response = admin_client.get("/admin/security/auditentry/", {"action": "member.read"})

        assert [entry.pk for entry in response.context["cl"].result_list] == [trail[3].pk]

    def test_it_is_read_only(self, admin_client, trail) -> None:
        entry = trail[0]

        assert admin_client.get("/admin/security/auditentry/add/").status_code == 403
        assert admin_client.get(f"/admin/security/auditentry/{entry.pk}/delete/").status_code == 403
        detail = admin_client.get(f"/admin/security/auditentry/{entry.pk}/change/")
        assert detail.status_code == 200
        assert not detail.context["has_change_permission"]
        posted = admin_client.post(
            f"/admin/security/auditentry/{entry.pk}/change/", {"action": "x.y"}
        )
        assert posted.status_code == 403
        assert AuditEntry.objects.get(pk=entry.pk).action == entry.action


class TestCheckpointStatus:
    """GET /api/v1/audit/checkpoint/: does the newest signed checkpoint still hold?"""

    URL = "/api/v1/audit/checkpoint/"

    @pytest.fixture(autouse=True)
    def checkpoint_dir(self, settings, tmp_path: Path) -> Path:
        settings.AUDIT_CHECKPOINT_DIR = tmp_path
        return tmp_path

    def test_it_says_when_no_checkpoint_was_written(self, client_for, demo, trail) -> None:
        response = client_for(demo["coord"]).get(self.URL)

        assert response.status_code == 200
        assert response.json() == {
            "ok": False,
            "detail": "Aucun point de contrôle valide du journal d'audit n'a été trouvé.",
            "problem": "no checkpoint has been written",
            "sequence": None,
            "checkpointed_at": None,
            "entries_since": 0,
        }

    def test_it_reports_the_newest_checkpoint_still_in_the_chain(
        self, client_for, demo, trail, sheet_like
    ) -> None:
        write_checkpoint()
        checkpoint, _path = write_checkpoint()
        record(actor=None, action="organisation.read", target=sheet_like)

        body = client_for(demo["coord"]).get(self.URL).json()

        assert body == {
            "ok": True,
            "detail": "Le dernier point de contrôle du journal d'audit est intact.",
            "problem": "",
            "sequence": 4,
            "checkpointed_at": checkpoint.checkpointed_at,
            "entries_since": 1,
        }

    def test_it_reports_a_chain_cut_back_before_the_checkpoint(
        self, client_for, demo, trail, sheet_like
    ) -> None:
        write_checkpoint()
        execute("DELETE FROM security_auditentry WHERE id > %s", [trail[1].pk])  # raw SQL
        AuditChainHead.objects.update(
            last_entry_id=trail[1].pk, last_hash=trail[1].hash, last_sequence=2
        )
        for _ in range(3):
            record(actor=None, action="organisation.read", target=sheet_like)

        body = client_for(demo["coord"]).get(self.URL).json()

        assert body["ok"] is False
        assert body["detail"].startswith("Le dernier point de contrôle ne correspond plus")
        assert "is no longer in the chain" in body["problem"]

    def test_it_is_hidden_from_everyone_but_the_coordination(self, client_for, demo) -> None:
        others = [member for username, member in demo.items() if username != "coord"]

        assert_hidden_from(client_for, "get", self.URL, others)


def test_it_lists_every_declared_action_with_its_label(client_for, demo) -> None:
    response = client_for(demo["coord"]).get(f"{URL}actions/")

    assert response.status_code == 200
    rows = {row["action"]: row["label"] for row in response.json()}
    assert rows["liaison_sheet.read"] == "Consultation d'une fiche de liaison"
    assert rows[actions.AUDIT_LIST] == "Consultation du journal d'audit"
    assert list(rows) == sorted(rows)
    assert not AuditEntry.objects.exists()  # the catalogue says nothing about anyone


def test_it_hides_the_list_of_actions_from_everyone_but_the_coordination(client_for, demo) -> None:
    others = [member for username, member in demo.items() if username != "coord"]
    assert_hidden_from(client_for, "get", f"{URL}actions/", others)
