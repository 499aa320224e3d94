"""Documents for the output tests: a complete referral, a discharge letter with every section
filled, and one with only the mandatory ones (DOMAIN.md Part A)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from directory.models import Member, Organisation
from liaison.models import LiaisonSheet
from liaison.selectors import sheet_for_output
from liaison.services import discharge, drafts, transitions

TEST_INS = "279035121518989"  # the ANS test INS

FULL_PATIENT = {
    "identity_status": "QUAL",
    "ins": TEST_INS,
    "birth_family_name": "Lefèvre",
    "used_family_name": "Moreau-Cœur",
    "given_names": "Éloïse Marie",
    "birth_date": "1979-03-15",
    "sex": "F",
    "birth_place_insee": "45155",
    "address": "12 rue de la Forêt, 45630 Beaulieu-sur-Loire",
    "phone": "06 12 34 56 78",
}

MINIMAL_PATIENT = {
    "birth_family_name": "Garçon",
    "given_names": "Noël",
    "birth_date": "1941-12-25",
    "sex": "M",
}

FULL_REFERRAL = {
    "urgency": "urgent",
    "entry_mode": "scheduled",
    "expected_date": "2026-11-02",
    "reason": "Dyspnée d'effort progressive\nsuspicion d'insuffisance cardiaque (œdèmes)",
    "medications": [
        {
            "name": "Furosémide",
            "dose": "40 mg",
            "frequency": "1/j",
            "route": "orale",
            "start_date": "2025-01-10",
            "end_date": "2026-12-31",
            "comment": "Le matin",
        },
        {"name": "Ramipril", "dose": "5 mg", "frequency": "1/j"},
    ],
    "allergies": [
        {
            "substance": "Pénicilline",
            "reaction": "Urticaire",
            "severity": "modérée",
            "status": "active",
        }
    ],
    "medical_history": "HTA, diabète de type 2",
    "surgical_history": "Cholécystectomie (2015)",
    "social_context": {
        "lives_alone": False,
        "home_help": "Aide ménagère",
        "caregiver": "Son fils",
        "social_worker": "Mme Moreau, CCAS",
    },
    "advance_directives": "Rédigées, confiées à la personne de confiance",
    "trusted_person": {"name": "Paul Lefèvre", "relationship": "fils", "phone": "06 00 00 00 09"},
    "emergency_contact": {
        "name": "Jeanne Roux",
        "relationship": "voisine",
        "phone": "02 38 00 00 99",
    },
    "comment": "Autonome, marche avec une canne. Pas de risque infectieux connu.",
    "contact_back": "Secrétariat MSP : 02 38 00 00 10",
}

FULL_DISCHARGE = {
    "admission_date": "2026-11-02",
    "discharge_date": "2026-11-09",
    "entry_mode": "emergency",
    "exit_mode": "home",
    "reason": "Insuffisance cardiaque décompensée\nsur fibrillation atriale rapide",
    "stay_summary": (
        "Reçu en urgence. Amélioration sous diurétiques IV. Échographie : FEVG 40 %.\n"
        "Cœur rythmé à J4."
    ),
    "adverse_events": "Chute sans gravité à J3 (œdème du genou gauche)",
    "mdro_search_done": True,
    "mdro_identified": "Entérobactérie BLSE (portage digestif)",
    "transfusion": True,
    "transfusion_incidents": "Frissons lors de la première poche, régressifs",
    "blood_derivatives": False,
    "implanted_devices": [
        {
            "description": "Stimulateur cardiaque double chambre",
            "date": "2026-11-05",
            "identifier": "(01)00643169007222(17)281231",
        },
    ],
    "discharge_medications": [
        {
            "name": "Furosémide",
            "dose": "80 mg",
            "frequency": "1/j",
            "route": "orale",
            "duration": "1 mois",
            "start_date": "2026-11-09",
            "end_date": "2026-12-09",
            "change": "modified",
            "comment": "À jeun, le matin",
        },
        {
            "name": "Bisoprolol",
            "dose": "1,25 mg",
            "frequency": "1/j",
            "duration": "au long cours",
            "change": "new",
        },
        {
            "name": "Apixaban",
            "dose": "5 mg",
            "frequency": "2/j",
            "duration": "au long cours",
            "change": "continued",
        },
    ],
    "stopped_medications": [{"name": "Ramipril", "reason": "Remplacé par sacubitril/valsartan"}],
    "pending_results": "Holter ECG des 24 h : résultat attendu sous 8 jours",
    "follow_up": {
        "acts": ["Pansement du boîtier à J7", "Ablation des fils à J10"],
        "exam_requests": [{"what": "Ionogramme sanguin", "by_date": "2026-11-16"}],
        "consultations": [
            {"with": "Cardiologue", "date": "2026-12-10", "note": "Contrôle du stimulateur"}
        ],
        "recommendations": (
            "Pesée quotidienne ; régime peu salé.\nConsulter si prise de 2 kg en 3 jours."
        ),
    },
    "allergies": [
        {
            "substance": "Pénicilline",
            "reaction": "Urticaire",
            "severity": "modérée",
            "status": "active",
        },
        {"substance": "Produits iodés", "severity": "grave"},
    ],
    "hospital_contact": "Dr Sophie Lambert, cardiologie, 02 38 29 38 40",
}

MINIMAL_DISCHARGE = {
    "admission_date": "2026-11-02",
    "discharge_date": "2026-11-04",
    "entry_mode": "scheduled",
    "exit_mode": "home",
    "reason": "Bilan de syncope",
    "stay_summary": "Bilan négatif.",
    "mdro_search_done": False,
    "transfusion": False,
    "blood_derivatives": False,
    "discharge_medications_none": True,
    "hospital_contact": "Dr Paul Rousseau, 02 38 29 38 00",
}


@pytest.fixture
def cardiologie(demo: dict[str, Member]) -> Organisation:
    return Organisation.objects.get(name="Cardiologie")


@pytest.fixture
def full_referral(demo: dict[str, Member], cardiologie: Organisation) -> LiaisonSheet:
    """dr.martin's referral to cardiology with every Part A key, sent and accepted."""
    sheet = drafts.create_draft(
        actor=demo["dr.martin"],
        kind="referral",
        patient=FULL_PATIENT,
        content=FULL_REFERRAL,
        recipient_organisation=cardiologie,
        participants=[demo["ide.petit"], demo["pharma.durand"]],
    )
    sheet = transitions.send_sheet(actor=demo["dr.martin"], sheet=sheet)
    return sheet_for_output(sheet)


