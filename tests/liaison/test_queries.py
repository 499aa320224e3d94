"""Pinned query counts of the liaison hot paths, and their answers built from what was written.

Every count is exact, and the same on SQLite and PostgreSQL (run the file with DATABASE_URL
too): inside the test's transaction each service's transaction is a savepoint on both. The
first three queries of every call are the caller's: token, member, and (for the endpoints
that check access to a sheet) the member's organisations. An audit entry is AUDIT_ENTRY
(tests/audit_counts.py): the entry inserted and the chain head moved, one statement on
PostgreSQL and two on SQLite, so the counts differ between the two by one per entry.
Figures and profiles: docs/benchmarks.md, "Liaison hot paths".
"""

from __future__ import annotations

from typing import Any

import pytest

from directory.services import issue_api_token
from liaison.models import LiaisonSheet
from liaison.selectors import access_sheet, sheet_as_written
from liaison.services import transitions
from security.crypto import keyring_from_settings
from tests.audit_counts import AUDIT_ENTRY
from tests.liaison.conftest import referral_body

pytestmark = pytest.mark.django_db
API = "/api/v1/liaison-sheets/"


@pytest.fixture(autouse=True)
def encryptions_in_hand() -> None:
    """Room for this test's encryptions in the process's reserved block of nonces.

    The key ring reserves encryptions in the database a block at a time (security.crypto,
    one INSERT per 1024 per process): without this, whichever test crosses a block's end
    would count one query more.
    """
    keyring = keyring_from_settings()
    if keyring._allowance < 100:
        if keyring._allowance:
            keyring.reserve(keyring._allowance)  # use up the rest of the block...
        keyring.reserve(1)  # ...so that this reserves a whole new one


@pytest.fixture
def token_client(api_client, demo):
    def authenticate(username: str):
        api_client.credentials(
            HTTP_AUTHORIZATION=f"Token {issue_api_token(user=demo[username].user)}"
        )
        return api_client

    return authenticate


@pytest.fixture
def cardio_api(token_client):
    return token_client("hop.cardio")


@pytest.fixture
def gp_api(token_client):
    return token_client("dr.martin")


def detail_of(client: Any, code: str) -> dict[str, Any]:
    """The sheet as a later read shows it: a write's answer must be exactly this."""
    body: dict[str, Any] = client.get(f"{API}{code}/").json()
    return body


def test_the_bare_probe_is_the_token_and_one_row(gp_api, demo, django_assert_num_queries):
    # the token with its member and organisations, in one query: what every authenticated API
    # call pays before its own work; the probe's row is that member
    with django_assert_num_queries(1):
        response = gp_api.get("/api/v1/ping/")
    assert response.json() == {"member": str(demo["dr.martin"].code)}


def test_the_inbox_lists_in_a_constant_number_of_queries(
    cardio_api, make_referral, django_assert_num_queries
) -> None:
    for _ in range(3):
        make_referral()
    # token with its member and organisations (one query), its participations, count, the
    # page's ids in triage order (a narrow query: liaison.selectors.TriagedList), the page,
    # participants, and the audit entry of the list read
    with django_assert_num_queries(6 + AUDIT_ENTRY):
        small = cardio_api.get(f"{API}?box=inbox&page_size=2")
    for _ in range(12):
        make_referral()
    with django_assert_num_queries(6 + AUDIT_ENTRY):
        large = cardio_api.get(f"{API}?box=inbox&page_size=15")
    assert len(small.json()["results"]) == 2
    assert len(large.json()["results"]) == 15


def test_creating_a_draft_takes_a_fixed_number_of_queries_and_answers_what_it_wrote(
    gp_api, demo, cardiologie, django_assert_num_queries
) -> None:
    body = referral_body(cardiologie, [demo["ide.petit"]])
    # the token with its member and organisations (one query); the recipient service and the
    # copied member named in the body; the author's first organisation; the insert (in a
    # savepoint: the idempotency key is checked by the unique constraint, not by a read
    # before it) and the participant;
    # the audit entry. Nothing is read back: the answer is the sheet as written.
    with django_assert_num_queries(10 + AUDIT_ENTRY):
        response = gp_api.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert response.status_code == 201, response.content
    assert response.json() == detail_of(gp_api, response.json()["id"])
    assert response.json()["copy_to"] == [str(demo["ide.petit"].code)]


