"""The tele-expertise pages, the whole loop through forms: French, 404 for outsiders, photos
inline and never cached."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from liaison.models import LiaisonSheet
from tests.expertise.conftest import PHOTO

pytestmark = pytest.mark.django_db


def logged(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def form(service, **overrides):
    data = {
        "patient.birth_family_name": "Lefèvre", "patient.given_names": "Éloïse",
        "patient.birth_date": "1979-03-15", "patient.sex": "F",
        "recipient_organisation": str(service.code), "specialty": "dermatology",
        "urgency": "routine", "question": "Lésion pigmentée du dos : exérèse ?",
        "patient_consent": "on", "intent": "send",
        "photos": SimpleUploadedFile("lesion.png", PHOTO, content_type="image/png"),
    }  # fmt: skip
    data.update(overrides)
    return data


def test_the_loop_through_the_pages(demo, dermatologie, derm) -> None:
    gp = logged(demo["dr.martin"])
    assert 'capture="environment"' in gp.get("/liaison/avis/nouvelle/").content.decode()
    response = gp.post("/liaison/avis/nouvelle/", form(dermatologie))
    assert response.status_code == 302, response.content.decode()[:2000]
    sheet = LiaisonSheet.objects.get(kind="expertise")
    url = f"/liaison/avis/{sheet.code}/"
    expert = logged(derm)
    worklist = expert.get("/liaison/avis/").content.decode()
    assert "LEFÈVRE" in worklist
    page = expert.get(url).content.decode()
    image = sheet.attachments.get()
    assert f"/liaison/avis/{sheet.code}/images/{image.code}/" in page
    served = expert.get(f"/liaison/avis/{sheet.code}/images/{image.code}/")
    assert served["Cache-Control"] == "no-store"
    assert served["Content-Type"] == "image/png"
    assert served["Content-Disposition"].startswith("inline")

    expert.post(f"{url}action/take/")
    expert.post(f"{url}action/ask_more/", {"note": "Taille de la lésion ?"})
    sheet.refresh_from_db()
    assert sheet.status == "more_info_requested"
    gp.post(f"{url}action/resend/", {"comment": "8 mm", "note": "Mesurée"})
    expert.post(f"{url}action/take/")
    expert.post(f"{url}action/answer/", {"opinion": "Naevus bénin",
                                         "consultation_needed": "not_needed"})  # fmt: skip
    sheet.refresh_from_db()
    assert sheet.status == "answered"
    reading = gp.get(url).content.decode()
    assert "Naevus bénin" in reading
    assert "Pas de consultation nécessaire" in reading
    gp.post(f"{url}action/acknowledge/")
    sheet.refresh_from_db()
    assert sheet.status == "closed"


def test_a_missing_consent_is_said_in_french(demo, dermatologie) -> None:
    response = logged(demo["dr.martin"]).post(
        "/liaison/avis/nouvelle/", form(dermatologie, patient_consent="")
    )
    assert response.status_code == 400
    assert "consent à une télé-expertise" in response.content.decode()
    assert not LiaisonSheet.objects.filter(kind="expertise").exists()


def test_outsiders_get_a_404(demo, dermatologie, derm) -> None:
    logged(demo["dr.martin"]).post("/liaison/avis/nouvelle/", form(dermatologie))
    sheet = LiaisonSheet.objects.get(kind="expertise")
    image = sheet.attachments.get()
    for login in ("hop.cardio", "pharma.durand", "coord", "dr.bernard"):
        client = logged(demo[login])
        assert client.get(f"/liaison/avis/{sheet.code}/").status_code == 404
        assert client.get(f"/liaison/avis/{sheet.code}/images/{image.code}/").status_code == 404
        assert client.post(f"/liaison/avis/{sheet.code}/action/take/").status_code == 404
