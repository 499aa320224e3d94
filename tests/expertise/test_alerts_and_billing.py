"""Tele-expertise alerts (through the outbox, naming who is missing, never the patient) and
the billing trace (yearly counts on blind indexes, the limit, the same-MSP pair, the CSV)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils.timezone import localtime, now

from liaison.expertise import alerts, selectors
from liaison.models import ExpertiseRequest
from tests.expertise.conftest import API, request_body
from tests.expertise.test_api_loop import sent_request
from worker.models import Notification

pytestmark = pytest.mark.django_db


def count(event: str, member: Any) -> int:
    return Notification.objects.filter(event=event, recipient=member).count()


def answered(client_for: Any, gp: Any, expert: Any, service: Any, **overrides: Any) -> str:
    code = sent_request(client_for, gp, service, **overrides)
    assert client_for(expert).post(f"{API}{code}/take/").status_code == 200
    response = client_for(expert).post(
        f"{API}{code}/answer/", {"opinion": "Bénin", "consultation_needed": "not_needed"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.json()
    return code


def test_an_untaken_request_alerts_the_service_then_the_coordinator(
    client_for, demo, dermatologie, derm
) -> None:
    sent_request(client_for, demo["dr.martin"], dermatologie, urgency="urgent")  # 72 h
    assert alerts.alert_untaken_requests(at=now() + timedelta(hours=30)) == 0
    assert alerts.alert_untaken_requests(at=now() + timedelta(hours=37)) == 1
    assert alerts.alert_untaken_requests(at=now() + timedelta(hours=37)) == 0  # idempotent
    assert count("liaison.expertise_not_taken", derm) == 1
    assert count("liaison.expertise_escalated", demo["coord"]) == 0
    assert alerts.alert_untaken_requests(at=now() + timedelta(hours=73)) == 1
    escalation = Notification.objects.get(event="liaison.expertise_escalated",
                                          recipient=demo["coord"])  # fmt: skip
    assert "Dermatologie" in escalation.mentions
    assert "Lefèvre" not in escalation.mentions  # never the patient


def test_a_taken_request_is_not_chased(client_for, demo, dermatologie, derm) -> None:
    code = sent_request(client_for, demo["dr.martin"], dermatologie)
    client_for(derm).post(f"{API}{code}/take/")
    assert alerts.alert_untaken_requests(at=now() + timedelta(days=30)) == 0


def test_an_unread_answer_reminds_the_requester(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    code = answered(client_for, gp, derm, dermatologie)
    assert alerts.remind_unread_answers(at=now() + timedelta(days=1)) == 0
    assert alerts.remind_unread_answers(at=now() + timedelta(days=3)) == 1
    assert alerts.remind_unread_answers(at=now() + timedelta(days=3)) == 0
    assert count("liaison.expertise_answer_unread", gp) == 1
    other = answered(client_for, gp, derm, dermatologie)
    client_for(gp).get(f"{API}{other}/")  # read: no reminder
    assert alerts.remind_unread_answers(at=now() + timedelta(days=3)) == 0
    assert code != other


def test_yearly_counts_warn_before_the_limit(client_for, demo, dermatologie, derm) -> None:
    gp = demo["dr.martin"]
    for _ in range(3):
        answered(client_for, gp, derm, dermatologie)
    code = sent_request(client_for, gp, dermatologie)
    client_for(derm).post(f"{API}{code}/take/")  # the expert who takes it sees their count
    billing = client_for(derm).get(f"{API}{code}/").json()["expertise"]["billing"]
    assert billing["expert_acts_this_year"] == 3
    assert billing["requester_acts_this_year"] == 3
    assert any("Plafond bientôt atteint" in warning for warning in billing["warnings"])
    # Another patient: nothing counted.
    other = sent_request(client_for, gp, dermatologie, patient={
        **request_body(dermatologie)["patient"], "ins": "", "identity_status": "PROV",
        "birth_family_name": "Autre"})  # fmt: skip
    client_for(derm).post(f"{API}{other}/take/")
    billing = client_for(derm).get(f"{API}{other}/").json()["expertise"]["billing"]
    assert billing["expert_acts_this_year"] == 0


def test_the_same_msp_is_not_billable(client_for, demo, dermatologie, derm) -> None:
    msp = demo["dr.martin"].memberships.get().organisation
    derm.memberships.create(organisation=msp)
    code = answered(client_for, demo["dr.martin"], derm, dermatologie)
    assert ExpertiseRequest.objects.get(sheet__code=code).same_msp
    warnings = client_for(derm).get(f"{API}{code}/").json()["expertise"]["billing"]["warnings"]
    assert any("même MSP" in warning for warning in warnings)


def test_the_monthly_csv_of_an_expert(client_for, demo, dermatologie, derm) -> None:
    for _ in range(5):
        answered(client_for, demo["dr.martin"], derm, dermatologie)
    month = localtime().strftime("%Y-%m")
    response = client_for(derm).get(f"{API}billing.csv?month={month}")
    assert response.status_code == 200
    lines = response.content.decode().strip().splitlines()
    assert lines[0].startswith("request;answered_at;requester")
    assert len(lines) == 6
    assert [line.rsplit(";", 1)[1] for line in lines[1:]] == ["oui"] * 4 + ["non"]
    assert "Lefèvre" not in response.content.decode()
    assert (
        client_for(demo["dr.martin"])
        .get(f"{API}billing.csv?month={month}")
        .content.decode()
        .count("\n")
        == 1
    )  # the requester answered nothing: the header only
    assert client_for(derm).get(f"{API}billing.csv?month=2026-13").status_code == 400


def test_counting_reads_no_ciphertext(
    client_for, demo, dermatologie, derm, django_assert_max_num_queries
) -> None:
    code = answered(client_for, demo["dr.martin"], derm, dermatologie)
    detail = ExpertiseRequest.objects.select_related("sheet").get(sheet__code=code)
    with django_assert_max_num_queries(2):
        assert selectors.yearly_counts(detail) == {"expert": 1, "requester": 1}
