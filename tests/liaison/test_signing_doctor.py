"""The signing doctor of a discharge letter is the doctor writing it: not retyped each time."""

from __future__ import annotations

import pytest
from django.test import Client

from liaison.models import LiaisonSheet
from liaison.services import discharge

pytestmark = pytest.mark.django_db

SIGNATURE = "Dr Sophie Lambert — Cardiologie, Centre hospitalier de Gien — 02 38 29 38 40"


def test_a_doctor_starting_the_letter_signs_it(client: Client, demo, make_referral) -> None:
    referral = make_referral()
    client.force_login(demo["hop.cardio"].user)
    response = client.post(f"/liaison/{referral.code}/action/discharge/")
    letter = LiaisonSheet.objects.get(kind="discharge")
    assert response.status_code == 302
    assert letter.content["hospital_contact"] == SIGNATURE
    page = client.get(f"/liaison/{letter.code}/modifier/").content.decode()
    assert SIGNATURE in page


def test_a_secretary_starting_it_leaves_it_to_the_doctor_who_opens_it(
    client: Client, demo, make_referral
) -> None:
    referral = make_referral()
    letter = discharge.start_discharge_letter(actor=demo["hop.cardio2"], referral=referral)
    assert "hospital_contact" not in letter.content
    client.force_login(demo["hop.cardio2"].user)
    assert "Dr " not in client.get(f"/liaison/{letter.code}/modifier/").content.decode()
    client.force_login(demo["hop.cardio"].user)
    page = client.get(f"/liaison/{letter.code}/modifier/").content.decode()
    assert f">{SIGNATURE}</textarea>" in page


def test_a_signature_already_written_is_kept(client: Client, demo, make_referral) -> None:
    letter = discharge.start_discharge_letter(actor=demo["hop.cardio2"], referral=make_referral())
    letter.content["hospital_contact"] = "Dr Autre, 02 00 00 00 00"
    letter.save()
    client.force_login(demo["hop.cardio"].user)
    page = client.get(f"/liaison/{letter.code}/modifier/").content.decode()
    assert ">Dr Autre, 02 00 00 00 00</textarea>" in page
    assert SIGNATURE not in page
