"""Demo sheets in every state between the demo members (fictional patients)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.utils.timezone import localdate

from directory.models import Member, Organisation
from liaison.models import LiaisonSheet
from liaison.services import discharge, drafts, transitions

PATIENTS = [
    {"identity_status": "QUAL", "ins": "279035121518989", "birth_family_name": "Lefèvre",
     "given_names": "Éloïse Marie", "birth_date": "1979-03-15", "sex": "F",
     "birth_place_insee": "51215"},
    {"identity_status": "VALI", "birth_family_name": "Garçon", "given_names": "Noël",
     "birth_date": "1941-12-25", "sex": "M", "birth_place_insee": "33063"},
    {"identity_status": "PROV", "birth_family_name": "Cœur", "used_family_name": "Bonnet",
     "given_names": "Françoise", "birth_date": "1936-07-02", "sex": "F"},
    {"identity_status": "VALI", "birth_family_name": "Nguyen", "given_names": "Thi Hoa",
     "birth_date": "1958-05-30", "sex": "F", "birth_place_insee": "99243"},
    {"identity_status": "PROV", "birth_family_name": "Petitjean", "given_names": "Marcel",
     "birth_date": "1949-10-11", "sex": "M"},
    {"identity_status": "VALI", "birth_family_name": "Benali", "given_names": "Karim",
     "birth_date": "1967-01-19", "sex": "M", "birth_place_insee": "69123"},
]  # fmt: skip


def _referral(urgency: str, reason: str) -> dict[str, Any]:
    return {
        "urgency": urgency, "entry_mode": "scheduled", "reason": reason,
        "medications": [{"name": "Apixaban", "dose": "5 mg", "frequency": "2/j", "route": "orale"},
                        {"name": "Bisoprolol", "dose": "2,5 mg", "frequency": "1/j"}],
        "allergies_none_known": True,
        "medical_history": "Fibrillation atriale, HTA",
        "social_context": {"lives_alone": True, "home_help": "Aide ménagère 2 fois par semaine"},
        "trusted_person": {"name": "Fille", "relationship": "fille", "phone": "06 11 22 33 44"},
        "contact_back": "Secrétariat MSP : 02 38 00 00 10",
    }  # fmt: skip


def _discharge_content(today: date, *, admitted: date, discharged: date) -> dict[str, Any]:
    return {
        "admission_date": admitted.isoformat(),
        "discharge_date": discharged.isoformat(),
        "entry_mode": "scheduled", "exit_mode": "home",
        "reason": "Décompensation cardiaque",
        "stay_summary": "Évolution favorable sous diurétiques.",
        "mdro_search_done": True, "transfusion": False, "blood_derivatives": False,
        "discharge_medications": [
            {"name": "Furosémide", "dose": "40 mg", "frequency": "1/j", "duration": "3 mois",
             "change": "new"},
            {"name": "Apixaban", "dose": "5 mg", "frequency": "2/j", "duration": "au long cours",
             "change": "continued"},
        ],
        "follow_up": {
            "consultations": [
                {"with": "Cardiologue", "date": (today + timedelta(days=30)).isoformat()}
            ],
            "recommendations": "Pesée quotidienne, régime peu salé.",
        },
        "hospital_contact": "Dr Sophie Lambert, cardiologie, 02 38 29 38 40",
    }  # fmt: skip


@transaction.atomic
def load_sheets(members: dict[str, Member]) -> int:
    """A handful of sheets, once (skipped if the demo already has sheets).

    Every step runs now, through the services, and a sheet's timeline is immutable evidence:
    it cannot be backdated. So the dates typed into the sheets follow the moment of loading:
    a referral sent today is planned today at the earliest, and the closed referral is a day
    admission (planned, admitted, discharged and answered today). Only the emergency patient,
    who came without a referral, has a stay that ended before the letter was written.
    """
    if LiaisonSheet.objects.exists():
        return 0
    gp, leroy, nurse = members["dr.martin"], members["dr.leroy"], members["ide.petit"]
    cardio = members["hop.cardio"]
    cardiologie = Organisation.objects.get(name="Cardiologie")
    interne = Organisation.objects.get(name="Médecine interne")
    today = localdate()

    def referral(author: Member, patient: int, service: Organisation, urgency: str, reason: str,
                 *, send: bool = True) -> LiaisonSheet:  # fmt: skip
        sheet = drafts.create_draft(
            actor=author, kind="referral", patient=PATIENTS[patient],
            content=_referral(urgency, reason), recipient_organisation=service,
            participants=[nurse, members["pharma.durand"]] if patient == 0 else [nurse],
        )  # fmt: skip
        return transitions.send_sheet(actor=author, sheet=sheet) if send else sheet

    referral(gp, 4, cardiologie, "routine", "Bilan de souffle", send=False)  # draft
    referral(gp, 1, cardiologie, "urgent", "Malaise avec bradycardie")  # sent
    received = referral(leroy, 2, cardiologie, "routine", "Œdèmes des membres inférieurs")
    transitions.transition_referral(actor=cardio, sheet=received, action="receive")
    accepted = referral(gp, 3, cardiologie, "routine", "Bilan d'une dyspnée")
    transitions.transition_referral(actor=cardio, sheet=accepted, action="accept",
                                    planned_date=today + timedelta(days=3))  # fmt: skip
    transitions.add_note(actor=cardio, sheet=accepted, note="Rendez-vous confirmé avec la patiente")
    urgences = Organisation.objects.get(name="Urgences")
    declined = referral(members["dr.bernard"], 5, urgences, "routine", "Palpitations")
    transitions.transition_referral(
        actor=members["hop.urgences"], sheet=declined, action="decline",
        note="Relève d'une consultation de cardiologie", redirect_to=cardiologie,
    )  # fmt: skip
    cancelled = referral(gp, 1, interne, "routine", "Bilan d'anémie")
    transitions.transition_referral(actor=gp, sheet=cancelled, action="cancel",
                                    note="Bilan fait en ville")  # fmt: skip
    no_show = referral(leroy, 4, cardiologie, "routine", "Holter ECG")
    transitions.transition_referral(actor=cardio, sheet=no_show, action="accept",
                                    planned_date=today)  # fmt: skip
    transitions.transition_referral(actor=cardio, sheet=no_show, action="no_show")
    closed = referral(gp, 0, cardiologie, "urgent", "Insuffisance cardiaque décompensée")
    transitions.transition_referral(actor=cardio, sheet=closed, action="accept",
                                    planned_date=today)  # fmt: skip
    letter = discharge.start_discharge_letter(actor=cardio, referral=closed)
    letter = drafts.update_draft(
        actor=cardio, sheet=letter, expected_version=letter.version,
        content=_discharge_content(today, admitted=today, discharged=today) | {
            "reason": "Décompensation cardiaque : adaptation du traitement en hôpital de jour",
            "stay_summary": "Déplétion sous diurétiques intraveineux en hôpital de jour.",
        },
    )  # fmt: skip
    letter = transitions.send_sheet(actor=cardio, sheet=letter)
    # Receipts: the GP and the nurse have read it, the pharmacist not yet.
    transitions.mark_read(actor=gp, sheet=letter)
    transitions.mark_read(actor=nurse, sheet=letter)

    # A discharge letter still in draft, for the patient accepted in cardiology (no discharge
    # date yet: it is not late).
    discharge.start_discharge_letter(actor=cardio, referral=accepted)

    # A patient who came through the emergency room (no referral): the letter is sent
    # "in progress" while a result is awaited, then completed by a second version.
    first = drafts.create_draft(
        actor=cardio, kind="discharge", patient=PATIENTS[5],
        content=_discharge_content(
            today, admitted=today - timedelta(days=6), discharged=today - timedelta(days=1)
        ) | {
            "entry_mode": "emergency", "reason": "Fibrillation atriale rapide",
            "pending_results": "Holter ECG des 24 h en cours d'analyse",
        },
        participants=[members["dr.bernard"], nurse],
    )  # fmt: skip
    first = transitions.send_sheet(actor=cardio, sheet=first)
    transitions.mark_read(actor=members["dr.bernard"], sheet=first)
    second = discharge.revise_discharge_letter(actor=cardio, letter=first)
    second = drafts.update_draft(
        actor=cardio, sheet=second, expected_version=second.version,
        content={"pending_results": "", "stay_summary": (
            "Réduction sous bêtabloquant. Holter : pas de pause, FA paroxystique."
        )},
    )  # fmt: skip
    transitions.send_sheet(actor=cardio, sheet=second)  # unread by both recipients so far
    _load_expertise_requests(members)
    return LiaisonSheet.objects.count()


def _expertise(specialty: str, urgency: str, question: str, comment: str = "") -> dict[str, Any]:
    return {
        "specialty": specialty, "urgency": urgency, "question": question, "comment": comment,
        "medical_history": "HTA", "allergies_none_known": True, "patient_consent": True,
    }  # fmt: skip


def _load_expertise_requests(members: dict[str, Member]) -> None:
    """Tele-expertise requests in every state, to dermatology and cardiology."""
    from liaison.expertise import services as expertise  # noqa: PLC0415 (it imports this app)

    if "dr.derm" not in members:
        return
    gp, leroy, nurse = members["dr.martin"], members["dr.leroy"], members["ide.petit"]
    derm, cardio = members["dr.derm"], members["hop.cardio"]
    dermatologie = Organisation.objects.get(name="Dermatologie")
    cardiologie = Organisation.objects.get(name="Cardiologie")

    def ask(author: Member, patient: int, service: Organisation, content: dict[str, Any],
            *, send: bool = True) -> LiaisonSheet:  # fmt: skip
        sheet = drafts.create_draft(
            actor=author, kind="expertise", patient=PATIENTS[patient], content=content,
            recipient_organisation=service,
        )  # fmt: skip
        return transitions.send_sheet(actor=author, sheet=sheet) if send else sheet

    skin = "dermatology"
    ask(gp, 4, dermatologie, _expertise(skin, "routine", "Kératose du visage ?"), send=False)
    ask(nurse, 2, dermatologie, _expertise(skin, "urgent", "Plaie de jambe qui ne cicatrise pas"))
    taken = ask(gp, 1, dermatologie, _expertise(skin, "routine", "Lésion pigmentée du dos"))
    expertise.take(actor=derm, sheet=taken)
    more = ask(leroy, 3, dermatologie, _expertise(skin, "routine", "Éruption du tronc"))
    expertise.take(actor=derm, sheet=more)
    expertise.ask_more(actor=derm, sheet=more, note="Une photo nette et l'évolution, svp")
    answered = ask(gp, 0, dermatologie, _expertise(skin, "routine", "Naevus à surveiller ?"))
    expertise.take(actor=derm, sheet=answered)
    expertise.answer(
        actor=derm,
        sheet=answered,
        opinion="Naevus bénin, aspect rassurant.",
        recommended_actions="Surveillance annuelle",
        consultation="not_needed",
    )
    closed = ask(gp, 5, cardiologie, _expertise("cardiology", "urgent", "ECG : BAV 1 ?"))
    expertise.take(actor=cardio, sheet=closed)
    expertise.answer(actor=cardio, sheet=closed, opinion="BAV 1 isolé, pas de traitement.",
                     consultation="routine")  # fmt: skip
    expertise.acknowledge(actor=gp, sheet=closed)
    declined = ask(leroy, 1, cardiologie, _expertise("cardiology", "routine", "Souffle ?"))
    expertise.refuse(actor=cardio, sheet=declined, note="Relève d'une échographie d'abord")
    cancelled = ask(gp, 2, dermatologie, _expertise(skin, "routine", "Ongle incarné"))
    expertise.withdraw(actor=gp, sheet=cancelled, note="Patiente vue en consultation")