@pytest.fixture
def make_letter(demo: dict[str, Member], cardiologie: Organisation) -> Callable[..., LiaisonSheet]:
    """`make_letter(content, patient=..., referral=None, send=True)`: hop.cardio's letter."""

    def make(
        content: dict[str, Any],
        *,
        patient: dict[str, Any] | None = None,
        referral: LiaisonSheet | None = None,
        send: bool = True,
    ) -> LiaisonSheet:
        cardio = demo["hop.cardio"]
        if referral is not None:
            letter = discharge.start_discharge_letter(actor=cardio, referral=referral)
            letter = drafts.update_draft(
                actor=cardio,
                sheet=letter,
                expected_version=letter.version,
                content=content,
                patient=patient,
            )
        else:
            letter = drafts.create_draft(
                actor=cardio,
                kind="discharge",
                patient=patient or MINIMAL_PATIENT,
                content=content,
                participants=[demo["dr.martin"]],
            )
        if send:
            letter = transitions.send_sheet(actor=cardio, sheet=letter)
        return sheet_for_output(letter)

    return make


@pytest.fixture
def full_letter(
    make_letter: Callable[..., LiaisonSheet], full_referral: LiaisonSheet
) -> LiaisonSheet:
    """A discharge letter with every section filled, answering the full referral."""
    return make_letter(FULL_DISCHARGE, patient=FULL_PATIENT, referral=full_referral)


@pytest.fixture
def minimal_letter(make_letter: Callable[..., LiaisonSheet]) -> LiaisonSheet:
    """A discharge letter with only what is required to send it."""
    return make_letter(MINIMAL_DISCHARGE)


def prune(value: Any) -> Any:
    """A document without its empty values: what "the same fields" means after a round trip
    (empty strings and nulls are not transmitted; False is a value and stays)."""
    if isinstance(value, dict):
        pruned = {key: prune(item) for key, item in value.items()}
        return {key: item for key, item in pruned.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [prune(item) for item in value]
    return value