def test_a_retried_creation_answers_the_first_draft(gp_api, demo, cardiologie) -> None:
    body = referral_body(cardiologie, [demo["ide.petit"]])
    first = gp_api.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-2")
    again = gp_api.post(API, body, format="json", HTTP_IDEMPOTENCY_KEY="create-2")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert LiaisonSheet.objects.filter(creation_key="create-2").count() == 1


def test_editing_a_draft_takes_a_fixed_number_of_queries(
    gp_api, demo, make_referral, django_assert_num_queries
) -> None:
    draft = make_referral(send=False)
    change = {"reason": "Douleur thoracique", "copy_to": [str(demo["ide.petit"].code)]}
    # the token with its member and organisations (one query), the sheet and its participants,
    # the read's audit entry; the copied member named in the body; one conditional UPDATE
    # writing the changes and the version; the audit entry; the attachments the answer lists
    with django_assert_num_queries(8 + 2 * AUDIT_ENTRY):
        response = gp_api.patch(f"{API}{draft.code}/", change, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 200, response.content
    assert response["ETag"] == '"2"'
    assert response.json() == detail_of(gp_api, str(draft.code))
    assert response.json()["reason"] == "Douleur thoracique"


def test_a_stale_edit_is_refused_before_any_write(gp_api, make_referral) -> None:
    draft = make_referral(send=False)
    gp_api.patch(f"{API}{draft.code}/", {"reason": "Un"}, format="json", HTTP_IF_MATCH='"1"')
    stale = gp_api.patch(f"{API}{draft.code}/", {"reason": "Deux"}, format="json",
                         HTTP_IF_MATCH='"1"')  # fmt: skip
    assert stale.status_code == 412
    assert detail_of(gp_api, str(draft.code))["reason"] == "Un"


@pytest.mark.parametrize(
    ("key", "expected"), [("", 13 + 2 * AUDIT_ENTRY), ("send-1", 16 + 2 * AUDIT_ENTRY)]
)
def test_sending_takes_a_fixed_number_of_queries(
    gp_api, make_referral, django_assert_num_queries, key, expected
) -> None:
    draft = make_referral(send=False)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    # the token with its member and organisations (one query), the sheet and its participants,
    # the read's audit entry; (with a key: has it sent already?) the indicators' locking read
    # of the sheet, the conditional UPDATE and the indicators' UPSERT, the event (with a key: in a
    # savepoint, its unique constraint refuses a key reused for another sheet), the copied
    # members' delivery time, the audit entry, the service's members and their notifications
    # (one INSERT: cardiologie has two); the attachments the answer lists
    with django_assert_num_queries(expected):
        response = gp_api.post(f"{API}{draft.code}/send/", **headers)
    assert response.status_code == 200, response.content
    assert response.json() == detail_of(gp_api, str(draft.code))
    assert response.json()["participants"][0]["delivered_at"] is not None
    assert LiaisonSheet.objects.get(pk=draft.pk).status == "sent"


@pytest.mark.parametrize(
    ("action", "body"), [("receive", {}), ("accept", {"planned_date": "2026-12-01"})]
)
def test_the_service_takes_and_accepts_in_a_fixed_number_of_queries(
    cardio_api, make_referral, django_assert_num_queries, action, body
) -> None:
    sheet = make_referral()
    # the token with its member and organisations (one query), the sheet and its participants,
    # the read's audit entry; the indicators' locking read of the sheet, the conditional
    # UPDATE (on the state and the version read: nothing to read again), their UPSERT,
    # the event, the audit entry, the author as they are now and their notification; the
    # attachments the answer lists
    with django_assert_num_queries(12 + 2 * AUDIT_ENTRY):
        response = cardio_api.post(f"{API}{sheet.code}/{action}/", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == detail_of(cardio_api, str(sheet.code))
    assert response["ETag"] == f'"{response.json()["version"]}"'


def test_a_transition_that_lost_a_race_to_a_version_still_moves_and_answers(
    demo, make_referral
) -> None:
    """The version moved under the caller (a note, a read receipt, an alert) but the state
    still allows the action: the sheet moves, and is re-read for its answer."""
    sheet = access_sheet(demo["hop.cardio"], make_referral().code)
    LiaisonSheet.objects.filter(pk=sheet.pk).update(version=sheet.version + 5)
    moved = transitions.transition_referral(actor=demo["hop.cardio"], sheet=sheet, action="receive")
    assert moved.status == "received"
    assert sheet_as_written(moved).version == LiaisonSheet.objects.get(pk=sheet.pk).version
