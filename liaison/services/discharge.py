"""Discharge letters: started from a referral (prefilled), and completed by new versions."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from liaison import actions, states
from liaison.models import LiaisonSheet, SheetParticipant
from liaison.services.drafts import create_draft
from patients.identity import identity_indexes
from security import audit
from security.exceptions import InvalidTransition

SheetStatus = LiaisonSheet.Status
SheetKind = LiaisonSheet.Kind


DOCTORS = (Member.Profession.GENERAL_PRACTITIONER, Member.Profession.SPECIALIST)


def signing_doctor(member: Member, service: Organisation | None) -> str:
    """The signature block ("Médecin signataire et contact") of a letter `member` writes,
    when they are a doctor: who signs it, in which service, and how to reach them.
    Empty for anyone else (a secretary prepares the letter; the doctor signs it)."""
    if member.profession not in DOCTORS:
        return ""
    parts = [f"Dr {member.display_name}"]
    if member.specialty and (service is None or member.specialty.lower() != service.name.lower()):
        parts.append(member.specialty)
    if service is not None:
        parts.append(f"{service.name}, {service.parent.name}" if service.parent else service.name)
    phone = (service.phone if service is not None else "") or member.phone
    if phone:
        parts.append(phone)
    return " — ".join(parts)


def _prefill_from(referral: LiaisonSheet) -> dict[str, object]:
    """What the hospital would otherwise retype: reason, entry, treatments, allergies."""
    content = referral.content or {}
    medications = [
        {key: line.get(key, "") for key in ("name", "dose", "frequency", "route", "comment")}
        | {"change": "continued"}
        for line in content.get("medications") or []
    ]
    prefill: dict[str, object] = {
        "reason": content.get("reason", ""),
        "entry_mode": content.get("entry_mode", ""),
        "discharge_medications": medications,
        "allergies": content.get("allergies") or [],
        "allergies_none_known": bool(content.get("allergies_none_known")),
    }
    if referral.planned_date:
        prefill["admission_date"] = referral.planned_date.isoformat()
    return prefill


@transaction.atomic
def start_discharge_letter(*, actor: Member, referral: LiaisonSheet) -> LiaisonSheet:
    """The discharge letter of a referral, prefilled with its patient, treatments and team.

    Recipients: the referring doctor and the copied care team. Asked twice (a double click),
    it returns the draft already started rather than a second one.
    """
    states.check(actor, referral, "discharge")
    existing = LiaisonSheet.objects.filter(
        referral=referral,
        kind=SheetKind.DISCHARGE,
        status=SheetStatus.DRAFT,
        sender_organisation_id=referral.recipient_organisation_id,
    ).first()
    if existing is not None:
        return existing
    team = [referral.author] + [p.member for p in referral.participants.select_related("member")]
    content = _prefill_from(referral)
    signature = signing_doctor(actor, referral.recipient_organisation)
    if signature:
        content["hospital_contact"] = signature
    return create_draft(
        actor=actor,
        kind=SheetKind.DISCHARGE,
        patient=dict(referral.patient),
        content=content,
        sender_organisation=referral.recipient_organisation,
        referral=referral,
        participants=team,
    )


@transaction.atomic
def revise_discharge_letter(*, actor: Member, letter: LiaisonSheet) -> LiaisonSheet:
    """Start the next version of a sent letter (results arrived, a correction): a new draft
    with the same set id and the next version number; recipients will see both versions."""
    states.check(actor, letter, "revise")
    content = dict(letter.content)
    content.pop("document_status", None)
    try:
        with transaction.atomic():
            draft = LiaisonSheet.objects.create(
                kind=SheetKind.DISCHARGE,
                author=actor,
                sender_organisation=letter.sender_organisation,
                referral=letter.referral,
                set_id=letter.set_id,
                document_version=letter.document_version + 1,
                previous_version=letter,
                patient=letter.patient,
                content=content,
                **identity_indexes(letter.patient),
                discharge_date=letter.discharge_date,
            )
    except IntegrityError:
        raise InvalidTransition(
            _("Une version plus récente existe déjà."), status=letter.status
        ) from None
    SheetParticipant.objects.bulk_create(
        SheetParticipant(sheet=draft, member_id=p.member_id, role=p.role)
        for p in letter.participants.all()
    )
    audit.record(actor=actor, action=actions.SHEET_REVISE, target=draft)
    return draft
