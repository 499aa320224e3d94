"""The list endpoint and the web worklist: filters, and one audit entry per list read."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from liaison.services import discharge, drafts, transitions
from security.models import AuditEntry
from tests.liaison.conftest import TEST_INS, discharge_content

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


@pytest.fixture
def letters(demo, make_referral):
    """Two letters sent by cardiologie to dr.martin: one in progress, one final."""
    cardio = demo["hop.cardio"]
    sent = {}
    for status, content in [
        ("in_progress", discharge_content(pending_results="Biopsie en cours")),
        ("final", discharge_content()),
    ]:
        letter = discharge.start_discharge_letter(actor=cardio, referral=make_referral())
        letter = drafts.update_draft(
            actor=cardio, sheet=letter, expected_version=letter.version, content=content
        )
        sent[status] = transitions.send_sheet(actor=cardio, sheet=letter)
    return sent


@pytest.mark.parametrize("status", ["in_progress", "final"])
def test_it_filters_letters_by_document_status(client_for, demo, letters, status) -> None:
    response = client_for(demo["dr.martin"]).get(f"{API}?kind=discharge&document_status={status}")

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [str(letters[status].code)]


def test_an_unknown_document_status_is_a_400(client_for, demo) -> None:
    response = client_for(demo["dr.martin"]).get(f"{API}?document_status=done")

    assert response.status_code == 400
    assert "document_status" in response.json()


def test_the_filter_is_in_the_openapi_schema(client_for, demo) -> None:
    schema = client_for(demo["dr.martin"]).get("/api/schema/?format=json").json()
    parameters = schema["paths"][API]["get"]["parameters"]
    [parameter] = [p for p in parameters if p["name"] == "document_status"]
    assert set(parameter["schema"]["enum"]) == {"in_progress", "final"}


def test_each_list_request_is_audited_with_its_filters(client_for, demo, letters) -> None:
    gp = demo["dr.martin"]
    before = AuditEntry.objects.filter(action="liaison_sheet.list").count()

    client_for(gp).get(f"{API}?box=inbox&kind=discharge&document_status=final&page=1")

    entries = AuditEntry.objects.filter(action="liaison_sheet.list").order_by("pk")
    assert entries.count() == before + 1
    entry = entries.last()
    assert entry.actor == gp
    assert entry.extra == {
        "source": "api",
        "box": "inbox",
        "kind": "discharge",
        "document_status": "final",
        "page": "1",
    }


def test_a_patient_search_is_audited_without_the_identity(client_for, demo, letters) -> None:
    client = client_for(demo["dr.martin"])
    client.get(f"{API}?ins={TEST_INS}")
    client.get(f"{API}?family_name=Lefèvre&birth_date=1979-03-15")

    entries = list(AuditEntry.objects.filter(action="liaison_sheet.list").order_by("pk"))[-2:]
    assert [e.extra["patient_search"] for e in entries] == [
        ["ins"],
        ["family_name", "birth_date"],
    ]
    stored = json.dumps([e.extra for e in entries], ensure_ascii=False)
    for identity in (TEST_INS, "Lefèvre", "1979-03-15", "Éloïse"):
        assert identity not in stored


def test_a_page_parameter_that_is_not_a_number_is_not_recorded(client_for, demo) -> None:
    client_for(demo["dr.martin"]).get(f"{API}?page=Lefevre")

    entry = AuditEntry.objects.filter(action="liaison_sheet.list").latest("pk")
    assert "page" not in entry.extra


@pytest.mark.parametrize("tab", ["a-traiter", "envoyees", "en-attente"])
def test_the_web_worklist_is_audited(client, demo, letters, tab) -> None:
    client.force_login(demo["dr.martin"].user)

    response = client.get(f"/liaison/?onglet={tab}")

    assert response.status_code == 200
    entry = AuditEntry.objects.filter(action="liaison_sheet.list").latest("pk")
    assert entry.actor == demo["dr.martin"]
    assert entry.extra == {"source": "web", "tab": tab}


@pytest.mark.parametrize(
    ("persona", "tab"),
    [("dr.martin", "a-traiter"), ("dr.martin", "envoyees"), ("hop.cardio", "envoyees")],
)
def test_a_worklist_page_costs_the_same_queries_for_more_rows(
    client, demo, make_referral, persona, tab
) -> None:
    """Rows with letters answering referrals read nothing more per row (no N+1)."""

    def letter() -> None:
        cardio = demo["hop.cardio"]
        sheet = discharge.start_discharge_letter(actor=cardio, referral=make_referral())
        sheet = drafts.update_draft(
            actor=cardio, sheet=sheet, expected_version=sheet.version, content=discharge_content()
        )
        transitions.send_sheet(actor=cardio, sheet=sheet)

    client.force_login(demo[persona].user)

    def statements() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/liaison/?onglet={tab}")
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode().count("/liaison/")

    letter()
    few, few_links = statements()
    for _ in range(4):
        letter()
        make_referral()
    many, many_links = statements()
    assert many_links > few_links  # the page lists more rows...
    assert many == few  # ...with the same statements
