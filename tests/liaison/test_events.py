"""The timeline is immutable: the ORM refuses to change or remove an event."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError

from liaison.models import ImmutableEvent, LiaisonSheet, SheetEvent
from liaison.services import drafts

pytestmark = pytest.mark.django_db


@pytest.fixture
def event(make_referral) -> SheetEvent:
    return SheetEvent.objects.get(sheet=make_referral(), action="send")


def test_an_event_cannot_be_updated(event) -> None:
    event.note = "réécrit"
    with pytest.raises(ImmutableEvent):
        event.save()
    with pytest.raises(ImmutableEvent):
        SheetEvent.objects.filter(pk=event.pk).update(note="réécrit")
    event.refresh_from_db()
    assert event.note == ""


def test_an_event_cannot_be_deleted(event) -> None:
    with pytest.raises(ImmutableEvent):
        event.delete()
    with pytest.raises(ImmutableEvent):
        SheetEvent.objects.filter(pk=event.pk).delete()
    assert SheetEvent.objects.filter(pk=event.pk).exists()


def test_a_sheet_with_a_timeline_cannot_be_deleted_with_it(event) -> None:
    with pytest.raises(ProtectedError):
        event.sheet.delete()
    assert SheetEvent.objects.filter(pk=event.pk).exists()


def test_a_draft_can_still_be_discarded(demo, make_referral) -> None:
    draft = make_referral(send=False)

    drafts.delete_draft(actor=demo["dr.martin"], sheet=draft)

    assert not LiaisonSheet.objects.filter(pk=draft.pk).exists()


def test_discarding_a_draft_through_the_api_works(client_for, demo, make_referral) -> None:
    draft = make_referral(send=False)

    response = client_for(demo["dr.martin"]).delete(f"/api/v1/liaison-sheets/{draft.code}/")

    assert response.status_code == 204
    assert not LiaisonSheet.objects.filter(pk=draft.pk).exists()
