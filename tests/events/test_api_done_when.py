"""Issue #20's "Done when", through the API: the coordinator creates the annual day with three
sessions and a monthly social-worker permanence at the MSP, members register (one lands on the
waiting list), the day happens, attendance is taken by QR code, three members answer the
survey, and the indicators show the counts and the satisfaction. Plus the access rule: a case
meeting's patient is a 404 outside the invited."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.test import Client

from events.indicators import event_indicators
from tests.events.conftest import API, create, event_body, msp

pytestmark = pytest.mark.django_db
SCORES = ["usefulness", "organisation", "exchanges", "practice"]
DAY = "2027-06-17"


def test_done_when_through_the_api(client_for, demo) -> None:
    coord = client_for(demo["coord"])
    with time_machine.travel("2027-05-02T10:00:00+02:00", tick=True):
        day = create(coord, event_body(
            kind="annual_day", title="Journée annuelle de médecine générale",
            starts_at=f"{DAY}T09:00:00+02:00", ends_at=f"{DAY}T17:00:00+02:00", capacity=100,
            open_to_public=True, sectors=["medical", "social", "medico_social", "students"],
        ))  # fmt: skip
        sessions = [
            create(coord, event_body(
                title=title, parent=day["id"], starts_at=f"{DAY}T{start}:00+02:00",
                ends_at=f"{DAY}T{end}:00+02:00", capacity=capacity,
            ))["id"]
            for title, start, end, capacity in [
                ("Plénière", "09:00", "10:30", 50),
                ("Table ronde : précarité et accès aux soins", "11:00", "12:30", 3),
                ("Atelier : retour à domicile", "14:00", "16:00", 20),
            ]
        ]  # fmt: skip
        assert len(coord.get(f"{API}{day['id']}/").json()["sessions"]) == 3
        permanence = create(coord, event_body(
            kind="permanence", title="Permanence de l'assistante sociale",
            organisation=str(msp().code), place="MSP des Tilleuls",
            starts_at="2027-05-11T14:00:00+02:00", ends_at="2027-05-11T17:00:00+02:00",
            recurrence={"freq": "monthly", "count": 6},
        ))  # fmt: skip
        assert len(permanence["occurrences"]) == 6
        round_table = sessions[1]
        people = ["dr.martin", "ide.petit", "as.moreau", "dr.leroy"]
        answers = [client_for(demo[name]).post(f"{API}{round_table}/register/").json()["status"]
                   for name in people]  # fmt: skip
        assert answers == ["registered", "registered", "registered", "waitlisted"]
    with time_machine.travel(f"{DAY}T11:05:00+02:00", tick=True):
        token = coord.get(f"{API}{round_table}/check-in-token/").json()["token"]
        for name in people[:3]:
            checked = client_for(demo[name]).post(f"{API}check-in/", {"token": token})
            assert checked.status_code == 200, checked.json()
    with time_machine.travel(f"{DAY}T18:00:00+02:00", tick=True):
        for index, name in enumerate(people[:3]):
            answered = client_for(demo[name]).post(
                f"{API}{round_table}/survey/",
                {"scores": dict.fromkeys(SCORES, 3 + index), "comment": ""}, format="json",
            )  # fmt: skip
            assert answered.status_code == 200, answered.json()
        results = coord.get(f"{API}{round_table}/survey/results/").json()
        assert results["shown"] is True
        assert results["questions"][0]["mean"] == 4.0
    indicators = event_indicators(date(2027, 6, 1), date(2027, 6, 30))
    june = indicators.months[0]
    # The three sessions (the day counts through them) and June's permanence.
    assert june.events == 4
    assert june.health_social_meetings == 1  # the round table: GP, nurse and social worker
    assert june.registered == 3
    assert june.attended == 3
    assert june.attendance_rate == 1.0
    assert indicators.survey_answers == 3
    assert indicators.satisfaction[0].mean == 4.0
    assert indicators.satisfaction[0].distribution == [0, 0, 1, 1, 1]
    assert indicators.new_people_met == 3
    sectors = {(sector, count) for sector, _job, count in indicators.participants}
    assert ("Social", 1) in sectors
    page = Client()
    with time_machine.travel(f"{DAY}T18:00:00+02:00", tick=True):
        page.force_login(demo["coord"].user)
        body = page.get("/indicateurs/", {"from": "2027-06-01", "to": "2027-06-30"})
    text = body.content.decode()
    assert '<td id="health-social-total">1</td>' in text
    assert '<td id="attended-total">3</td>' in text


def test_a_case_meetings_patient_is_404_outside_the_invited(client_for, demo) -> None:
    gp = client_for(demo["dr.martin"])
    with time_machine.travel("2027-05-02T10:00:00+02:00", tick=True):
        code = create(gp, event_body(
            kind="case_meeting", title="RCP", starts_at="2027-05-20T13:00:00+02:00",
            ends_at="2027-05-20T14:00:00+02:00", patient={
                "birth_family_name": "Lefèvre", "given_names": "Éloïse",
                "birth_date": "1979-03-15"},
        ))["id"]  # fmt: skip
        gp.post(f"{API}{code}/invitations/", {"members": [str(demo["as.moreau"].code)]},
                format="json")  # fmt: skip
        invited = client_for(demo["as.moreau"]).get(f"{API}{code}/").json()
        assert invited["patient"]["birth_family_name"] == "Lefèvre"
        for outsider in ("dr.leroy", "ide.petit", "coord", "hop.cardio"):
            assert client_for(demo[outsider]).get(f"{API}{code}/").status_code == 404
