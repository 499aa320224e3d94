"""Who sees what: CPTS membership alone gives no access to a patient's sheets (404)."""

from __future__ import annotations

import pytest

from liaison.models import LiaisonSheet
from tests.access import assert_hidden_from
from tests.liaison.conftest import OUTSIDERS

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


def endpoints(sheet: LiaisonSheet) -> list[tuple[str, str, dict]]:
    base = f"{API}{sheet.code}/"
    return [
        ("get", base, {}), ("patch", base, {"reason": "x"}), ("delete", base, {}),
        ("post", f"{base}send/", {}), ("post", f"{base}receive/", {}),
        ("post", f"{base}accept/", {"planned_date": "2026-12-01"}),
        ("post", f"{base}decline/", {"note": "n"}), ("post", f"{base}cancel/", {}),
        ("post", f"{base}no-show/", {}), ("post", f"{base}reopen/", {"note": "n"}),
        ("post", f"{base}close/", {}), ("post", f"{base}notes/", {"note": "n"}),
        ("post", f"{base}read/", {}), ("post", f"{base}discharge/", {}),
        ("post", f"{base}revise/", {}), ("get", f"{base}events/", {}),
        ("get", f"{base}attachments/00000000-0000-0000-0000-000000000000/", {}),
    ]  # fmt: skip


def test_outsiders_get_404_on_every_endpoint(client_for, demo, make_referral) -> None:
    """Every demo member outside the loop, on every endpoint of the sheet (tests/access.py)."""
    sheet = make_referral()
    outsiders = [demo[username] for username in OUTSIDERS]
    for method, url, body in endpoints(sheet):
        assert_hidden_from(client_for, method, url, outsiders, body or None)
    for member in outsiders:
        client = client_for(member)
        assert client.get(f"{API}?box=inbox").json()["count"] == 0
        assert client.get(API).json()["count"] == 0


def test_the_loop_members_see_it(client_for, demo, make_referral) -> None:
    sheet = make_referral()
    for username in ("dr.martin", "dr.leroy", "ide.petit", "hop.cardio", "hop.cardio2"):
        assert client_for(demo[username]).get(f"{API}{sheet.code}/").status_code == 200, username


def test_drafts_stay_in_the_practice(client_for, demo, make_referral) -> None:
    draft = make_referral(send=False)
    assert client_for(demo["dr.leroy"]).get(f"{API}{draft.code}/").status_code == 200
    for username in ("hop.cardio", "hop.cardio2", "pharma.durand"):
        assert client_for(demo[username]).get(f"{API}{draft.code}/").status_code == 404


def test_a_service_does_not_see_its_neighbours_sheets(
    client_for, demo, make_referral, urgences
) -> None:
    sheet = make_referral()
    assert client_for(demo["hop.urgences"]).get(f"{API}{sheet.code}/").status_code == 404


def test_a_discharge_letter_is_seen_by_its_recipients_only(client_for, demo, make_referral) -> None:
    referral = make_referral()
    cardio = client_for(demo["hop.cardio"])
    letter = cardio.post(f"{API}{referral.code}/discharge/").json()
    for username in ("dr.martin", "ide.petit"):
        assert client_for(demo[username]).get(f"{API}{letter['id']}/").status_code == 404  # draft
    from tests.liaison.conftest import discharge_content

    cardio = client_for(demo["hop.cardio"])
    cardio.patch(f"{API}{letter['id']}/", discharge_content(), format="json", HTTP_IF_MATCH='"1"')
    cardio.post(f"{API}{letter['id']}/send/")
    for username in ("dr.martin", "ide.petit", "hop.cardio2"):
        assert client_for(demo[username]).get(f"{API}{letter['id']}/").status_code == 200, username
    for username in ("dr.leroy", "hop.urgences", "pharma.durand", "coord"):
        assert client_for(demo[username]).get(f"{API}{letter['id']}/").status_code == 404, username


def test_every_read_is_audited(client_for, demo, make_referral) -> None:
    from security.models import AuditEntry

    sheet = make_referral()
    client_for(demo["hop.cardio"]).get(f"{API}{sheet.code}/")
    entry = AuditEntry.objects.filter(action="liaison_sheet.read", target_code=sheet.code).last()
    assert entry is not None
    assert entry.actor == demo["hop.cardio"]
