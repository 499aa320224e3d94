"""Liaison personas and documents: the demo CPTS, a complete referral, a sent one."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from directory.models import Member, Organisation
from liaison.models import LiaisonSheet
from liaison.services import drafts, transitions

TEST_INS = "279035121518989"  # the ANS test INS (DOMAIN.md B §3.3)


@pytest.fixture
def cardiologie(demo: dict[str, Member]) -> Organisation:
    return Organisation.objects.get(name="Cardiologie")


@pytest.fixture
def urgences(demo: dict[str, Member]) -> Organisation:
    return Organisation.objects.get(name="Urgences")


def referral_body(service: Organisation, copy_to: list[Member], **overrides: Any) -> dict[str, Any]:
    """A referral with every field required to send, as a GP would fill it."""
    body: dict[str, Any] = {
        "kind": "referral",
        "patient": {
            "identity_status": "QUAL",
            "ins": TEST_INS,
            "birth_family_name": "Lefèvre",
            "used_family_name": "Moreau",
            "given_names": "Éloïse Marie",
            "birth_date": "1979-03-15",
            "sex": "F",
            "birth_place_insee": "51215",
        },
        "recipient_organisation": str(service.code),
        "urgency": "urgent",
        "entry_mode": "scheduled",
        "reason": "Dyspnée d'effort progressive, suspicion d'insuffisance cardiaque",
        "medications": [
            {"name": "Furosémide", "dose": "40 mg", "frequency": "1/j", "route": "orale"},
            {"name": "Ramipril", "dose": "5 mg", "frequency": "1/j"},
        ],
        "allergies": [{"substance": "Pénicilline", "reaction": "urticaire"}],
        "medical_history": "HTA, diabète de type 2",
        "trusted_person": {"name": "Paul Lefèvre", "relationship": "fils", "phone": "0600000000"},
        "contact_back": "06 00 00 00 01",
        "copy_to": [str(m.code) for m in copy_to],
    }
    body.update(overrides)
    return body


def discharge_content(**overrides: Any) -> dict[str, Any]:
    content: dict[str, Any] = {
        "admission_date": "2026-11-02",
        "discharge_date": "2026-11-09",
        "entry_mode": "scheduled",
        "exit_mode": "home",
        "reason": "Insuffisance cardiaque décompensée",
        "stay_summary": "Amélioration sous diurétiques IV. Échographie : FEVG 40 %.",
        "mdro_search_done": True,
        "transfusion": False,
        "blood_derivatives": False,
        "discharge_medications": [
            {"name": "Furosémide", "dose": "80 mg", "frequency": "1/j", "duration": "1 mois",
             "change": "modified"},
        ],
        "stopped_medications": [{"name": "Ramipril", "reason": "Remplacé par sacubitril"}],
        "hospital_contact": "Dr Lambert, cardiologie, 02 38 29 38 40",
    }  # fmt: skip
    content.update(overrides)
    return content


@pytest.fixture
def make_referral(
    demo: dict[str, Member], cardiologie: Organisation
) -> Callable[..., LiaisonSheet]:
    """`make_referral(send=True)`: dr.martin's referral to cardiologie, copying ide.petit."""

    def make(*, send: bool = True, author: str = "dr.martin", **overrides: Any) -> LiaisonSheet:
        body = referral_body(cardiologie, [demo["ide.petit"]], **overrides)
        patient = body.pop("patient")
        body.pop("kind")
        body.pop("recipient_organisation")
        body.pop("copy_to")
        sheet = drafts.create_draft(
            actor=demo[author], kind="referral", patient=patient, content=body,
            recipient_organisation=cardiologie, participants=[demo["ide.petit"]],
        )  # fmt: skip
        if send:
            sheet = transitions.send_sheet(actor=demo[author], sheet=sheet)
        return sheet

    return make


OUTSIDERS = ["hop.urgences", "pharma.durand", "dr.bernard", "as.moreau", "coord"]
