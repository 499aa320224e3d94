"""The demo data: a sheet in every state of the loop, loaded once."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils.timezone import localdate

from liaison.demo import load_sheets
from liaison.models import LiaisonSheet, SheetParticipant

pytestmark = pytest.mark.django_db
SheetStatus = LiaisonSheet.Status


def test_the_demo_covers_every_referral_status(demo) -> None:
    load_sheets(demo)

    statuses = set(LiaisonSheet.objects.filter(kind="referral").values_list("status", flat=True))
    tele_expertise_only = {SheetStatus.TAKEN, SheetStatus.MORE_INFO_REQUESTED, SheetStatus.ANSWERED}
    assert statuses == set(SheetStatus.values) - tele_expertise_only


def test_the_demo_covers_every_expertise_status(demo) -> None:
    load_sheets(demo)

    requests = LiaisonSheet.objects.filter(kind="expertise")
    statuses = set(requests.values_list("status", flat=True))
    assert statuses == set(SheetStatus.values) - {
        SheetStatus.RECEIVED, SheetStatus.ACCEPTED, SheetStatus.NO_SHOW,
    }  # fmt: skip
    assert {"Dermatologie", "Cardiologie"} == set(
        requests.values_list("recipient_organisation__name", flat=True)
    )


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


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _assert_steps_in_order(sheet: LiaisonSheet, story: str) -> None:
    """Sent, received, accepted, closed, and the timeline, each after the one before."""
    # (A redirection's new referral takes its sending moment a few microseconds before its
    # row's created_at: the creation is compared by day.)
    stamps = [sheet.sent_at, sheet.received_at, sheet.accepted_at, sheet.closed_at]
    stamps = [moment for moment in stamps if moment is not None]
    assert stamps == sorted(stamps), story
    moments = [event.at for event in sheet.events.all()]
    assert moments == sorted(moments), story
    if sheet.sent_at is None:
        assert not moments, story
        return
    assert localdate(sheet.created_at) <= localdate(sheet.sent_at), story
    assert all(moment >= sheet.sent_at for moment in moments), story
    for participant in sheet.participants.all():
        for moment in (participant.delivered_at, participant.read_at):
            assert moment is None or moment >= sheet.sent_at, story


def _assert_stay_in_order(letter: LiaisonSheet, story: str) -> None:
    """A letter tells a stay that has ended, after the referral it answers was accepted.

    (A draft may not know its discharge date yet.)"""
    admitted = date.fromisoformat(letter.content["admission_date"])
    discharged = _day(letter.content.get("discharge_date"))
    assert discharged is not None or letter.status == SheetStatus.DRAFT, story
    if discharged is not None:
        assert admitted <= discharged, story
        if letter.sent_at is not None:
            assert discharged <= localdate(letter.sent_at), story
        for consultation in letter.content.get("follow_up", {}).get("consultations", []):
            assert date.fromisoformat(consultation["date"]) >= discharged, story
    referral = letter.referral
    if referral is not None:
        assert referral.accepted_at is not None, story
        assert letter.created_at >= referral.accepted_at, story
        assert admitted >= referral.planned_date, story
        assert admitted >= localdate(referral.sent_at), story


def test_every_demo_sheet_tells_its_story_in_order(demo) -> None:
    """Each date follows the one before it: nothing planned, admitted or discharged before the
    referral was sent, no letter sent before the discharge, no step before the one it needs."""
    load_sheets(demo)
    sheets = LiaisonSheet.objects.prefetch_related("events", "participants")
    assert sheets.filter(status=SheetStatus.CLOSED).exists()
    for sheet in sheets:
        story = f"{sheet.get_kind_display()} {sheet.get_status_display()}"
        _assert_steps_in_order(sheet, story)
        birth = date.fromisoformat(sheet.patient["birth_date"])
        if sheet.planned_date is not None:
            assert sheet.sent_at is not None, story
            assert sheet.planned_date >= localdate(sheet.sent_at), story
            assert birth < sheet.planned_date, story
        if sheet.kind == LiaisonSheet.Kind.DISCHARGE and sheet.content.get("admission_date"):
            assert birth < date.fromisoformat(sheet.content["admission_date"]), story
            _assert_stay_in_order(sheet, story)
