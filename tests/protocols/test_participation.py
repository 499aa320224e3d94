"""Participation rules (profession, training) and acknowledgements ("lu et approuvé")."""

from __future__ import annotations

import pytest
from django.test import Client

from protocols.models import Acknowledgement, Participation, Protocol
from protocols.selectors import acknowledgement_overview
from protocols.services import lifecycle, participation
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from security.models import AuditEntry
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


def ended_events(member) -> int:
    return Notification.objects.filter(
        event="protocols.participation_ended_by_version", recipient=member
    ).count()


def test_a_new_version_ends_the_participations_it_no_longer_allows(demo, published) -> None:
    coord, martin = demo["coord"], demo["dr.martin"]
    petit, durand = demo["ide.petit"], demo["pharma.durand"]
    version = published(training="")
    protocol = version.protocol
    participation.register_participant(
        actor=coord, protocol=protocol, member=martin, role="delegant"
    )
    nurse, _ = participation.register_participant(
        actor=coord, protocol=protocol, member=petit, role="delegate"
    )
    pharmacist, _ = participation.register_participant(
        actor=coord, protocol=protocol, member=durand, role="delegate", training_declared=True
    )

    # Version 2 drops the pharmacists and requires a training nobody but durand declared.
    new = publish_next(
        demo,
        version,
        delegate_professions=["infirmier"],
        training="Formation de 2 heures.",
    )

    nurse.refresh_from_db()
    pharmacist.refresh_from_db()
    assert (nurse.end_reason, nurse.ended_by_version) == ("training", new)
    assert (pharmacist.end_reason, pharmacist.ended_by_version) == ("profession", new)
    assert nurse.ended_at is not None
    assert pharmacist.ended_at is not None
    still = Participation.objects.filter(protocol=protocol, ended_at__isnull=True)
    assert [(p.member, p.role) for p in still] == [(martin, "delegant")]
    assert AuditEntry.objects.filter(
        action="protocol_participation.end", target_code=nurse.code
    ).exists()
    # The members removed hear why, not "a new version to read"; the others hear of it.
    assert ended_events(petit) == ended_events(durand) == 1
    assert ended_events(martin) == 0
    published_events = Notification.objects.filter(event="protocols.version_published")
    assert published_events.filter(recipient=martin).exists()
    assert not published_events.filter(recipient__in=[petit, durand]).exists()
    # They are no longer asked to acknowledge the version in force.
    assert acknowledgement_overview(protocol).pending == [martin]


def test_a_member_removed_by_a_version_can_register_again_once_matching(demo, published) -> None:
    version = published(training="")
    protocol = version.protocol
    participation.register_participant(
        actor=demo["ide.petit"], protocol=protocol, member=demo["ide.petit"], role="delegate"
    )
    publish_next(demo, version, training="Formation de 2 heures.")
    protocol.refresh_from_db()
    again, created = participation.register_participant(
        actor=demo["ide.petit"],
        protocol=protocol,
        member=demo["ide.petit"],
        role="delegate",
        training_declared=True,
    )
    assert created
    assert again.ended_at is None


def test_a_version_with_the_same_rules_ends_nothing(demo, published) -> None:
    version = published()
    protocol = version.protocol
    participation.register_participant(
        actor=demo["coord"],
        protocol=protocol,
        member=demo["ide.petit"],
        role="delegate",
        training_declared=True,
    )
    publish_next(demo, version, steps="1. Nouvelle étape.")
    assert Participation.objects.filter(protocol=protocol, ended_at__isnull=True).count() == 1
    assert ended_events(demo["ide.petit"]) == 0


def test_pluriprofessional_participants_follow_the_professions_too(demo, published) -> None:
    version = published(
        kind=Protocol.Kind.PLURIPROFESSIONAL, professions=["infirmier", "pharmacien"]
    )
    protocol = version.protocol
    for username in ("ide.petit", "pharma.durand"):
        participation.register_participant(
            actor=demo["coord"], protocol=protocol, member=demo[username], role="participant"
        )
    publish_next(demo, version, professions=["infirmier"])
    still = Participation.objects.filter(protocol=protocol, ended_at__isnull=True)
    assert [p.member for p in still] == [demo["ide.petit"]]


def test_the_protocol_page_lists_the_participations_a_version_ended(demo, published) -> None:
    version = published(training="")
    protocol = version.protocol
    participation.register_participant(
        actor=demo["coord"], protocol=protocol, member=demo["pharma.durand"], role="delegate"
    )
    publish_next(demo, version, delegate_professions=["infirmier"])
    client = Client()
    client.force_login(demo["ide.petit"].user)
    page = client.get(f"/protocoles/{protocol.code}/").content.decode()
    assert 'id="ended-participations"' in page
    assert "Profession non prévue par la nouvelle version" in page


def test_leaving_records_its_reason(demo, published) -> None:
    protocol = published().protocol
    registered, _ = participation.register_participant(
        actor=demo["dr.martin"], protocol=protocol, member=demo["dr.martin"], role="delegant"
    )
    ended = participation.end_participation(actor=demo["dr.martin"], participation=registered)
    assert (ended.end_reason, ended.ended_by_version) == ("left", None)
