"""Protocols reach the people they concern (issue #16).

Publishing a pluriprofessional protocol for GPs, nurses and pharmacists notified nobody, and
the acknowledgement panel's "Aucun." read like success with zero readers.
"""

from __future__ import annotations

import pytest
from django.test import Client

from directory.models import Member
from protocols.models import Participation, Protocol
from protocols.selectors import acknowledgement_overview
from protocols.services import participation
from worker.models import Notification

pytestmark = pytest.mark.django_db

PLURI = {
    "kind": Protocol.Kind.PLURIPROFESSIONAL,
    "professions": ["medecin_generaliste", "infirmier", "pharmacien"],
    "delegant_professions": [],
    "delegate_professions": [],
    "training": "",
}


def told_of_publication(version) -> set[str]:
    return set(
        Notification.objects.filter(
            event="protocols.version_published", target_code=version.protocol.code
        ).values_list("recipient__user__username", flat=True)
    )


def test_publishing_a_pluriprofessional_protocol_tells_the_professions_it_names(
    demo, published
) -> None:
    Member.objects.filter(pk=demo["dr.bernard"].pk).update(is_active=False)

    version = published(**PLURI)

    told = told_of_publication(version)
    assert {"dr.martin", "dr.leroy", "ide.petit", "pharma.durand"} <= told
    assert "dr.bernard" not in told  # deactivated
    assert "coord" not in told  # the publisher
    assert "as.moreau" not in told  # a social worker: not a profession it names


def test_a_cooperation_protocol_tells_its_participants_not_every_gp(demo, published) -> None:
    version = published()
    assert told_of_publication(version) <= {"dr.martin"}  # its reviewer read it, nobody else


def test_the_panel_lists_who_has_not_read_it_among_those_concerned(
    client: Client, demo, published
) -> None:
    version = published(**PLURI)
    protocol = version.protocol
    participation.acknowledge_version(actor=demo["ide.petit"], version=version)
    client.force_login(demo["coord"].user)

    page = client.get(f"/protocoles/{protocol.code}/").content.decode()

    overview = acknowledgement_overview(protocol)
    assert demo["ide.petit"] not in overview.pending
    assert {demo["dr.leroy"], demo["pharma.durand"]} <= set(overview.pending)
    assert overview.concerned == len(overview.pending) + 1
    assert "Professionnels concernés qui ne l'ont pas encore lu" in page
    assert "Leroy" in page.split('id="pending-acknowledgements"')[1].split("</ul>")[0]
    assert "Aucun." not in page


def test_a_protocol_nobody_is_concerned_by_does_not_read_like_success(
    client: Client, demo, published
) -> None:
    version = published(**{**PLURI, "professions": ["orthophoniste"]})
    client.force_login(demo["coord"].user)
    page = client.get(f"/protocoles/{version.protocol.code}/").content.decode()
    assert "Aucun professionnel n'est encore concerné" in page


def test_the_coordinator_registers_a_participant_on_their_behalf(
    client: Client, demo, published
) -> None:
    protocol = published().protocol
    nurse = demo["ide.petit"]
    client.force_login(demo["coord"].user)
    assert (
        'id="register-someone-form"' in client.get(f"/protocoles/{protocol.code}/").content.decode()
    )

    client.post(
        f"/protocoles/{protocol.code}/participants/",
        {"member": str(nurse.code), "role": "delegate", "training_declared": "on"},
    )

    registered = Participation.objects.get(protocol=protocol, member=nurse, ended_at__isnull=True)
    assert (registered.role, registered.registered_by) == ("delegate", demo["coord"])
    assert Notification.objects.filter(
        recipient=nurse, event="protocols.participant_registered"
    ).exists()


def test_a_member_cannot_register_a_colleague(client: Client, demo, published) -> None:
    protocol = published().protocol
    client.force_login(demo["dr.leroy"].user)
    page = client.get(f"/protocoles/{protocol.code}/").content.decode()
    assert 'id="register-someone-form"' not in page

    client.post(
        f"/protocoles/{protocol.code}/participants/",
        {"member": str(demo["ide.petit"].code), "role": "delegate", "training_declared": "on"},
    )
    assert not Participation.objects.filter(protocol=protocol).exists()


def test_the_sign_up_form_offers_the_role_the_profession_allows(
    client: Client, demo, published
) -> None:
    protocol = published().protocol
    client.force_login(demo["ide.petit"].user)
    page = client.get(f"/protocoles/{protocol.code}/").content.decode()
    form = page.split('id="register-form"')[1].split("</form>")[0]
    assert '<option value="delegate" selected>' in form
    assert 'value="delegant"' not in form  # a nurse is no délégant here


def test_the_sign_up_form_disappears_once_signed_up(client: Client, demo, published) -> None:
    protocol = published().protocol
    participation.register_participant(
        actor=demo["dr.leroy"], protocol=protocol, member=demo["dr.leroy"], role="delegant"
    )
    client.force_login(demo["dr.leroy"].user)
    page = client.get(f"/protocoles/{protocol.code}/").content.decode()
    assert 'id="register-form"' not in page
    assert 'id="signed-up"' in page


def test_a_pluriprofessional_protocol_never_shows_delegation_wording(
    client: Client, demo, published
) -> None:
    protocol = published(**PLURI).protocol
    for username in ("coord", "ide.petit"):
        client.force_login(demo[username].user)
        page = client.get(f"/protocoles/{protocol.code}/").content.decode().lower()
        for word in ("délégant", "délégué", "déclare avoir suivi la formation"):
            assert word not in page, (username, word)
