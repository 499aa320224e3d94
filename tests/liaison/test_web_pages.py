"""The French liaison pages through Django's test client (the browser test drives them too)."""

from __future__ import annotations

import pytest
from django.test import Client

from liaison.models import LiaisonSheet

pytestmark = pytest.mark.django_db


def login(client: Client, member) -> Client:
    client.force_login(member.user)
    return client


def form_data(cardiologie, nurse, **extra):
    data = {
        "recipient_organisation": str(cardiologie.code),
        "patient.birth_family_name": "Lefèvre",
        "patient.given_names": "Éloïse",
        "patient.birth_date": "1979-03-15",
        "patient.sex": "F",
        "patient.identity_status": "VALI",
        "patient.birth_place_insee": "51215",
        "urgency": "urgent",
        "reason": "Dyspnée",
        "medications-0-name": "Furosémide",
        "medications-0-dose": "40 mg",
        "allergies_none_known": "on",
        "people": [str(nurse.code)],
    }
    data.update(extra)
    return data


def test_a_gp_fills_and_sends_a_referral_from_the_form(client: Client, demo, cardiologie) -> None:
    login(client, demo["dr.martin"])
    assert "Nouvelle fiche" in client.get("/liaison/").content.decode()
    response = client.post(
        "/liaison/nouvelle/", form_data(cardiologie, demo["ide.petit"], send="1")
    )
    sheet = LiaisonSheet.objects.get()
    assert response.status_code == 302
    assert sheet.status == "sent"
    assert sheet.content["medications"] == [{"name": "Furosémide", "dose": "40 mg"}]
    assert sheet.content["allergies_none_known"] is True
    assert sheet.participants.get().member == demo["ide.petit"]


def test_autosave_answers_json_and_a_stale_save_is_412(client: Client, demo, cardiologie) -> None:
    login(client, demo["dr.martin"])
    created = client.post(
        "/liaison/nouvelle/",
        form_data(cardiologie, demo["ide.petit"]),
        HTTP_ACCEPT="application/json",
    ).json()
    assert created["version"] == 1
    url = created["edit_url"]
    saved = client.post(
        url,
        form_data(cardiologie, demo["ide.petit"], version="1", reason="v2"),
        HTTP_ACCEPT="application/json",
    )
    assert saved.json()["version"] == 2
    stale = client.post(
        url, form_data(cardiologie, demo["ide.petit"], version="1"), HTTP_ACCEPT="application/json"
    )
    assert stale.status_code == 412
    assert LiaisonSheet.objects.get().content["reason"] == "v2"


def test_sending_an_incomplete_form_shows_what_is_missing(
    client: Client, demo, cardiologie
) -> None:
    login(client, demo["dr.martin"])
    data = form_data(cardiologie, demo["ide.petit"], reason="", send="1")
    del data["allergies_none_known"]
    response = client.post("/liaison/nouvelle/", data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "reason" in body
    assert "allergies" in body
    assert LiaisonSheet.objects.get().status == "draft"  # the draft is kept


def test_a_missing_field_is_tied_to_its_error_for_a_screen_reader(
    client: Client, demo, cardiologie
) -> None:
    """RGAA 11.10: the error is announced with the field, not only shown next to it."""
    login(client, demo["dr.martin"])
    data = form_data(cardiologie, demo["ide.petit"], reason="", send="1")
    body = client.post("/liaison/nouvelle/", data).content.decode()
    assert '<textarea id="f-reason" aria-describedby="e-reason" aria-invalid="true"' in body
    assert '<div class="error" id="e-reason">' in body


def test_the_hospital_works_the_sheet_from_its_page(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    login(client, demo["hop.cardio"])
    body = client.get(f"/liaison/{sheet.code}/").content.decode()
    assert "Accuser réception" in body
    assert "LEFÈVRE" in body
    client.post(f"/liaison/{sheet.code}/action/receive/")
    client.post(f"/liaison/{sheet.code}/action/accept/", {"planned_date": "2026-12-01"})
    sheet.refresh_from_db()
    assert sheet.status == "accepted"
    response = client.post(f"/liaison/{sheet.code}/action/discharge/")
    letter = LiaisonSheet.objects.get(kind="discharge")
    assert response["Location"] == f"/liaison/{letter.code}/modifier/"
    form = client.get(response["Location"]).content.decode()
    assert "Furosémide" in form  # prefilled from the referral


def test_a_refused_action_is_a_message_not_an_error(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    login(client, demo["hop.cardio"])
    response = client.post(f"/liaison/{sheet.code}/action/no_show/", follow=True)
    assert response.status_code == 200
    assert "Action impossible" in response.content.decode()


def test_outsiders_get_404_on_the_pages(client: Client, demo, make_referral) -> None:
    sheet = make_referral()
    login(client, demo["hop.urgences"])
    assert client.get(f"/liaison/{sheet.code}/").status_code == 404
    assert client.post(f"/liaison/{sheet.code}/action/receive/").status_code == 404


def test_a_malformed_service_id_in_a_form_is_no_service_not_an_error(
    client: Client, demo, make_referral
) -> None:
    """A malformed id is a miss like an unknown one (security.access.get_or_not_found)."""
    sheet = make_referral()
    login(client, demo["hop.cardio"])
    response = client.post(
        f"/liaison/{sheet.code}/action/decline/", {"redirect_to": "pas-un-id", "note": "Complet"}
    )
    assert response.status_code == 302
    sheet.refresh_from_db()
    assert sheet.status == "declined"
    assert not LiaisonSheet.objects.filter(redirected_from=sheet).exists()


def test_a_refused_autosave_names_the_fields_in_words(client: Client, demo, cardiologie) -> None:
    """The autosave line (static/js/liaison-form.js) shows `problems`: words, never keys."""
    login(client, demo["dr.martin"])
    data = form_data(cardiologie, demo["ide.petit"], reason="", send="1")
    response = client.post("/liaison/nouvelle/", data, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    body = response.json()
    assert "reason" in body["fields"]  # the API's keys stay, for programs
    assert any(problem.startswith("Motif") for problem in body["problems"]), body["problems"]
    assert not any("reason" in problem for problem in body["problems"])
