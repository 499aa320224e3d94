"""The agenda's French pages through Django's test client, on the whole demo."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from events.models import Event, Registration

pytestmark = pytest.mark.django_db


def login(client: Client, member) -> Client:
    client.force_login(member.user)
    return client


def test_the_agenda_lists_upcoming_and_past(client: Client, full_demo) -> None:
    body = login(client, full_demo["dr.leroy"]).get("/agenda/").content.decode()
    assert "Journée annuelle de médecine générale" in body
    assert "Rencontre médecins" in body
    assert "RCP maintien" not in body  # not invited
    assert 'href="/agenda/"' in body  # the navigation's link


def test_register_in_one_click_and_the_case_meeting_is_hidden(client: Client, full_demo) -> None:
    annual = Event.objects.get(kind="annual_day")
    login(client, full_demo["dr.leroy"])
    page = client.get(f"/agenda/{annual.code}/").content.decode()
    assert "Table ronde" in page
    response = client.post(f"/agenda/{annual.code}/reponse/inscription/", follow=True)
    assert "Vous êtes inscrit." in response.content.decode()
    assert Registration.objects.filter(event=annual, member=full_demo["dr.leroy"]).exists()
    case = Event.objects.get(kind="case_meeting")
    assert client.get(f"/agenda/{case.code}/").status_code == 404
    nurse = login(Client(), full_demo["ide.petit"])
    assert "LEFÈVRE" in nurse.get(f"/agenda/{case.code}/").content.decode()


def test_the_form_creates_and_refuses_in_french(client: Client, full_demo) -> None:
    login(client, full_demo["coord"])
    assert client.get("/agenda/nouveau/").status_code == 200
    data = {"kind": "meeting", "title": "Réunion", "place": "MSP", "start_date": "2030-01-10",
            "start_time": "18:00", "end_date": "2030-01-10", "end_time": "17:00"}  # fmt: skip
    refused = client.post("/agenda/nouveau/", data)
    assert refused.status_code == 400
    assert "La fin doit être après le début." in refused.content.decode()
    done = client.post("/agenda/nouveau/", {**data, "end_time": "20:00"})
    assert done.status_code == 302
    event = Event.objects.get(title="Réunion")
    assert client.get(f"/agenda/{event.code}/modifier/").status_code == 200


def test_organiser_pages_qr_check_in_and_results(client: Client, full_demo) -> None:
    meeting = Event.objects.get(title__startswith="Rencontre médecins")
    login(client, full_demo["coord"])
    assert client.get(f"/agenda/{meeting.code}/emargement/").status_code == 200
    qr = client.get(f"/agenda/{meeting.code}/qr/").content.decode()
    assert "<svg" in qr
    results = client.get(f"/agenda/{meeting.code}/resultats/").content.decode()
    assert "Moyenne sur 5" in results
    link = re.search(r'href="(http://testserver/agenda/pointage/[^"]+)"', qr)
    assert link is not None
    path = link.group(1).removeprefix("http://testserver")
    gp = login(Client(), full_demo["dr.martin"])
    assert gp.get(path).status_code == 200
    assert gp.get(f"/agenda/{meeting.code}/resultats/").status_code == 404


def test_public_agenda_and_registration_without_an_account(client: Client, full_demo) -> None:
    annual = Event.objects.get(kind="annual_day")
    body = client.get("/agenda/public/").content.decode()
    assert "Journée annuelle" in body
    assert "Fontaine" not in body  # the organiser's name is not shown
    form = {"name": "Jean Élu", "email": "maire@example.org", "sector": "elected",
            "consent_to_contact": "on"}  # fmt: skip
    done = client.post(f"/agenda/public/{annual.code}/inscription/", form)
    assert "Vous êtes inscrit" in done.content.decode()
    assert Registration.objects.get(external_email="maire@example.org").consent_at is not None


def test_the_feed_of_a_member(client: Client, full_demo) -> None:
    from events.services import issue_calendar_feed

    secret = issue_calendar_feed(actor=full_demo["dr.martin"])
    body = client.get(f"/agenda/calendrier/{secret}.ics").content.decode()
    assert "Journée annuelle" in body
    assert "Lefèvre" not in body


def test_the_organiser_adds_minutes_and_participants_download_them(
    client: Client, full_demo
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    meeting = Event.objects.get(title__startswith="Rencontre médecins")
    login(client, full_demo["coord"])
    upload = SimpleUploadedFile(
        "cr.txt", b"Compte rendu de la rencontre", content_type="text/plain"
    )
    response = client.post(f"/agenda/{meeting.code}/documents/",
                           {"kind": "minutes", "file": upload}, follow=True)  # fmt: skip
    assert "Document ajouté." in response.content.decode()
    document = meeting.documents.get()
    gp = login(Client(), full_demo["dr.martin"])  # registered to the meeting
    page = gp.get(f"/agenda/{meeting.code}/").content.decode()
    assert f"/agenda/{meeting.code}/documents/{document.code}/" in page
    got = gp.get(f"/agenda/{meeting.code}/documents/{document.code}/")
    assert b"".join(got.streaming_content) == b"Compte rendu de la rencontre"
    outsider = login(Client(), full_demo["hop.cardio"])
    assert outsider.get(f"/agenda/{meeting.code}/documents/{document.code}/").status_code == 404


def test_the_public_form_is_throttled_per_address(client: Client, full_demo, settings) -> None:
    settings.PUBLIC_REGISTRATION_PAGE_LIMIT = 2
    annual = Event.objects.get(kind="annual_day")
    url = f"/agenda/public/{annual.code}/inscription/"
    for index in range(2):
        form = {"name": f"Interne {index}", "email": f"i{index}@example.org", "sector": "students"}
        assert client.post(url, form).status_code == 200
    refused = client.post(url, {"name": "X", "email": "x@example.org", "sector": "students"})
    assert refused.status_code == 429
    assert "réessayez dans une heure" in refused.content.decode()
    assert not Registration.objects.filter(external_email="x@example.org").exists()


def test_the_organiser_invites_from_the_page(client: Client, full_demo) -> None:
    from worker.models import Notification

    annual = Event.objects.get(kind="annual_day")
    login(client, full_demo["coord"])
    page = client.get(f"/agenda/{annual.code}/").content.decode()
    assert 'id="invite-form"' in page
    response = client.post(f"/agenda/{annual.code}/invitations/", {
        "members": [str(full_demo["hop.cardio"].code)], "professions": ["pharmacien"]},
        follow=True)  # fmt: skip
    assert "Invitations envoyées." in response.content.decode()
    told = Notification.objects.filter(event="events.invited")
    assert told.filter(recipient=full_demo["hop.cardio"]).exists()
    assert told.filter(recipient=full_demo["pharma.durand"]).exists()
    assert "Pharmacien" in response.content.decode()
