"""'Écrire à propos de cette fiche' opens the composer with the sheet's care team, a subject
and the sheet linked: nothing to look up or retype."""

from __future__ import annotations

import pytest
from django.test import Client

from directory.models import Organisation
from liaison.services import drafts, transitions
from messaging.models import Conversation

pytestmark = pytest.mark.django_db

PATIENT = {
    "birth_family_name": "Lefèvre",
    "given_names": "Éloïse",
    "birth_date": "1979-03-15",
    "sex": "F",
}


@pytest.fixture
def referral(demo):
    """dr.martin's referral to cardiology, copying the nurse ide.petit."""
    sheet = drafts.create_draft(
        actor=demo["dr.martin"],
        kind="referral",
        patient=PATIENT,
        content={"urgency": "urgent", "reason": "Dyspnée", "medications_none": True,
                 "allergies_none_known": True},
        recipient_organisation=Organisation.objects.get(name="Cardiologie"),
        participants=[demo["ide.petit"]],
    )  # fmt: skip
    return transitions.send_sheet(actor=demo["dr.martin"], sheet=sheet)


def chips(page: str, demo, *usernames: str) -> list[bool]:
    return [f'name="participants" value="{demo[u].code}"' in page for u in usernames]


def test_the_gp_writes_to_the_team_and_the_service(client: Client, demo, referral) -> None:
    client.force_login(demo["dr.martin"].user)
    page = client.get(f"/messagerie/nouvelle/?fiche={referral.code}").content.decode()
    assert chips(page, demo, "ide.petit", "dr.martin") == [True, False]  # not oneself
    cardiologie = Organisation.objects.get(name="Cardiologie")
    assert f'<option value="{cardiologie.code}" selected>' in page
    date = referral.sent_at.astimezone().strftime("%d/%m/%Y")
    assert f'value="À propos : fiche de liaison d&#x27;entrée du {date}"' in page
    assert "Lefèvre" not in page.split('id="subject"')[1].split(">")[0]  # no patient in it
    assert f'name="liaison_sheet" value="{referral.code}"' in page
    assert 'name="patient.birth_family_name"' not in page  # the patient comes with the sheet


def test_the_hospital_writes_to_the_gp_and_the_team(client: Client, demo, referral) -> None:
    client.force_login(demo["hop.cardio"].user)
    page = client.get(f"/messagerie/nouvelle/?fiche={referral.code}").content.decode()
    assert chips(page, demo, "dr.martin", "ide.petit") == [True, True]
    msp = Organisation.objects.get(name="MSP des Tilleuls")
    assert f'<option value="{msp.code}" selected>' in page


def test_sending_the_prefilled_form_links_the_sheet(client: Client, demo, referral) -> None:
    client.force_login(demo["hop.cardio"].user)
    response = client.post(
        "/messagerie/nouvelle/",
        {
            "participants": [str(demo["dr.martin"].code), str(demo["ide.petit"].code)],
            "subject": "À propos : fiche de liaison d'entrée",
            "liaison_sheet": str(referral.code),
            "body": "Admission prévue jeudi.",
        },
    )
    assert response.status_code == 302
    conversation = Conversation.objects.get()
    assert conversation.liaison_sheet == referral
    members = {p.member_id for p in conversation.participants.all()}
    assert members == {demo[u].pk for u in ("hop.cardio", "dr.martin", "ide.petit")}


def test_an_outsider_gets_no_prefill(client: Client, demo, referral) -> None:
    client.force_login(demo["pharma.durand"].user)
    page = client.get(f"/messagerie/nouvelle/?fiche={referral.code}").content.decode()
    assert 'name="participants" value=' not in page
    assert "À propos :" not in page
    assert "liaison_sheet" not in page
