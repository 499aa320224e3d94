"""Patients included in a protocol (D4011-4-2): who includes, who sees whom, the dates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils.timezone import localdate

from protocols.models import Inclusion, Protocol
from protocols.selectors import monthly_inclusion_counts
from protocols.services import lifecycle, participation
from security.models import AuditEntry

pytestmark = pytest.mark.django_db

PATIENT = {
    "birth_family_name": "Lefèvre",
    "given_names": "Jeanne",
    "birth_date": "1941-05-12",
    "sex": "F",
}


def inclusions_url(protocol: Protocol, suffix: str = "") -> str:
    return f"/api/v1/protocols/{protocol.code}/inclusions/{suffix}"


def body(**overrides) -> dict:
    today = localdate().isoformat()
    return {
        "patient": PATIENT,
        "included_on": today,
        "informed_on": today,
        "consent": True,
        **overrides,
    }


@pytest.fixture
def in_force(demo, published) -> Protocol:
    """A cooperation protocol in force: ide.petit trained délégué, dr.martin délégant."""
    protocol = published().protocol
    participation.register_participant(
        actor=demo["ide.petit"],
        protocol=protocol,
        member=demo["ide.petit"],
        role="delegate",
        training_declared=True,
    )
    participation.register_participant(
        actor=demo["dr.martin"], protocol=protocol, member=demo["dr.martin"], role="delegant"
    )
    return protocol


def include(client_for, member, protocol, **overrides):
    return client_for(member).post(inclusions_url(protocol), body(**overrides), format="json")


def test_a_delegate_includes_a_patient_stored_encrypted_and_audited(
    demo, client_for, in_force
) -> None:
    response = include(client_for, demo["ide.petit"], in_force)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["patient"]["birth_family_name"] == "Lefèvre"
    assert data["included_by"]["display_name"] == "Julie Petit"
    assert data["informed_by"]["display_name"] == "Julie Petit"
    assert data["ongoing"] is True
    assert data["version"] == 1
    inclusion = Inclusion.objects.get()
    assert inclusion.patient["birth_family_name"] == "Lefèvre"  # decrypted by the field
    assert inclusion.birth_name_index  # the blind index of the name with the birth date
    with connection.cursor() as cursor:
        cursor.execute("SELECT patient FROM protocols_inclusion")
        stored = cursor.fetchone()[0]
    assert "Lef" not in str(stored)  # encrypted at rest
    assert AuditEntry.objects.filter(
        action="protocol_inclusion.create", target_code=inclusion.code
    ).exists()


def test_the_same_idempotency_key_creates_one_inclusion(demo, client_for, in_force) -> None:
    client = client_for(demo["ide.petit"])
    first = client.post(inclusions_url(in_force), body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = client.post(inclusions_url(in_force), body(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert Inclusion.objects.count() == 1


@pytest.mark.parametrize("username", ["dr.martin", "pharma.durand", "coord"])
def test_only_a_registered_delegate_includes(demo, client_for, in_force, username) -> None:
    response = include(client_for, demo[username], in_force)
    assert response.status_code == 403
    assert not Inclusion.objects.exists()


def test_a_protocol_not_in_force_takes_no_inclusion(demo, client_for, in_force) -> None:
    lifecycle.retire_version(actor=demo["coord"], version=in_force.current_version)
    response = include(client_for, demo["ide.petit"], in_force)
    assert response.status_code == 409
    assert response.json()["status"] == "retired"


def test_a_draft_protocol_is_404_to_a_member_outside_it(demo, client_for, make_protocol) -> None:
    protocol = make_protocol()
    response = include(client_for, demo["ide.petit"], protocol)
    assert response.status_code == 404


def tomorrow() -> str:
    """Read when the test runs, not when pytest collects it (a run may cross midnight)."""
    return (localdate() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"patient": {"given_names": "Jeanne"}}, "patient.birth_family_name"),
        ({"patient": {**PATIENT, "birth_date": None}}, "patient.birth_date"),
        ({"patient": {**PATIENT, "birth_place_insee": "20123"}}, "patient.birth_place_insee"),
        ({"included_on": tomorrow}, "included_on"),
        (
            {"informed_on": localdate().isoformat(), "included_on": "2026-01-01"},
            "informed_on",
        ),
        ({"consent": False}, "consent"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(demo, client_for, in_force, overrides, field) -> None:
    overrides = {key: value() if callable(value) else value for key, value in overrides.items()}
    response = include(client_for, demo["ide.petit"], in_force, **overrides)
    assert response.status_code == 400, response.json()
    assert field in str(response.json())
    assert not Inclusion.objects.exists()


def test_identities_are_seen_by_the_includer_and_managers_counts_by_others(
    demo, client_for, in_force
) -> None:
    created = include(client_for, demo["ide.petit"], in_force).json()
    detail = inclusions_url(in_force, f"{created['id']}/")
    for username in ("ide.petit", "coord"):
        listed = client_for(demo[username]).get(inclusions_url(in_force)).json()
        assert [row["id"] for row in listed["results"]] == [created["id"]]
        assert client_for(demo[username]).get(detail).status_code == 200
    # The délégant and any other member see counts only: the list is empty, the detail 404.
    for username in ("dr.martin", "pharma.durand"):
        assert client_for(demo[username]).get(inclusions_url(in_force)).json()["results"] == []
        assert client_for(demo[username]).get(detail).status_code == 404
        counts = client_for(demo[username]).get(inclusions_url(in_force, "counts/")).json()
        assert (counts["total"], counts["ongoing"], counts["ended"]) == (1, 1, 0)
    reads = AuditEntry.objects.filter(action="protocol_inclusion.read").count()
    lists = AuditEntry.objects.filter(action="protocol_inclusion.list").count()
    assert (reads, lists) == (2, 4)


def test_an_inclusion_ends_once_with_a_reason(demo, client_for, in_force) -> None:
    created = include(client_for, demo["ide.petit"], in_force).json()
    end = inclusions_url(in_force, f"{created['id']}/end/")
    client = client_for(demo["ide.petit"])
    bad = client.post(end, {"ended_on": localdate().isoformat(), "end_reason": "?"}, format="json")
    assert bad.status_code == 400
    before = client.post(
        end,
        {"ended_on": (localdate() - timedelta(days=3)).isoformat(), "end_reason": "completed"},
        format="json",
    )
    assert before.status_code == 400
    assert "ended_on" in str(before.json())
    done = client.post(
        end, {"ended_on": localdate().isoformat(), "end_reason": "referred"}, format="json"
    )
    assert done.status_code == 200
    assert (done.json()["ongoing"], done.json()["end_reason"]) == (False, "referred")
    again = client.post(
        end, {"ended_on": localdate().isoformat(), "end_reason": "completed"}, format="json"
    )
    assert again.status_code == 409
    counts = client_for(demo["dr.martin"]).get(inclusions_url(in_force, "counts/")).json()
    assert (counts["ongoing"], counts["ended"]) == (0, 1)
    assert {"reason": "referred", "label": "Réorienté vers le médecin délégant", "count": 1} in (
        counts["by_reason"]
    )
    assert AuditEntry.objects.filter(action="protocol_inclusion.end").count() == 1


def test_another_delegate_cannot_end_someone_elses_inclusion(demo, client_for, in_force) -> None:
    created = include(client_for, demo["ide.petit"], in_force).json()
    participation.register_participant(
        actor=demo["pharma.durand"],
        protocol=in_force,
        member=demo["pharma.durand"],
        role="delegate",
        training_declared=True,
    )
    response = client_for(demo["pharma.durand"]).post(
        inclusions_url(in_force, f"{created['id']}/end/"),
        {"ended_on": localdate().isoformat(), "end_reason": "completed"},
        format="json",
    )
    assert response.status_code == 404


def test_a_pluriprofessional_participant_includes(demo, client_for, submitted) -> None:
    version = submitted(professions=["pharmacien"])
    protocol = version.protocol
    Protocol.objects.filter(pk=protocol.pk).update(kind=Protocol.Kind.PLURIPROFESSIONAL)
    protocol.refresh_from_db()
    lifecycle.approve_version(actor=demo["dr.martin"], version=version)
    lifecycle.publish_version(actor=demo["coord"], version=version)
    participation.register_participant(
        actor=demo["pharma.durand"],
        protocol=protocol,
        member=demo["pharma.durand"],
        role="participant",
    )
    assert include(client_for, demo["pharma.durand"], protocol).status_code == 201


def test_monthly_inclusion_counts_per_month_and_organisation(
    demo, client_for, in_force, django_assert_num_queries
) -> None:
    today = localdate()
    first_of_month = today.replace(day=1)
    last_month = first_of_month - timedelta(days=1)
    for day in (today, today, last_month):
        include(
            client_for,
            demo["ide.petit"],
            in_force,
            included_on=day.isoformat(),
            informed_on=day.isoformat(),
        )
    start = last_month.replace(day=1)
    with django_assert_num_queries(1):
        counts = monthly_inclusion_counts(start, today)
    assert counts == {
        f"{last_month:%Y-%m}": 1,
        f"{today:%Y-%m}": 2,
    }
    msp = demo["ide.petit"].memberships.get().organisation
    pharmacie = demo["pharma.durand"].memberships.get().organisation
    assert sum(monthly_inclusion_counts(start, today, organisation=msp).values()) == 3
    assert sum(monthly_inclusion_counts(start, today, organisation=pharmacie).values()) == 0
