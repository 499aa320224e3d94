"""The pages of inclusions: the protocol page's section, the form, the list, the exit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils.timezone import localdate

from protocols.models import Inclusion
from protocols.services import inclusions, participation
from security.models import AuditEntry

pytestmark = pytest.mark.django_db

PATIENT = {
    "birth_family_name": "Lefèvre",
    "given_names": "Jeanne",
    "birth_date": "1941-05-12",
}


@pytest.fixture
def in_force(demo, published):
    protocol = published().protocol
    participation.register_participant(
        actor=demo["ide.petit"],
        protocol=protocol,
        member=demo["ide.petit"],
        role="delegate",
        training_declared=True,
    )
    return protocol


def logged_in(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def form(**overrides) -> dict[str, str]:
    today = localdate().isoformat()
    data = {f"patient.{key}": value for key, value in PATIENT.items()}
    data |= {"included_on": today, "informed_on": today, "consent": "on", "creation_key": "k1"}
    data.update(overrides)
    return data


def test_a_delegate_includes_a_patient_from_the_protocol_page(demo, in_force) -> None:
    client = logged_in(demo["ide.petit"])
    page = client.get(f"/protocoles/{in_force.code}/").content.decode()
    assert "Inclure un patient" in page
    assert "Aucun patient inclus pour le moment." in page
    new = f"/protocoles/{in_force.code}/inclusions/nouvelle/"
    blank = client.get(new).content.decode()
    assert 'name="patient.birth_family_name"' in blank
    assert 'name="creation_key"' in blank
    response = client.post(new, form())
    assert response.status_code == 302
    again = client.post(new, form())  # a double click: the same key, one inclusion
    assert again.status_code == 302
    assert Inclusion.objects.count() == 1
    page = client.get(f"/protocoles/{in_force.code}/").content.decode()
    assert "LEFÈVRE Jeanne" in page
    assert "1 patient inclus" in page
    assert AuditEntry.objects.filter(action="protocol_inclusion.list").exists()


def test_a_form_error_keeps_every_field_and_names_it_in_words(demo, in_force) -> None:
    client = logged_in(demo["ide.petit"])
    response = client.post(
        f"/protocoles/{in_force.code}/inclusions/nouvelle/",
        form(**{"patient.given_names": "", "consent": ""}),
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Obligatoire pour inclure un patient." in page
    assert "consenti" in page
    assert 'value="Lefèvre"' in page  # what was typed comes back
    assert not Inclusion.objects.exists()


def test_others_see_counts_only(demo, in_force) -> None:
    inclusions.include_patient(
        actor=demo["ide.petit"],
        protocol=in_force,
        patient=PATIENT,
        included_on=localdate(),
        informed_on=localdate(),
        consent=True,
    )
    page = logged_in(demo["dr.martin"]).get(f"/protocoles/{in_force.code}/").content.decode()
    assert "1 patient inclus" in page
    assert "LEFÈVRE" not in page
    assert "Inclure un patient</a>" not in page
    response = logged_in(demo["dr.martin"]).get(f"/protocoles/{in_force.code}/inclusions/nouvelle/")
    assert response.status_code == 302  # back to the protocol, with a message
    coordinator = logged_in(demo["coord"])
    listed = coordinator.get(f"/protocoles/{in_force.code}/inclusions/").content.decode()
    assert "LEFÈVRE Jeanne" in listed
    assert "Julie Petit" in listed
    assert (
        "LEFÈVRE"
        not in (
            logged_in(demo["dr.martin"]).get(f"/protocoles/{in_force.code}/inclusions/")
        ).content.decode()
    )


def test_the_delegate_records_the_exit(demo, in_force) -> None:
    inclusion = inclusions.include_patient(
        actor=demo["ide.petit"],
        protocol=in_force,
        patient=PATIENT,
        included_on=localdate() - timedelta(days=10),
        informed_on=localdate() - timedelta(days=10),
        consent=True,
    )
    url = f"/protocoles/{in_force.code}/inclusions/{inclusion.code}/sortie/"
    client = logged_in(demo["ide.petit"])
    assert "Motif de sortie" in client.get(url).content.decode()
    bad = client.post(url, {"ended_on": localdate().isoformat(), "end_reason": ""})
    assert bad.status_code == 400
    assert "Choisissez un motif de sortie." in bad.content.decode()
    assert client.post(url, {"ended_on": "2026-02-31", "end_reason": "completed"}).status_code == (
        400
    )
    done = client.post(url, {"ended_on": localdate().isoformat(), "end_reason": "completed"})
    assert done.status_code == 302
    inclusion.refresh_from_db()
    assert inclusion.end_reason == "completed"
    assert logged_in(demo["pharma.durand"]).get(url).status_code == 404
