"""Worklists that triage and empty: what needs action first, filters, "Classer", reading."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils.timezone import now

from liaison import selectors
from liaison.models import LiaisonSheet
from liaison.services import discharge, drafts, transitions
from security.models import AuditEntry
from tests.liaison.conftest import TEST_INS, discharge_content
from worker.models import Notification

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


def _sent(sheet: LiaisonSheet, ago: timedelta) -> LiaisonSheet:
    LiaisonSheet.objects.filter(pk=sheet.pk).update(sent_at=now() - ago)
    sheet.refresh_from_db()
    return sheet


@pytest.fixture
def letter(demo, make_referral):
    """A final discharge letter sent by cardiologie to dr.martin (and ide.petit)."""
    cardio = demo["hop.cardio"]
    draft = discharge.start_discharge_letter(actor=cardio, referral=make_referral())
    draft = drafts.update_draft(
        actor=cardio, sheet=draft, expected_version=draft.version, content=discharge_content()
    )
    return transitions.send_sheet(actor=cardio, sheet=draft)


# --- 1. Triage order ---------------------------------------------------------------------


def test_the_inbox_puts_overdue_then_urgent_then_by_due_date(client_for, demo, make_referral):
    routine_fresh = _sent(make_referral(urgency="routine"), timedelta(hours=1))
    urgent_fresh = _sent(make_referral(urgency="urgent"), timedelta(hours=1))
    routine_late = _sent(make_referral(urgency="routine"), timedelta(days=5))
    emergency_fresh = _sent(make_referral(urgency="emergency"), timedelta(minutes=10))
    urgent_late = _sent(make_referral(urgency="urgent"), timedelta(hours=6))

    rows = client_for(demo["hop.cardio"]).get(f"{API}?box=inbox").json()["results"]

    # The two late ones by due date (routine due 3 days ago, urgent 2 hours ago), then the
    # urgent ones by due date (emergency in 50 min, urgent in 3 h), then the rest.
    assert [r["id"] for r in rows] == [
        str(s.code)
        for s in (routine_late, urgent_late, emergency_fresh, urgent_fresh, routine_fresh)
    ]
    assert [r["overdue"] for r in rows] == [True, True, False, False, False]
    assert rows[4]["due_at"] is not None


def test_an_accepted_referral_is_due_its_letter_after_the_grace_period(
    client_for, demo, make_referral
):
    cardio = demo["hop.cardio"]
    late = make_referral(urgency="routine")
    transitions.transition_referral(actor=cardio, sheet=late, action="accept",
                                    planned_date=(now() - timedelta(days=20)).date())  # fmt: skip
    fresh = _sent(make_referral(urgency="routine"), timedelta(minutes=5))

    rows = client_for(cardio).get(f"{API}?box=inbox").json()["results"]

    assert [r["id"] for r in rows] == [str(late.code), str(fresh.code)]
    assert rows[0]["overdue"] is True


def test_the_page_says_how_late_an_item_is(client, demo, make_referral):
    _sent(make_referral(urgency="routine"), timedelta(days=5, hours=1))  # due 2 days ago
    client.force_login(demo["hop.cardio"].user)

    body = client.get("/liaison/").content.decode()

    assert "en retard de 3 jours" in body


# --- 2. Filters --------------------------------------------------------------------------


def test_the_api_filters_by_service(client_for, demo, make_referral, urgences):
    make_referral()
    gp = client_for(demo["dr.martin"])

    to_urgences = gp.get(f"{API}?service={urgences.code}").json()["results"]
    everything = gp.get(API).json()["results"]

    assert to_urgences == []
    assert len(everything) == 1


def test_an_unknown_service_is_a_400_naming_it(client_for, demo) -> None:
    response = client_for(demo["dr.martin"]).get(f"{API}?service=pas-un-service")

    assert response.status_code == 400
    assert "service" in response.json()


def test_a_period_that_ends_before_it_starts_is_a_400(client_for, demo) -> None:
    response = client_for(demo["dr.martin"]).get(f"{API}?sent_from=2026-12-01&sent_to=2026-11-01")

    assert response.status_code == 400
    assert "sent_to" in response.json()


def test_the_page_searches_by_patient_through_the_blind_index(client, demo, make_referral):
    make_referral()
    client.force_login(demo["hop.cardio"].user)

    found = client.get("/liaison/", {"ins": TEST_INS}).content.decode()
    by_name = client.get(
        "/liaison/", {"family_name": "LEFEVRE", "birth_date": "1979-03-15"}
    ).content.decode()
    other = client.get("/liaison/", {"ins": "1" * 15}).content.decode()

    assert "LEFÈVRE" in found
    assert "LEFÈVRE" in by_name
    assert "LEFÈVRE" not in other
    assert "Aucune fiche ne correspond" in other


def test_the_page_filters_by_state_and_urgency(client, demo, make_referral):
    make_referral(urgency="urgent")
    client.force_login(demo["hop.cardio"].user)

    assert "LEFÈVRE" in client.get("/liaison/?urgency=urgent&status=sent").content.decode()
    assert "LEFÈVRE" not in client.get("/liaison/?urgency=emergency").content.decode()
    assert "LEFÈVRE" not in client.get("/liaison/?status=accepted").content.decode()


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("statut=sent", "Paramètre inconnu : statut."),
        ("urgency=vite", "Urgence :"),
        ("birth_date=1979-13-45&family_name=X", "Date de naissance :"),
        ("family_name=Lefevre", "Date de naissance : La recherche par nom"),
        ("onglet=tout", "Onglet inconnu."),
    ],
)
def test_a_bad_parameter_on_the_page_is_a_400_naming_it_in_french(client, demo, query, said):
    client.force_login(demo["dr.martin"].user)

    response = client.get(f"/liaison/?{query}")

    assert response.status_code == 400
    assert said in response.content.decode()


# --- 3. Classer --------------------------------------------------------------------------


def test_a_filed_letter_leaves_a_traiter_and_stays_under_classees(client_for, demo, letter):
    gp = client_for(demo["dr.martin"])

    response = gp.post(f"{API}{letter.code}/file/")

    assert response.status_code == 200
    assert response.json() == {"filed": True}
    assert gp.get(f"{API}?box=inbox&filed=false").json()["results"] == []
    [row] = gp.get(f"{API}?filed=true").json()["results"]
    assert row["id"] == str(letter.code)
    assert row["filed"] is True
    # Per member: the nurse on the same letter still has it to handle.
    nurse = client_for(demo["ide.petit"]).get(f"{API}?box=inbox&filed=false&kind=discharge")
    assert [r["id"] for r in nurse.json()["results"]] == [str(letter.code)]


def test_filing_is_idempotent_and_audited_once(client_for, demo, letter):
    gp = client_for(demo["dr.martin"])

    gp.post(f"{API}{letter.code}/file/")
    again = gp.post(f"{API}{letter.code}/file/")

    assert again.status_code == 200
    assert (
        AuditEntry.objects.filter(action="liaison_sheet.file", actor=demo["dr.martin"]).count() == 1
    )


def test_unfiling_brings_it_back(client_for, demo, letter):
    gp = client_for(demo["dr.martin"])
    gp.post(f"{API}{letter.code}/file/")

    response = gp.delete(f"{API}{letter.code}/file/")

    assert response.json() == {"filed": False}
    assert [r["id"] for r in gp.get(f"{API}?box=inbox&filed=false").json()["results"]] == [
        str(letter.code)
    ]
    assert AuditEntry.objects.filter(action="liaison_sheet.unfile").count() == 1


def test_a_referral_awaiting_its_answer_cannot_be_filed(client_for, demo, make_referral):
    referral = make_referral()

    response = client_for(demo["hop.cardio"]).post(f"{API}{referral.code}/file/")

    assert response.status_code == 409


def test_a_draft_cannot_be_filed(client_for, demo, make_referral):
    draft = make_referral(send=False)

    response = client_for(demo["dr.martin"]).post(f"{API}{draft.code}/file/")

    assert response.status_code == 409


def test_an_outsider_cannot_file(client_for, demo, letter):
    response = client_for(demo["dr.bernard"]).post(f"{API}{letter.code}/file/")

    assert response.status_code == 404


def test_the_web_classer_button_moves_the_letter_to_classees(client, demo, letter):
    client.force_login(demo["dr.martin"].user)
    assert "Classer" in client.get("/liaison/").content.decode()

    response = client.post(f"/liaison/{letter.code}/action/file/", {"next": "/liaison/"})

    assert response.status_code == 302
    assert str(letter.code) not in client.get("/liaison/").content.decode()
    filed = client.get("/liaison/?onglet=classees").content.decode()
    assert str(letter.code) in filed
    assert "Remettre à traiter" in filed
    client.post(f"/liaison/{letter.code}/action/unfile/")
    assert str(letter.code) in client.get("/liaison/").content.decode()


def test_drafts_have_their_own_tab(client, demo, make_referral):
    draft = make_referral(send=False)
    sent = make_referral()
    client.force_login(demo["dr.martin"].user)

    drafts_tab = client.get("/liaison/?onglet=brouillons").content.decode()
    sent_tab = client.get("/liaison/?onglet=envoyees").content.decode()

    assert str(draft.code) in drafts_tab
    assert str(sent.code) not in drafts_tab
    assert str(sent.code) in sent_tab
    assert str(draft.code) not in sent_tab


# --- 4. Opening an item reads its notifications --------------------------------------------


def test_opening_a_letter_marks_its_notifications_read(client, demo, letter):
    gp = demo["dr.martin"]
    assert Notification.objects.filter(
        recipient=gp, read_at__isnull=True, target_code=letter.code
    ).exists()
    client.force_login(gp.user)

    client.get(f"/liaison/{letter.code}/")

    assert not Notification.objects.filter(
        recipient=gp, read_at__isnull=True, target_code=letter.code
    ).exists()
    # Someone else's notifications about it are theirs to read.
    assert Notification.objects.filter(
        recipient=demo["ide.petit"], read_at__isnull=True, target_code=letter.code
    ).exists()


def test_filing_marks_its_notifications_read(client_for, demo, letter):
    gp = demo["dr.martin"]

    client_for(gp).post(f"{API}{letter.code}/file/")

    assert not Notification.objects.filter(recipient=gp, read_at__isnull=True).exists()


def test_the_api_lists_the_letters_not_read_yet(client_for, demo, letter):
    gp = client_for(demo["dr.martin"])
    unread = gp.get(f"{API}?unread=true").json()["results"]

    gp.post(f"{API}{letter.code}/read/")

    assert [r["id"] for r in unread] == [str(letter.code)]
    assert gp.get(f"{API}?unread=true").json()["results"] == []
    assert not Notification.objects.filter(
        recipient=demo["dr.martin"], read_at__isnull=True, target_code=letter.code
    ).exists()


def test_the_letter_page_files_and_unfiles_it(client, demo, letter):
    client.force_login(demo["dr.martin"].user)
    page = client.get(f"/liaison/{letter.code}/").content.decode()
    assert f"/liaison/{letter.code}/action/file/" in page

    client.post(f"/liaison/{letter.code}/action/file/")

    page = client.get(f"/liaison/{letter.code}/").content.decode()
    assert f"/liaison/{letter.code}/action/unfile/" in page
    assert "Remettre à traiter" in page


def test_a_triaged_page_is_the_same_slice_of_the_full_triage(demo, make_referral) -> None:
    """Every state, urgency and due date mixed: each page read a page at a time (on
    PostgreSQL, a UNION of index-ordered branches) is the slice of the list sorted whole."""
    moment = now()
    updates = [
        {"status": status, "urgency": urgency, "sent_at": moment - ago}
        for status in ("sent", "received")
        for urgency in ("routine", "urgent", "emergency")
        for ago in (timedelta(minutes=30), timedelta(hours=5), timedelta(days=3))
    ]
    for urgency in ("routine", "urgent"):
        for planned in (-20, 3, None):
            day = (moment + timedelta(days=planned)).date() if planned is not None else None
            updates.append({"status": "accepted", "urgency": urgency, "planned_date": day})
        for discharged in (-3, 2, None):
            day = (moment + timedelta(days=discharged)).date() if discharged is not None else None
            updates.append({"kind": "discharge", "status": "draft", "urgency": urgency,
                            "discharge_date": day})  # fmt: skip
        updates.append({"kind": "discharge", "status": "sent", "urgency": urgency})
        updates += [
            {"status": status, "urgency": urgency}
            for status in ("closed", "cancelled", "declined", "no_show", "draft")
        ]
    for fields in updates:
        sheet = make_referral()
        LiaisonSheet.objects.filter(pk=sheet.pk).update(**fields)
    member = demo["dr.martin"]
    whole = list(selectors.sheet_list(member).values_list("pk", flat=True))
    assert len(whole) == len(updates)

    triaged = selectors.TriagedList(selectors.matching_sheets(member), member)
    for start in range(0, len(whole), 3):  # small pages: each boundary is checked
        page = triaged[start : start + 3]
        assert [sheet.pk for sheet in page] == whole[start : start + 3], start
