"""Searching conversations: participant, subject, patient (blind index), date, unread, urgent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils.timezone import localdate, now

from messaging.services import conversations, messages
from tests.messaging.conftest import API, PATIENT, say

pytestmark = pytest.mark.django_db


def subjects(client, query: str = "") -> list[str]:
    response = client.get(f"{API}?{query}")
    assert response.status_code == 200, response.json()
    return sorted(c["subject"] for c in response.json()["results"])


@pytest.fixture
def inbox(demo, start, make_sheet):
    """dr.martin's conversations: plain, about a patient, about a sheet, urgent, left."""
    start(subject="Horaires de la pharmacie", body="Ouvert samedi ?")
    start(
        subject="Traitement de Mme Lefèvre",
        to=("pharma.durand", "ide.petit"),
        patient=PATIENT,
        body="x",
    )
    start(subject="Suivi de la fiche", to=("ide.petit",), liaison_sheet=make_sheet())
    urgent = start(
        author="ide.petit", subject="Pansement", to=("dr.martin",), body="Vite", urgent=True
    )
    left = start(author="dr.leroy", subject="Réunion de la CPTS", to=("dr.martin",), body="Jeudi ?")
    conversations.leave_conversation(actor=demo["dr.martin"], conversation=left)
    return urgent


def test_the_default_list_has_the_conversations_one_takes_part_in(client_for, gp, inbox) -> None:
    assert subjects(client_for(gp)) == [
        "Horaires de la pharmacie",
        "Pansement",
        "Suivi de la fiche",
        "Traitement de Mme Lefèvre",
    ]
    assert subjects(client_for(gp), "left=true") == ["Réunion de la CPTS"]


def test_by_participant(client_for, demo, gp, inbox) -> None:
    nurse = demo["ide.petit"]
    assert subjects(client_for(gp), f"participant={nurse.code}") == [
        "Pansement",
        "Suivi de la fiche",
        "Traitement de Mme Lefèvre",
    ]


def test_by_subject_whatever_the_accents_and_the_case(client_for, gp, inbox) -> None:
    client = client_for(gp)
    assert subjects(client, "subject=pharmacie") == ["Horaires de la pharmacie"]
    # Every subject is encrypted, about a patient or not: searched once decrypted.
    assert subjects(client, "subject=lefevre") == ["Traitement de Mme Lefèvre"]
    assert subjects(client, "subject=LEFÈVRE") == ["Traitement de Mme Lefèvre"]
    assert subjects(client, "subject=FICHE") == ["Suivi de la fiche"]
    # Every word, in any order; part of a word is enough.
    assert subjects(client, "subject=Pharma+HORAIRES") == ["Horaires de la pharmacie"]
    assert subjects(client, "subject=pharmacie+Lefèvre") == []
    assert subjects(client, "subject=réunion") == []  # left: only with left=true
    assert subjects(client, "subject=reunion&left=true") == ["Réunion de la CPTS"]


def test_by_subject_whatever_the_ligatures_and_the_apostrophes(client_for, gp, start) -> None:
    start(subject="Œdème de M. Saint\u2011Just à l\u2019hôpital")
    start(subject="Autre chose")
    client = client_for(gp)
    expected = ["Œdème de M. Saint\u2011Just à l\u2019hôpital"]
    assert subjects(client, "subject=oedeme") == expected
    assert subjects(client, "subject=l'hopital+SAINT-JUST") == expected


def test_a_subject_search_never_finds_what_the_member_cannot_see(client_for, demo, inbox) -> None:
    # pharma.durand takes part in the conversation about Mme Lefèvre, not in the others.
    assert subjects(client_for(demo["pharma.durand"]), "subject=e") == [
        "Horaires de la pharmacie",
        "Traitement de Mme Lefèvre",
    ]
    for outsider in ("dr.leroy", "hop.cardio", "as.moreau", "coord"):
        client = client_for(demo[outsider])
        assert subjects(client, "subject=Lefèvre") == [], outsider
        assert subjects(client, "subject=pharmacie") == [], outsider


def test_a_subject_search_reads_the_most_recent_conversations_only(
    client_for, gp, start, settings
) -> None:
    with time_machine.travel(now() - timedelta(days=30)):
        start(subject="Bilan de janvier", body="x")
    for index in range(3):
        start(subject=f"Bilan {index}", body="x")
    settings.MESSAGING_SUBJECT_SEARCH_LIMIT = 3
    client = client_for(gp)
    # Only the 3 most recent subjects are decrypted: the oldest is out of reach...
    assert subjects(client, "subject=bilan") == ["Bilan 0", "Bilan 1", "Bilan 2"]
    # ...until the other filters narrow the list down to it.
    before = localdate() - timedelta(days=10)
    assert subjects(client, f"subject=bilan&date_to={before}") == ["Bilan de janvier"]


def test_by_patient_through_the_blind_index(client_for, gp, inbox) -> None:
    client = client_for(gp)
    # The sheet's patient is the same person (same INS): found through the sheet's index.
    assert subjects(client, "ins=2 79 03 51 215 189 89") == [
        "Suivi de la fiche",
        "Traitement de Mme Lefèvre",
    ]
    assert subjects(client, "ins=1 79 03 51 215 189 89") == []
    assert subjects(client, "family_name=LEFEVRE&birth_date=1979-03-15") == [
        "Suivi de la fiche",
        "Traitement de Mme Lefèvre",
    ]
    assert subjects(client, "family_name=moreau&birth_date=1979-03-15") == [
        "Suivi de la fiche",
        "Traitement de Mme Lefèvre",
    ]
    assert subjects(client, "family_name=Lefèvre&birth_date=1980-01-01") == []


def test_by_unread_and_urgent(client_for, gp, inbox) -> None:
    client = client_for(gp)
    assert subjects(client, "unread=true") == ["Pansement"]
    assert subjects(client, "urgent=true") == ["Pansement"]
    messages.mark_read(actor=gp, conversation=inbox)
    assert subjects(client, "unread=true") == []
    assert "Pansement" in subjects(client, "unread=false")


def test_by_date_of_the_last_message(client_for, gp, demo, start) -> None:
    with time_machine.travel(now() - timedelta(days=10)):
        start(subject="Ancienne", body="x")
    recent = start(subject="Récente", body="x")
    say(demo["pharma.durand"], recent, "Réponse")
    today = localdate()
    client = client_for(gp)
    assert subjects(client, f"date_from={today}") == ["Récente"]
    assert subjects(client, f"date_to={today - timedelta(days=5)}") == ["Ancienne"]


@pytest.mark.parametrize(
    "query",
    [
        "family_name=Lefèvre",
        "unread=oui",
        "birth_date=hier",
        "colour=blue",
        "participant=x",
        "page=0",
    ],
)
def test_a_bad_search_is_a_400(client_for, gp, query) -> None:
    assert client_for(gp).get(f"{API}?{query}").status_code == 400


def test_the_most_recent_activity_comes_first(client_for, gp, demo, start) -> None:
    with time_machine.travel(now() - timedelta(days=3)):
        old = start(subject="Ancienne conversation", body="x")
    with time_machine.travel(now() - timedelta(days=2)):
        start(subject="Créée sans message")
    with time_machine.travel(now() - timedelta(days=1)):
        say(demo["pharma.durand"], old, "Relance")
    start(subject="Toute neuve")
    results = client_for(gp).get(API).json()["results"]
    assert [c["subject"] for c in results] == [
        "Toute neuve",
        "Ancienne conversation",
        "Créée sans message",
    ]
