"""One state machine (liaison.states): the buttons a page shows are exactly the actions the
services accept, for every state of both documents and every persona who sees the sheet."""

from __future__ import annotations

import io
import pickle
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from liaison import selectors, states
from liaison.expertise import services as expertise
from liaison.models import LiaisonSheet
from liaison.services import attachments, discharge, drafts, transitions
from security.exceptions import DomainError, FieldErrors, InvalidTransition, PermissionDenied

pytestmark = pytest.mark.django_db
Status = LiaisonSheet.Status
PERSONAS = ["dr.martin", "dr.leroy", "dr.bernard", "ide.petit", "pharma.durand", "hop.cardio",
            "hop.cardio2", "hop.urgences", "as.moreau", "coord"]  # fmt: skip


class Rollback(Exception):
    pass


def _call(member: Any, sheet: LiaisonSheet, name: str) -> None:
    """The service behind each action, called as the page would, with what it asks for."""
    calls: dict[str, Callable[[], object]] = {
        "send": lambda: transitions.send_sheet(actor=member, sheet=sheet),
        "edit": lambda: drafts.update_draft(
            actor=member, sheet=sheet, expected_version=sheet.version
        ),
        "delete": lambda: drafts.delete_draft(actor=member, sheet=sheet),
        "discharge": lambda: discharge.start_discharge_letter(actor=member, referral=sheet),
        "revise": lambda: discharge.revise_discharge_letter(actor=member, letter=sheet),
        "note": lambda: transitions.add_note(actor=member, sheet=sheet, note="Admis en USIC"),
        "attach": lambda: attachments.add_attachment(
            actor=member,
            sheet=sheet,
            fileobj=io.BytesIO(b"compte rendu"),
            filename="cr.txt",
            size=12,
        ),
        # Tele-expertise (liaison.expertise.services)
        "take": lambda: expertise.take(actor=member, sheet=sheet),
        "ask_more": lambda: expertise.ask_more(actor=member, sheet=sheet, note="Photo ?"),
        "resend": lambda: expertise.resend(
            actor=member, sheet=sheet, expected_version=sheet.version
        ),
        "answer": lambda: expertise.answer(
            actor=member, sheet=sheet, opinion="Bénin", consultation="not_needed"
        ),
        "refuse": lambda: expertise.refuse(actor=member, sheet=sheet, note="Hors champ"),
        "withdraw": lambda: expertise.withdraw(actor=member, sheet=sheet, note="Vu"),
        "acknowledge": lambda: expertise.acknowledge(actor=member, sheet=sheet),
    }
    if name in transitions.TRANSITIONS:
        transitions.transition_referral(
            actor=member, sheet=sheet, action=name, note="Motif", planned_date=date(2026, 12, 1)
        )
    else:
        calls[name]()


def accepted_by_services(member: Any, code: Any) -> set[str]:
    """Every action the services accept from `member` on this sheet now (then undone).

    Each action gets the sheet as `access_sheet` returns it: read once, then a copy per
    action (pickled, so the prefetched relations come along), as every try is rolled back
    and a try may change the sheet in memory.
    """
    accepted = set()
    read = pickle.dumps(selectors.access_sheet(member, code))
    for name in states.ACTIONS:
        sheet = pickle.loads(read)  # noqa: S301 (our own object, just pickled)
        try:
            with transaction.atomic():
                _call(member, sheet, name)
                raise Rollback
        except Rollback:
            accepted.add(name)
        except FieldErrors:
            accepted.add(name)  # the state and the side passed: only the content is missing
        except (InvalidTransition, PermissionDenied):
            pass
    return accepted


