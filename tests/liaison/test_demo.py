"""The demo data: a sheet in every state of the loop, loaded once."""

from __future__ import annotations

import pytest

from liaison.demo import load_sheets
from liaison.models import LiaisonSheet, SheetParticipant

pytestmark = pytest.mark.django_db
SheetStatus = LiaisonSheet.Status


def test_the_demo_covers_every_referral_status(demo) -> None:
    load_sheets(demo)

    statuses = set(LiaisonSheet.objects.filter(kind="referral").values_list("status", flat=True))
    assert statuses == set(SheetStatus.values)


def test_the_demo_covers_every_discharge_state(demo) -> None:
    load_sheets(demo)
    letters = LiaisonSheet.objects.filter(kind="discharge")

    assert letters.filter(status=SheetStatus.DRAFT).exists()
    sent = letters.filter(status=SheetStatus.SENT)
    assert set(sent.values_list("document_status", flat=True)) == {"in_progress", "final"}
    # An in-progress first version completed by a sent second version of the same letter.
    second = sent.get(previous_version__isnull=False)
    assert second.document_version == 2
    assert second.document_status == "final"
    assert second.previous_version.document_status == "in_progress"
    assert second.previous_version.status == SheetStatus.SENT


def test_the_demo_has_read_and_unread_receipts(demo) -> None:
    load_sheets(demo)
    receipts = SheetParticipant.objects.filter(
        sheet__kind="discharge", sheet__status=SheetStatus.SENT
    )

    assert receipts.filter(read_at__isnull=False).exists()
    assert receipts.filter(read_at__isnull=True).exists()


def test_loading_the_demo_twice_adds_nothing(demo) -> None:
    first = load_sheets(demo)
    assert first == LiaisonSheet.objects.count()

    assert load_sheets(demo) == 0
    assert LiaisonSheet.objects.count() == first
