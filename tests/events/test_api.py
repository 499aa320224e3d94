"""The agenda through the API: rules (400/403/409/412), registration and the waiting list,
invitations, attendance, the survey's anonymity, documents, iCalendar and access (404)."""

from __future__ import annotations

from typing import Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from events.models import Event, Registration, SurveyAnswer
from security.models import AuditEntry
from tests.events.conftest import API, create, event_body, msp
from worker.models import Notification

pytestmark = pytest.mark.django_db
BEFORE = "2027-03-01T10:00:00+01:00"
AFTER = "2027-03-11T10:00:00+01:00"


@pytest.fixture(autouse=True)
def before_the_event() -> Any:
    with time_machine.travel(BEFORE, tick=True):
        yield


def test_create_and_read(client_for, demo) -> None:
    coord = demo["coord"]
    body = create(
        client_for(coord), event_body(organisation=str(msp().code)), HTTP_IDEMPOTENCY_KEY="e-1"
    )
    assert body["kind"] == "meeting"
    assert body["organiser"]["id"] == str(coord.code)
    assert body["can_manage"] is True
    again = client_for(coord).post(API, event_body(), format="json", HTTP_IDEMPOTENCY_KEY="e-1")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert Event.objects.count() == 1
    listed = client_for(demo["dr.martin"]).get(f"{API}?when=upcoming").json()
    assert [row["id"] for row in listed] == [body["id"]]
    assert AuditEntry.objects.filter(action="event.create").count() == 1


def test_bad_input_names_the_field(client_for, demo) -> None:
    client = client_for(demo["coord"])
    response = client.post(API, event_body(ends_at="2027-03-10T17:00:00+01:00"), format="json")
    assert response.status_code == 400
    assert "ends_at" in response.json()
    response = client.post(
        API,
        event_body(
            recurrence={"freq": "weekly", "count": 2, "exceptions": ["2027-03-10", "2027-03-17"]}
        ),
        format="json",
    )
    assert response.status_code == 400
    assert "recurrence" in response.json()
    response = client.post(API, event_body(unknown=1), format="json")
    assert response.status_code == 400
    assert "unknown" in response.json()


def test_only_the_coordination_creates_the_annual_day(client_for, demo) -> None:
    body = event_body(kind="annual_day", title="Journée annuelle")
    assert client_for(demo["dr.martin"]).post(API, body, format="json").status_code == 403
    assert client_for(demo["coord"]).post(API, body, format="json").status_code == 201


def test_monthly_permanence_keeps_its_wall_clock_across_dst(client_for, demo) -> None:
    body = create(
        client_for(demo["as.moreau"]),
        event_body(
            kind="permanence",
            title="Permanence sociale",
            starts_at="2027-03-09T14:00:00+01:00",
            ends_at="2027-03-09T17:00:00+01:00",
            recurrence={"freq": "monthly", "count": 4, "exceptions": ["2027-05-11"]},
        ),
    )
    starts = [row["starts_at"] for row in body["occurrences"]]
    # 2nd Tuesday of March, April (summer time), June; May skipped as an exception.
    assert starts == [
        "2027-03-09T14:00:00+01:00",
        "2027-04-13T14:00:00+02:00",
        "2027-06-08T14:00:00+02:00",
    ]


def test_waiting_list_and_promotion(client_for, demo) -> None:
    code = create(client_for(demo["coord"]), event_body(capacity=1))["id"]
    first = client_for(demo["dr.martin"]).post(f"{API}{code}/register/").json()
    assert first["status"] == "registered"
    second = client_for(demo["ide.petit"]).post(f"{API}{code}/register/").json()
    assert second["status"] == "waitlisted"
    # Capacity below the places taken: 400 on `capacity` (here it is at 1, with 1 taken).
    etag = client_for(demo["coord"]).get(f"{API}{code}/")["ETag"]
    low = client_for(demo["coord"]).patch(
        f"{API}{code}/", {"capacity": 1}, format="json", HTTP_IF_MATCH=etag
    )
    assert low.status_code == 200
    client_for(demo["dr.martin"]).post(f"{API}{code}/cancel-registration/")
    assert Registration.objects.get(member=demo["ide.petit"]).status == "registered"
    assert Notification.objects.filter(
        recipient=demo["ide.petit"], event="events.promoted"
    ).exists()


