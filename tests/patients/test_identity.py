"""The patient identity, stored by one app and searched by another (patients.identity).

Liaison sheets and conversations index the same identity with the same keys, so a search
must go through the same steps as the value stored, whichever app does it: an INS is a
number whatever spaces it was typed with (pasted from a letter, it carries non-breaking
ones), and a family name is only ever searched with the birth date.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db.models import Q

from liaison.selectors import sheet_list
from messaging.selectors import conversation_list
from messaging.services import conversations
from patients.identity import identity_indexes, patient_search
from tests.liaison.conftest import TEST_INS, referral_body
from tests.messaging.conftest import PATIENT

pytestmark = pytest.mark.django_db
SHEETS = "/api/v1/liaison-sheets/"
CONVERSATIONS = "/api/v1/conversations/"
# The test INS as people type it: grouped 1 2 2 2 3 3 2, with a space, a non-breaking space
# (copied from a word processor), a narrow non-breaking space (French typography), a tab.
TYPED = [
    "2 79 03 51 215 189 89",
    "2\u00a079\u00a003\u00a051\u00a0215\u00a0189\u00a089",
    "2\u202f79\u202f03\u202f51\u202f215\u202f189\u202f89",
    "279035121518989\t",
]


def leaves(condition: Q) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for child in condition.children:
        found.extend(leaves(child) if isinstance(child, Q) else [child])
    return found


def ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [row["id"] for row in response.json()["results"]]


@pytest.mark.parametrize("typed", TYPED[1:])
def test_an_ins_typed_with_any_spaces_is_stored_as_the_bare_number(
    client_for, demo, cardiologie, typed
) -> None:
    body = referral_body(cardiologie, [])
    body["patient"]["ins"] = typed

    response = client_for(demo["dr.martin"]).post(SHEETS, body, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["patient"]["ins"] == TEST_INS


@pytest.mark.parametrize("typed", TYPED)
def test_both_apps_find_the_ins_whatever_spaces_it_is_searched_with(
    client_for, demo, make_referral, typed
) -> None:
    gp = demo["dr.martin"]
    sheet = make_referral()
    about_sheet = conversations.start_conversation(
        actor=gp, subject="Suivi", participants=[demo["ide.petit"]], liaison_sheet=sheet
    )
    about_patient = conversations.start_conversation(
        actor=gp, subject="Traitement", participants=[demo["ide.petit"]], patient=PATIENT
    )
    client = client_for(gp)

    assert ids(client.get(SHEETS, {"ins": typed})) == [str(sheet.code)]
    assert sorted(ids(client.get(CONVERSATIONS, {"ins": typed}))) == sorted(
        [str(about_sheet.code), str(about_patient.code)]
    )


def test_a_family_name_without_a_birth_date_finds_nobody(demo, make_referral) -> None:
    """A name alone is too common to identify a patient: the search never widens to all."""
    gp = demo["dr.martin"]
    sheet = make_referral()
    conversations.start_conversation(
        actor=gp, subject="Suivi", participants=[demo["ide.petit"]], liaison_sheet=sheet
    )

    assert list(sheet_list(gp, family_name="Lefèvre")) == []
    assert list(conversation_list(gp, family_name="Lefèvre")) == []
    assert list(conversation_list(gp, family_name="Lefèvre", birth_date=date(1979, 3, 15)))


@pytest.mark.parametrize(
    ("ins", "family_name"),
    [
        (TEST_INS, ""),
        ("2 79 03 51 215 189 89", ""),
        ("", "LEFEVRE"),
        ("", " lefèvre "),
        ("", "Moreau"),  # the used name finds the patient too
        (TYPED[1], "Lefèvre"),
    ],
)
def test_the_indexes_of_a_search_are_those_of_the_stored_identity(
    demo, ins: str, family_name: str
) -> None:
    stored = identity_indexes(PATIENT)
    condition = patient_search(ins=ins, family_name=family_name, birth_date=date(1979, 3, 15))

    searched = {value for _lookup, value in leaves(condition)}
    assert searched
    assert searched <= set(stored.values())


def test_an_identity_without_a_birth_date_has_no_name_index() -> None:
    indexes = identity_indexes({"birth_family_name": "Lefèvre", "ins": ""})

    assert indexes == {"ins_index": "", "birth_name_index": "", "used_name_index": ""}
