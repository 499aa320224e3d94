"""Participation rules (profession, training) and acknowledgements ("lu et approuvé")."""

from __future__ import annotations

import pytest

from protocols.models import Acknowledgement, Participation, Protocol
from protocols.selectors import acknowledgement_overview
from protocols.services import lifecycle, participation
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from tests.protocols.conftest import publish_next
from worker.models import Notification

pytestmark = pytest.mark.django_db


def participants_url(protocol: Protocol) -> str:
    return f"/api/v1/protocols/{protocol.code}/participants/"


def test_a_gp_registers_as_delegant_and_a_nurse_as_trained_delegate(
    demo, client_for, published
) -> None:
    protocol = published().protocol
    response = client_for(demo["dr.martin"]).post(
        participants_url(protocol), {"role": "delegant"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["member"]["display_name"] == "Claire Martin"
    response = client_for(demo["ide.petit"]).post(
        participants_url(protocol),
        {"role": "delegate", "training_declared": True, "training_details": "2 h, mars 2026"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["training_declared_at"] is not None
    listed = client_for(demo["as.moreau"]).get(participants_url(protocol)).json()
    assert [(p["member"]["display_name"], p["role"]) for p in listed] == [
        ("Claire Martin", "delegant"),
        ("Julie Petit", "delegate"),
    ]


@pytest.mark.parametrize(
    ("username", "role"),
    [
        ("ide.petit", "delegant"),
        ("dr.martin", "delegate"),
        ("as.moreau", "delegate"),
        ("coord", "delegant"),
    ],
)
def test_the_profession_must_match_the_role(demo, client_for, published, username, role) -> None:
    protocol = published().protocol
    response = client_for(demo[username]).post(
        participants_url(protocol), {"role": role, "training_declared": True}, format="json"
    )
    assert response.status_code == 400
    assert "ne correspond pas" in response.json()["role"][0]


def test_a_delegate_must_declare_the_required_training(demo, client_for, published) -> None:
    protocol = published().protocol
    response = client_for(demo["pharma.durand"]).post(
        participants_url(protocol), {"role": "delegate"}, format="json"
    )
    assert response.status_code == 400
    assert "training_declared" in response.json()


def test_no_training_is_asked_when_the_protocol_requires_none(demo, published) -> None:
    protocol = published(training="").protocol
    registered, created = participation.register_participant(
        actor=demo["pharma.durand"],
        protocol=protocol,
        member=demo["pharma.durand"],
        role="delegate",
    )
    assert created
    assert registered.training_declared_at is None


def test_a_pluriprofessional_protocol_has_participants_of_its_professions(demo, published) -> None:
    protocol = published(
        kind=Protocol.Kind.PLURIPROFESSIONAL, professions=["infirmier", "medecin_generaliste"]
    ).protocol
    with pytest.raises(FieldErrors):
        participation.register_participant(
            actor=demo["ide.petit"], protocol=protocol, member=demo["ide.petit"], role="delegate"
        )
    with pytest.raises(FieldErrors):
        participation.register_participant(
            actor=demo["pharma.durand"],
            protocol=protocol,
            member=demo["pharma.durand"],
            role="participant",
        )
    _registered, created = participation.register_participant(
        actor=demo["ide.petit"], protocol=protocol, member=demo["ide.petit"], role="participant"
    )
    assert created


def test_registering_twice_returns_the_same_participation(demo, client_for, published) -> None:
    protocol = published().protocol
    client = client_for(demo["dr.martin"])
    first = client.post(participants_url(protocol), {"role": "delegant"}, format="json")
    second = client.post(participants_url(protocol), {"role": "delegant"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_only_the_creator_and_the_coordination_register_someone_else(
    demo, client_for, published
) -> None:
    protocol = published().protocol
    body = {"role": "delegant", "member": str(demo["dr.leroy"].code)}
    assert (
        client_for(demo["dr.martin"])
        .post(participants_url(protocol), body, format="json")
        .status_code
        == 403
    )
    assert (
        client_for(demo["coord"]).post(participants_url(protocol), body, format="json").status_code
        == 201
    )


def test_a_member_leaves_a_protocol(demo, client_for, published) -> None:
    protocol = published().protocol
    registered, _created = participation.register_participant(
        actor=demo["dr.martin"], protocol=protocol, member=demo["dr.martin"], role="delegant"
    )
    url = f"{participants_url(protocol)}{registered.code}/"
    assert client_for(demo["dr.leroy"]).delete(url).status_code == 403
    assert client_for(demo["dr.martin"]).delete(url).status_code == 204
    assert client_for(demo["dr.martin"]).delete(url).status_code == 404
    assert not Participation.objects.filter(ended_at__isnull=True).exists()


def test_a_retired_protocol_takes_no_registration(demo, published) -> None:
    version = published()

    lifecycle.retire_version(actor=demo["coord"], version=version)
    version.protocol.refresh_from_db()
    with pytest.raises(InvalidTransition):
        participation.register_participant(
            actor=demo["dr.martin"],
            protocol=version.protocol,
            member=demo["dr.martin"],
            role="delegant",
        )


def test_acknowledging_records_the_time_once(demo, client_for, published) -> None:
    version = published()
    url = f"/api/v1/protocols/{version.protocol.code}/versions/1/acknowledge/"
    client = client_for(demo["ide.petit"])
    first = client.post(url)
    assert first.status_code == 201
    assert first.json()["acknowledged_at"]
    second = client.post(url)
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Acknowledgement.objects.count() == 1


def test_the_page_data_says_who_acknowledged_and_who_has_not(demo, client_for, published) -> None:
    version = published()
    protocol = version.protocol
    for username, role in (
        ("dr.martin", "delegant"),
        ("ide.petit", "delegate"),
        ("pharma.durand", "delegate"),
    ):
        participation.register_participant(
            actor=demo["coord"],
            protocol=protocol,
            member=demo[username],
            role=role,
            training_declared=True,
        )
    participation.acknowledge_version(actor=demo["ide.petit"], version=version)
    participation.acknowledge_version(
        actor=demo["as.moreau"], version=version
    )  # a reader, not a participant
    body = (
        client_for(demo["dr.leroy"])
        .get(f"/api/v1/protocols/{protocol.code}/acknowledgements/")
        .json()
    )
    assert body["version"] == 1
    assert [a["member"]["display_name"] for a in body["acknowledged"]] == [
        "Julie Petit",
        "Inès Moreau",
    ]
    assert {m["display_name"] for m in body["pending"]} == {"Claire Martin", "Marc Durand"}

    # A new version starts again from nobody.
    publish_next(demo, version, steps="1. Nouvelle conduite.")
    protocol.refresh_from_db()
    overview = acknowledgement_overview(protocol)
    assert overview.version.number == 2
    assert overview.acknowledged == []
    assert len(overview.pending) == 3


def test_only_the_version_in_force_is_acknowledged(demo, published) -> None:
    first = published()
    publish_next(demo, first, steps="1. Autre.")
    first.refresh_from_db()
    with pytest.raises(InvalidTransition):
        participation.acknowledge_version(actor=demo["ide.petit"], version=first)


def test_registering_someone_tells_them(demo, published) -> None:

    protocol = published().protocol
    participation.register_participant(
        actor=demo["coord"], protocol=protocol, member=demo["dr.martin"], role="delegant"
    )
    assert Notification.objects.filter(
        event="protocols.participant_registered", recipient=demo["dr.martin"]
    ).exists()


def test_a_member_cannot_end_someone_elses_participation_through_the_service(
    demo, published
) -> None:
    protocol = published().protocol
    registered, _ = participation.register_participant(
        actor=demo["dr.martin"], protocol=protocol, member=demo["dr.martin"], role="delegant"
    )
    with pytest.raises(PermissionDenied):
        participation.end_participation(actor=demo["ide.petit"], participation=registered)