@pytest.fixture
def sheets(demo, make_referral) -> dict[str, LiaisonSheet]:
    """A referral in every state, and discharge letters in theirs."""
    made = {}
    for status in Status.values:
        sheet = make_referral(send=status != Status.DRAFT)
        if status != Status.DRAFT:
            LiaisonSheet.objects.filter(pk=sheet.pk).update(status=status)
        made[f"referral-{status}"] = sheet
    accepted = make_referral()
    transitions.transition_referral(
        actor=demo["hop.cardio"], sheet=accepted, action="accept", planned_date=date(2026, 11, 2)
    )
    letter = discharge.start_discharge_letter(actor=demo["hop.cardio"], referral=accepted)
    made["discharge-draft"] = letter
    LiaisonSheet.objects.filter(pk=letter.pk).update(status=Status.SENT, sent_at=letter.created_at)
    made["discharge-sent"] = letter
    revised = make_referral()
    transitions.transition_referral(
        actor=demo["hop.cardio"], sheet=revised, action="accept", planned_date=date(2026, 11, 2)
    )
    old = discharge.start_discharge_letter(actor=demo["hop.cardio"], referral=revised)
    LiaisonSheet.objects.filter(pk=old.pk).update(status=Status.SENT, sent_at=old.created_at)
    old.refresh_from_db()
    discharge.revise_discharge_letter(actor=demo["hop.cardio"], letter=old)
    made["discharge-sent-with-next-version"] = old
    for status in Status.values:  # a tele-expertise request to cardiology, in every state
        request = drafts.create_draft(
            actor=demo["dr.martin"], kind="expertise", patient=patient_of(old),
            content={"specialty": "cardiology", "urgency": "routine", "question": "ECG ?",
                     "patient_consent": True},
            recipient_organisation=old.referral.recipient_organisation,
        )  # fmt: skip
        if status != Status.DRAFT:
            request = transitions.send_sheet(actor=demo["dr.martin"], sheet=request)
            LiaisonSheet.objects.filter(pk=request.pk).update(status=status)
        made[f"expertise-{status}"] = request
    return made


def patient_of(sheet: LiaisonSheet) -> dict[str, Any]:
    return LiaisonSheet.objects.get(pk=sheet.pk).patient


def test_the_buttons_are_the_actions_the_services_accept(demo, sheets) -> None:
    seen = 0
    for label, sheet in sheets.items():
        if label == "discharge-draft":
            continue  # it was sent by the fixture: its state is the next entry's
        for persona in PERSONAS:
            member = demo[persona]
            if not selectors.sheets_visible_to(member).filter(pk=sheet.pk).exists():
                continue
            seen += 1
            fresh = selectors.access_sheet(member, sheet.code)
            shown = {action.name for action in states.available(member, fresh)}
            assert shown == accepted_by_services(member, sheet.code), (label, persona)
    assert seen >= 20  # both sides and the copied nurse, in every state


def test_the_page_shows_the_machine_buttons_with_their_words(client: Client, demo, sheets) -> None:
    for label, sheet in sheets.items():
        if label.startswith("expertise-"):
            continue  # its page is tele-expertise's (tests/expertise)
        for persona in ("hop.cardio", "dr.martin", "ide.petit"):
            member = demo[persona]
            if sheet.status == Status.DRAFT or not (
                selectors.sheets_visible_to(member).filter(pk=sheet.pk).exists()
            ):
                continue
            client.force_login(member.user)
            body = client.get(f"/liaison/{sheet.code}/").content.decode()
            # Filing ("Classer") is the member's own list, not a step of the loop: its one
            # rule is liaison.services.filing.can_file, tested with the worklists.
            posted = set(re.findall(rf"/liaison/{sheet.code}/action/(\w+)/", body)) - {
                "file",
                "unfile",
            }
            fresh = LiaisonSheet.objects.get(pk=sheet.pk)
            available = states.available(member, selectors.access_sheet(member, fresh.code))
            assert posted == {action.name for action in available}, (label, persona)
            for action in available:
                if action.button:
                    assert f">{action.label}<" in body, (label, persona, action.name)


def test_a_refusal_names_who_may_act_and_the_state(demo, make_referral) -> None:
    sheet = make_referral()
    error: DomainError | None = states.refusal(demo["dr.martin"], sheet, "receive")
    assert isinstance(error, PermissionDenied)
    assert error.detail == "Cette action revient au service destinataire."
    error = states.refusal(demo["hop.cardio"], sheet, "no_show")
    assert isinstance(error, InvalidTransition)
    assert error.detail == "Action impossible : la fiche est à l'état « Envoyée »."
    assert states.ACTIONS["receive"].label == "Accuser réception"
