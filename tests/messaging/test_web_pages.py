"""The French messaging pages through Django's test client (the browser test drives them too)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.test import Client, RequestFactory

from directory.models import Organisation
from messaging.models import Attachment, Conversation, Message, MessageReceipt
from messaging.selectors import download_url
from tests.messaging.conftest import PDF, pdf_upload, say

pytestmark = pytest.mark.django_db


def login(client: Client, member) -> Client:
    client.force_login(member.user)
    return client


def test_the_inbox_shows_unread_counts(client: Client, pharmacist, conversation) -> None:
    page = login(client, pharmacist).get("/messagerie/").content.decode()
    assert "Traitement de sortie" in page
    assert "1 non lu" in page
    assert "Claire Martin" in page


def test_the_inbox_search_form_filters(client: Client, gp, start) -> None:
    start(subject="Horaires de la pharmacie")
    start(subject="Autre chose")
    page = login(client, gp).get("/messagerie/?subject=horaires").content.decode()
    assert "Horaires de la pharmacie" in page
    assert "Autre chose" not in page
    bad = client.get("/messagerie/?family_name=Dupont").content.decode()
    assert "date de naissance" in bad


def test_the_inbox_searches_encrypted_subjects_and_says_how_far(
    client: Client, gp, start, settings
) -> None:
    settings.MESSAGING_SUBJECT_SEARCH_LIMIT = 300
    start(subject="Passage chez Mme Lefèvre")
    start(subject="Autre chose")
    page = login(client, gp).get("/messagerie/?subject=LEFEVRE").content.decode()
    assert "Passage chez Mme Lefèvre" in page
    assert "Autre chose" not in page
    assert "vos 300 conversations les plus récentes" in page


def test_composing_sends_a_message_with_a_file(client: Client, gp, pharmacist) -> None:
    login(client, gp)
    assert "Rechercher dans l'annuaire" in client.get("/messagerie/nouvelle/").content.decode()
    response = client.post(
        "/messagerie/nouvelle/",
        {
            "participants": [str(pharmacist.code)],
            "subject": "Ordonnance",
            "body": "Ci-jointe",
            "urgent": "1",
            "creation_key": "k1",
            "attachments": [SimpleUploadedFile("ordonnance.pdf", PDF)],
        },
    )
    conversation = Conversation.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/messagerie/{conversation.code}/"
    message = Message.objects.get(conversation=conversation)
    assert (message.body, message.urgent) == ("Ci-jointe", True)
    assert Attachment.objects.get(message=message).filename == "ordonnance.pdf"


def test_composing_about_a_patient_and_a_sheet(client: Client, gp, demo, make_sheet) -> None:
    sheet = make_sheet()
    login(client, gp)
    page = client.get(f"/messagerie/nouvelle/?fiche={sheet.code}").content.decode()
    assert "À propos de la fiche de liaison" in page
    client.post(
        "/messagerie/nouvelle/",
        {
            "participants": [str(demo["ide.petit"].code)],
            "subject": "Suivi",
            "liaison_sheet": str(sheet.code),
            "body": "x",
        },
    )
    assert Conversation.objects.get().liaison_sheet == sheet


def test_composing_shows_what_is_wrong(client: Client, gp, pharmacist) -> None:
    login(client, gp)
    response = client.post(
        "/messagerie/nouvelle/",
        {
            "participants": [str(pharmacist.code)],
            "subject": "Patient",
            "body": "x",
            "patient.birth_family_name": "Lefèvre",
        },
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Obligatoire pour rattacher un patient" in page
    assert "Marc Durand" in page  # the chosen recipient is kept
    assert 'value="Lefèvre"' in page
    assert not Conversation.objects.exists()
    empty = client.post("/messagerie/nouvelle/", {"subject": "x", "body": "x"})
    assert "au moins un destinataire" in empty.content.decode()


def test_the_recipient_search_answers_json(client: Client, gp) -> None:
    login(client, gp)
    results = client.get("/messagerie/destinataires/?q=durand").json()["results"]
    assert [r["name"] for r in results] == ["Marc Durand"]
    assert "Pharmacie de la Loire" in results[0]["detail"]
    assert (
        client.get("/messagerie/destinataires/?q=pharmacie").json()["results"][0]["name"]
        == "Marc Durand"
    )
    assert client.get("/messagerie/destinataires/?q=martin").json()["results"] == []  # not oneself
    assert client.get("/messagerie/destinataires/").json()["results"] == []


def test_opening_a_conversation_reads_it(client: Client, gp, pharmacist, conversation) -> None:
    page = login(client, pharmacist).get(f"/messagerie/{conversation.code}/").content.decode()
    assert "Le ramipril est-il bien arrêté ?" in page
    assert 'data-poll-url="/messagerie/' in page
    assert "<script>" not in page  # CSP: scripts are files
    assert MessageReceipt.objects.get(member=pharmacist).read_at is not None
    sender_page = login(Client(), gp).get(f"/messagerie/{conversation.code}/").content.decode()
    assert "Lu par Marc Durand" in sender_page


def test_the_poll_returns_new_messages_and_receipts(
    client: Client, gp, pharmacist, conversation
) -> None:
    first = Message.objects.get(conversation=conversation)
    login(client, gp)
    empty = client.get(f"/messagerie/{conversation.code}/nouveaux/?apres={first.code}").json()
    assert empty["messages"] == []
    assert "Non lu par Marc Durand" in empty["receipts"][str(first.code)]
    answer = say(pharmacist, conversation, "Oui, arrêté")
    data = client.get(f"/messagerie/{conversation.code}/nouveaux/?apres={first.code}").json()
    assert [m["id"] for m in data["messages"]] == [str(answer.code)]
    assert "Oui, arrêté" in data["messages"][0]["html"]
    assert client.get(f"/messagerie/{conversation.code}/nouveaux/?apres=nope").status_code == 400
    assert client.post(f"/messagerie/{conversation.code}/lu/").json() == {"marked": 1}


def test_replying_from_the_page(client: Client, gp, pharmacist, conversation) -> None:
    login(client, pharmacist)
    url = f"/messagerie/{conversation.code}/"
    response = client.post(url, {"body": "Oui", "key": "r1"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    again = client.post(
        url, {"body": "Oui", "key": "r1"}, HTTP_ACCEPT="application/json"
    )  # double click
    assert again.json() == response.json()
    assert Message.objects.filter(author=pharmacist).count() == 1
    empty = client.post(url, {"body": " "}, HTTP_ACCEPT="application/json")
    assert empty.status_code == 400
    assert "vide" in empty.json()["detail"]
    plain = client.post(url, {"body": ""})
    assert plain.status_code == 400
    assert "Le message est vide." in plain.content.decode()
    redirected = client.post(url, {"body": "Sans JavaScript"})
    assert redirected.status_code == 302


def test_leaving_adding_and_redacting_from_the_page(
    client: Client, demo, gp, pharmacist, conversation
) -> None:
    login(client, gp)
    base = f"/messagerie/{conversation.code}/"
    client.post(f"{base}participants/", {"member": str(demo["ide.petit"].code)})
    assert conversation.participants.filter(member=demo["ide.petit"]).exists()
    message = Message.objects.filter(kind="message").get()
    client.post(f"{base}messages/{message.code}/retirer/")
    message.refresh_from_db()
    assert message.redacted_at is not None
    assert "Message retiré le" in client.get(base).content.decode()
    login(client, pharmacist)
    assert client.post(f"{base}quitter/").status_code == 302
    page = client.get(base).content.decode()
    assert "Vous avez quitté cette conversation" in page
    assert 'id="reply-form"' not in page


def test_downloading_from_the_page(client: Client, gp, pharmacist, conversation) -> None:
    message = say(gp, conversation, "Ci-joint", files=[pdf_upload()])
    attachment = Attachment.objects.get(message=message)
    login(client, pharmacist)
    page = client.get(f"/messagerie/{conversation.code}/").content.decode()
    assert f"/messagerie/{conversation.code}/pieces/{attachment.code}/?token=" in page
    url = download_url(pharmacist, attachment, conversation.code, api=False)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    expired = client.get(f"/messagerie/{conversation.code}/pieces/{attachment.code}/?token=x")
    assert expired.status_code == 302  # back to the page, which issues fresh links


def test_outsiders_get_404_on_every_page(client: Client, demo, conversation) -> None:
    message = Message.objects.get(conversation=conversation)
    login(client, demo["ide.petit"])
    base = f"/messagerie/{conversation.code}/"
    for method, url in [
        ("get", base),
        ("post", base),
        ("get", f"{base}nouveaux/"),
        ("post", f"{base}lu/"),
        ("post", f"{base}participants/"),
        ("post", f"{base}quitter/"),
        ("post", f"{base}messages/{message.code}/retirer/"),
        ("get", f"{base}pieces/{message.code}/?token=x"),
    ]:
        assert getattr(client, method)(url).status_code == 404, url


def test_a_shared_inbox_shows_its_name(client: Client, demo, start) -> None:
    start(
        to=(),
        organisation_inbox=Organisation.objects.get(name="Cardiologie"),
        body="x",
        subject="Délai",
    )
    page = login(client, demo["hop.cardio2"]).get("/messagerie/").content.decode()
    assert "Cardiologie — boîte partagée" in page


def test_the_sheet_page_snippet_lists_the_conversations(demo, gp, start, make_sheet) -> None:
    sheet = make_sheet()
    start(to=("ide.petit",), subject="À propos de la fiche", liaison_sheet=sheet, body="x")
    request = RequestFactory().get("/")
    request.user = demo["ide.petit"].user
    html = Template("{% load messaging %}{% sheet_conversations sheet %}").render(
        Context({"request": request, "sheet": sheet})
    )
    assert "À propos de la fiche" in html
    assert f"/messagerie/nouvelle/?fiche={sheet.code}" in html
    request.user = demo["hop.urgences"].user
    assert "À propos de la fiche" not in Template(
        "{% load messaging %}{% sheet_conversations sheet %}"
    ).render(Context({"request": request, "sheet": sheet}))
