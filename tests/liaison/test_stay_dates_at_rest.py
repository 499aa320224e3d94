"""Which stay dates of a liaison sheet are stored in clear, and what stands next to them.

docs/security.md ("Stay dates") explains the decision: the planned date and the discharge
date stay in clear because the alerts and the indicators query them, the admission date does
not (nothing queries it), and nothing that identifies the patient is in clear in the same
row. These tests pin that: a new clear date column, or an identity value in clear next to
the dates, fails here until the analysis is updated.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection, models
from django.db.migrations.executor import MigrationExecutor

from liaison.models import LiaisonSheet
from liaison.services import transitions
from liaison.services.discharge import start_discharge_letter
from liaison.services.drafts import update_draft
from tests.liaison.conftest import TEST_INS, discharge_content

pytestmark = pytest.mark.django_db

CLEAR_STAY_DATES = {"planned_date", "discharge_date"}
"""Calendar dates of the stay, in clear (docs/security.md says why and what they reveal)."""
CLEAR_TIMESTAMPS = {
    "created_at",
    "updated_at",
    "sent_at",
    "received_at",
    "accepted_at",
    "closed_at",
    "receipt_alerted_at",
    "receipt_escalated_at",
    "discharge_reminded_at",
    "late_discharge_alerted_at",
}
"""When the loop moved: its state machine, worklists and alerts need them."""

ADMISSION, DISCHARGE, PLANNED = date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 3)
PATIENT = {
    "identity_status": "QUAL",
    "ins": TEST_INS,
    "birth_family_name": "Lefèvre",
    "used_family_name": "Moreau",
    "given_names": "Éloïse Marie",
    "birth_date": "1979-03-15",
    "sex": "F",
    "birth_place_insee": "45234",
    "address": "12 rue des Tanneurs, 45000 Orléans",
    "phone": "06 12 34 56 78",
}
# Not the birthplace code: five digits could turn up by chance in a hex id or a timestamp.
IDENTITY = [
    "rue des Tanneurs",
    "Orléans",
    "06 12 34 56 78",
    "0612345678",
    "Lefèvre",
    "Lefevre",
    "LEFEVRE",
    "Moreau",
    "Éloïse",
    "Eloise",
    "1979-03-15",
    "15/03/1979",
    "19790315",
    TEST_INS,
    "2 79 03 51 215 189 89",
]


def dump_sheets() -> bytes:
    """Every column of every sheet row, as an attacker with the database (no keys) reads it."""
    table = connection.ops.quote_name(LiaisonSheet._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    return b"\x00".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
    )


def forms_of(day: date) -> list[bytes]:
    return [
        day.isoformat().encode(),
        day.strftime("%d/%m/%Y").encode(),
        day.strftime("%Y%m%d").encode(),
    ]


def test_the_clear_dates_of_a_sheet_are_the_documented_ones() -> None:
    clear = {
        field.name
        for field in LiaisonSheet._meta.concrete_fields
        if isinstance(field, models.DateField)  # DateTimeField is one too
    }
    assert clear == CLEAR_STAY_DATES | CLEAR_TIMESTAMPS
    assert not hasattr(LiaisonSheet, "admission_date")


def test_no_identity_in_clear_next_to_the_stay_dates(demo, make_referral) -> None:
    referral = make_referral(patient=PATIENT)
    transitions.transition_referral(actor=demo["hop.cardio"], sheet=referral, action="receive")
    transitions.transition_referral(
        actor=demo["hop.cardio"], sheet=referral, action="accept", planned_date=PLANNED
    )
    letter = start_discharge_letter(actor=demo["hop.cardio"], referral=referral)
    letter = update_draft(
        actor=demo["hop.cardio"],
        sheet=letter,
        expected_version=1,
        content=discharge_content(
            admission_date=ADMISSION.isoformat(), discharge_date=DISCHARGE.isoformat()
        ),
    )
    transitions.send_sheet(actor=demo["hop.cardio"], sheet=letter)

    dump = dump_sheets()
    # The clear dates are there (else this dump would prove nothing)...
    assert PLANNED.isoformat().encode() in dump
    assert DISCHARGE.isoformat().encode() in dump
    # ...the admission date, which nothing queries, is not (only in the encrypted content)...
    for form in forms_of(ADMISSION):
        assert form not in dump
    # ...and nothing that identifies the patient stands next to them.
    for value in IDENTITY:
        assert value.encode() not in dump, value
        assert value.encode().hex().encode() not in dump, value
    letter.refresh_from_db()
    assert letter.content["admission_date"] == ADMISSION.isoformat()
    assert letter.discharge_date == DISCHARGE


@pytest.fixture
def back_to_the_latest_schema():
    """Whatever happens in the test, the next tests find the database fully migrated."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_going_back_refills_the_admission_date_from_the_content(demo, make_referral) -> None:
    referral = make_referral()
    letter = start_discharge_letter(actor=demo["hop.cardio"], referral=referral)
    update_draft(
        actor=demo["hop.cardio"],
        sheet=letter,
        expected_version=1,
        content=discharge_content(admission_date=ADMISSION.isoformat()),
    )
    before = [("liaison", "0002_alter_sheetevent_sheet")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_model = executor.loader.project_state(before).apps.get_model("liaison", "LiaisonSheet")
    assert old_model.objects.get(pk=letter.pk).admission_date == ADMISSION
    assert old_model.objects.get(pk=referral.pk).admission_date is None