def test_capacity_below_registrations_is_refused(client_for, demo) -> None:
    code = create(client_for(demo["coord"]), event_body(capacity=5))["id"]
    for name in ("dr.martin", "ide.petit"):
        client_for(demo[name]).post(f"{API}{code}/register/")
    etag = client_for(demo["coord"]).get(f"{API}{code}/")["ETag"]
    response = client_for(demo["coord"]).patch(
        f"{API}{code}/", {"capacity": 1}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 400
    assert "capacity" in response.json()


def test_stale_if_match_is_412_and_time_change_notifies(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    client_for(demo["dr.martin"]).post(f"{API}{code}/register/")
    etag = coord.get(f"{API}{code}/")["ETag"]
    moved = coord.patch(
        f"{API}{code}/",
        {"starts_at": "2027-03-10T18:30:00+01:00"},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert moved.status_code == 200, moved.json()
    stale = coord.patch(f"{API}{code}/", {"title": "Autre"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412
    assert Notification.objects.filter(
        recipient=demo["dr.martin"], event="events.time_changed"
    ).exists()
    other = client_for(demo["dr.martin"]).patch(
        f"{API}{code}/", {"title": "x"}, format="json", HTTP_IF_MATCH=moved["ETag"]
    )
    assert other.status_code == 403


def test_cancel_notifies_and_past_events_are_read_only(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    client_for(demo["dr.martin"]).post(f"{API}{code}/register/")
    with time_machine.travel(AFTER, tick=True):
        etag = coord.get(f"{API}{code}/")["ETag"]
        assert (
            coord.patch(
                f"{API}{code}/", {"title": "x"}, format="json", HTTP_IF_MATCH=etag
            ).status_code
            == 409
        )
        assert coord.post(f"{API}{code}/cancel/").status_code == 409
        assert client_for(demo["ide.petit"]).post(f"{API}{code}/register/").status_code == 409
    assert coord.post(f"{API}{code}/cancel/").json()["status"] == "cancelled"
    assert coord.post(f"{API}{code}/cancel/").status_code == 409
    assert Notification.objects.filter(
        recipient=demo["dr.martin"], event="events.cancelled"
    ).exists()


def test_invitations_reach_members_organisations_and_professions(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    response = coord.post(
        f"{API}{code}/invitations/",
        {
            "members": [str(demo["as.moreau"].code)],
            "professions": ["infirmier"],
            "organisations": [str(msp().code)],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    told = set(
        Notification.objects.filter(event="events.invited").values_list(
            "recipient__user__username", flat=True
        )
    )
    assert {"as.moreau", "ide.petit", "dr.martin", "dr.leroy"} <= told


def test_attendance_qr_survey_and_anonymity(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    names = ["dr.martin", "ide.petit", "as.moreau", "dr.leroy"]
    for name in names:
        client_for(demo[name]).post(f"{API}{code}/register/")
    token = coord.get(f"{API}{code}/check-in-token/").json()["token"]
    early = client_for(demo["dr.martin"]).post(f"{API}check-in/", {"token": token})
    assert early.status_code == 409
    with time_machine.travel("2027-03-10T18:10:00+01:00", tick=True):
        for name in names[:3]:
            done = client_for(demo[name]).post(f"{API}check-in/", {"token": token})
            assert done.status_code == 200, done.json()
            assert done.json()["attended_at"] is not None
        rows = coord.get(f"{API}{code}/registrations/").json()
        leroy = next(
            r for r in rows if r["member"] and r["member"]["id"] == str(demo["dr.leroy"].code)
        )
        assert (
            coord.post(
                f"{API}{code}/attendance/", {"present": [leroy["id"]]}, format="json"
            ).status_code
            == 200
        )
        not_yet = client_for(demo["dr.martin"]).post(
            f"{API}{code}/survey/", {"scores": dict.fromkeys(SCORES, 5)}, format="json"
        )
        assert not_yet.status_code == 409
    with time_machine.travel(AFTER, tick=True):
        for index, name in enumerate(names[:2]):
            answered = client_for(demo[name]).post(
                f"{API}{code}/survey/",
                {"scores": dict.fromkeys(SCORES, 4 + index), "comment": "Très utile"},
                format="json",
            )
            assert answered.status_code == 200, answered.json()
        results = coord.get(f"{API}{code}/survey/results/").json()
        assert results == {**results, "answers": 2, "shown": False}
        assert results["questions"][0]["mean"] is None
        client_for(demo["as.moreau"]).post(
            f"{API}{code}/survey/", {"scores": dict.fromkeys(SCORES, 3)}, format="json"
        )
        twice = client_for(demo["as.moreau"]).post(
            f"{API}{code}/survey/", {"scores": dict.fromkeys(SCORES, 3)}, format="json"
        )
        assert twice.status_code == 409
        results = coord.get(f"{API}{code}/survey/results/").json()
        assert results["shown"] is True
        assert results["questions"][0]["mean"] == 4.0
        assert results["questions"][0]["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 1, "5": 1}
        bad = client_for(demo["dr.leroy"]).post(
            f"{API}{code}/survey/", {"scores": {"usefulness": 9}}, format="json"
        )
        assert bad.status_code == 400
        assert "scores.usefulness" in bad.json()
    assert SurveyAnswer.objects.filter(member__isnull=False).count() == 0
    assert Registration.objects.filter(survey_answered=True).count() == 3
    assert client_for(demo["dr.martin"]).get(f"{API}{code}/survey/results/").status_code == 403


SCORES = ["usefulness", "organisation", "exchanges", "practice"]


def test_case_meeting_patient_is_the_invited_only(client_for, demo) -> None:
    gp = client_for(demo["dr.martin"])
    body = create(
        gp,
        event_body(
            kind="case_meeting",
            title="RCP Mme Lefèvre",
            patient={
                "birth_family_name": "Lefèvre",
                "given_names": "Éloïse",
                "birth_date": "1979-03-15",
            },
        ),
    )
    code = body["id"]
    assert body["patient"]["birth_family_name"] == "Lefèvre"
    gp.post(f"{API}{code}/invitations/", {"members": [str(demo["ide.petit"].code)]}, format="json")
    seen = client_for(demo["ide.petit"]).get(f"{API}{code}/")
    assert seen.status_code == 200
    assert seen.json()["patient"]["given_names"] == "Éloïse"
    assert AuditEntry.objects.filter(action="event.patient_read").count() >= 2
    for outsider in ("dr.leroy", "coord", "as.moreau"):
        client = client_for(demo[outsider])
        assert client.get(f"{API}{code}/").status_code == 404
        assert client.get(f"{API}{code}/event.ics").status_code == 404
        assert client.post(f"{API}{code}/register/").status_code == 404
        assert code not in [row["id"] for row in client.get(API).json()]
    listed = client_for(demo["ide.petit"]).get(API).json()
    assert [row["title"] for row in listed if row["id"] == code] == [
        "Réunion de concertation pluriprofessionnelle"
    ]
    refused = gp.post(API, event_body(patient={"birth_family_name": "X"}), format="json")
    assert refused.status_code == 400
    assert "patient" in refused.json()


def test_documents_are_encrypted_and_for_participants(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    client_for(demo["dr.martin"]).post(f"{API}{code}/register/")
    upload = SimpleUploadedFile("compte-rendu.txt", b"Compte rendu", content_type="text/plain")
    with time_machine.travel(AFTER, tick=True):
        added = coord.post(
            f"{API}{code}/documents/", {"kind": "minutes", "file": upload}, format="multipart"
        )
        assert added.status_code == 201, added.json()
    doc = added.json()["id"]
    got = client_for(demo["dr.martin"]).get(f"{API}{code}/documents/{doc}/")
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == b"Compte rendu"
    assert client_for(demo["ide.petit"]).get(f"{API}{code}/documents/{doc}/").status_code == 404


def test_ics_and_the_personal_feed(client, client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    ics = client_for(demo["dr.martin"]).get(f"{API}{code}/event.ics")
    text = ics.content.decode()
    assert ics["Content-Type"].startswith("text/calendar")
    assert "DTSTART:20270310T170000Z" in text
    assert "BEGIN:VEVENT" in text
    client_for(demo["dr.martin"]).post(f"{API}{code}/register/")
    url = client_for(demo["dr.martin"]).post(f"{API}calendar-feed/").json()["url"]
    path = url.split("testserver", 1)[1]
    feed = client.get(path)
    assert feed.status_code == 200
    assert f"UID:{code}@" in feed.content.decode()
    assert client_for(demo["dr.martin"]).delete(f"{API}calendar-feed/").status_code == 204
    assert client.get(path).status_code == 404


def test_public_agenda_and_external_registration(api_client, client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body(open_to_public=True))["id"]
    private = create(coord, event_body(title="Interne"))["id"]
    listed = api_client.get(f"{API}public/").json()
    assert [row["id"] for row in listed] == [code]
    assert "organiser" not in listed[0]
    body = {
        "name": "Jean Élu",
        "email": "maire@example.org",
        "sector": "elected",
        "consent_to_contact": True,
    }
    done = api_client.post(f"{API}public/{code}/registrations/", body, format="json")
    assert done.status_code == 201, done.json()
    registration = Registration.objects.get(external_email="maire@example.org")
    assert registration.consent_at is not None
    assert (
        api_client.post(f"{API}public/{private}/registrations/", body, format="json").status_code
        == 404
    )
    bad = api_client.post(
        f"{API}public/{code}/registrations/", {**body, "email": "x"}, format="json"
    )
    assert bad.status_code == 400
    assert "email" in bad.json()


def test_the_list_takes_a_fixed_number_of_queries(
    client_for, demo, django_assert_max_num_queries
) -> None:
    """The agenda's list annotates its counts and the caller's answer in one query."""
    coord = client_for(demo["coord"])
    create(coord, event_body())
    reader = client_for(demo["dr.martin"])
    with django_assert_max_num_queries(20) as one:
        assert reader.get(API).status_code == 200
    for index in range(8):
        code = create(coord, event_body(title=f"Réunion {index}"))["id"]
        client_for(demo["ide.petit"]).post(f"{API}{code}/register/")
    with django_assert_max_num_queries(20) as many:
        assert len(reader.get(API).json()) == 9
    assert len(many.captured_queries) == len(one.captured_queries)


def test_the_organiser_scans_a_participants_ticket(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    code = create(coord, event_body())["id"]
    ticket = client_for(demo["dr.martin"]).post(f"{API}{code}/register/").json()["ticket"]
    with time_machine.travel("2027-03-10T18:05:00+01:00", tick=True):
        refused = client_for(demo["ide.petit"]).post(f"{API}check-in/", {"token": ticket})
        assert refused.status_code == 403  # only the organiser scans tickets
        scanned = coord.post(f"{API}check-in/", {"token": ticket})
        assert scanned.status_code == 200, scanned.json()
    registration = Registration.objects.get(member=demo["dr.martin"])
    assert registration.attendance_method == "qr"
    forged = coord.post(f"{API}check-in/", {"token": ticket[:-2] + "xx"})
    assert forged.status_code == 400
    assert "token" in forged.json()
