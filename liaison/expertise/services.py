"""The tele-expertise loop: send hook, take, ask for more, resend, answer, refuse, withdraw,
acknowledge, the answer's read receipt and the referral made from an answer.

Each action is declared in liaison.states (who, from which state, to which) and moves the
sheet with liaison's conditional UPDATE (liaison.services.transitions._move): of two experts
clicking "Prendre en charge" at once, one takes it and the other gets a 409 naming the state.
Every step leaves its SheetEvent, an audit entry and its notifications in one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import organisation_ids_of
from liaison import states
from liaison.catalogue import names_fields
from liaison.documents import missing_for_send
from liaison.expertise import actions, events
from liaison.models import ExpertiseRequest, LiaisonSheet
from liaison.selectors import known_identity, recipient_side_members, record_list_read
from liaison.services import attachments, drafts, transitions
from liaison.services.transitions import _audience, _move, _notify, _push, _record_event
from patients.identity import identity_indexes, validated_patient
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, StaleVersion

Status = LiaisonSheet.Status
Consultation = ExpertiseRequest.Consultation


def answer_delay(urgency: str) -> timedelta:
    """How long the expert service has to answer, by urgency (settings, in hours)."""
    hours = settings.EXPERTISE_ANSWER_DELAY_HOURS
    return timedelta(hours=hours.get(urgency or "routine") or hours["routine"])


def detail_of(sheet: LiaisonSheet) -> ExpertiseRequest:
    """The request's detail row, created with the sheet's first send."""
    try:
        return sheet.expertise
    except ExpertiseRequest.DoesNotExist:
        detail, _created = ExpertiseRequest.objects.get_or_create(sheet=sheet)
        sheet.expertise = detail
        return detail


def _patient_key(sheet: LiaisonSheet) -> str:
    """The patient of the yearly counts: the INS index, else the birth name and date one."""
    return sheet.ins_index or sheet.birth_name_index


def on_sent(sheet: LiaisonSheet, actor: Member) -> None:
    """Called by liaison.services.transitions.send_sheet for a request it just sent.

    Records the consent (who sent it declared the patient informed and consenting, C.1), the
    due date by urgency and the billing key, then tells the expert service.
    """
    assert sheet.sent_at is not None
    detail = detail_of(sheet)
    detail.specialty = sheet.content.get("specialty") or ""
    detail.patient_key = _patient_key(sheet)
    detail.consent_by = actor
    detail.consent_at = sheet.sent_at
    detail.first_sent_at = sheet.sent_at
    detail.due_at = sheet.sent_at + answer_delay(sheet.urgency)
    detail.save()
    _notify(events.SENT, recipient_side_members(sheet), sheet, actor)


def _step(
    actor: Member,
    sheet: LiaisonSheet,
    name: str,
    *,
    note: str = "",
    stamps: dict[str, Any] | None = None,
    tell: list[Member],
    event: str,
    audit_action: str,
) -> LiaisonSheet:
    """One move of the loop after its fields were judged: state, timeline, people, audit."""
    declared = states.ACTIONS[name]
    before = sheet.status
    audience = _audience(sheet)
    _move(sheet, declared, **(stamps or {}))
    _push(sheet, audience)
    _record_event(sheet, actor, name, before, note=note)
    _notify(event, tell, sheet, actor)
    audit.record(actor=actor, action=audit_action, target=sheet)
    return sheet


def _require_note(name: str, note: str) -> None:
    if not note.strip():
        raise FieldErrors({"note": [str(states.ACTIONS[name].missing_reason)]})


def _expert_side(sheet: LiaisonSheet) -> list[Member]:
    """Who hears from the requester: the expert who took it, else the whole service."""
    detail = detail_of(sheet)
    if detail.taken_by_id is not None:
        assert detail.taken_by is not None
        return [detail.taken_by]
    return recipient_side_members(sheet)


@names_fields
@transaction.atomic
def take(*, actor: Member, sheet: LiaisonSheet) -> LiaisonSheet:
    """An expert of the service takes the request: colleagues see who (no double work)."""
    states.check(actor, sheet, "take", state=False)
    at = now()
    _step(actor, sheet, "take", stamps={"received_at": sheet.received_at or at},
          tell=[sheet.author], event=events.TAKEN, audit_action=actions.TAKE)  # fmt: skip
    detail = detail_of(sheet)
    detail.taken_by, detail.taken_at = actor, at
    detail.save(update_fields=["taken_by", "taken_at"])
    return sheet


@names_fields
@transaction.atomic
def ask_more(*, actor: Member, sheet: LiaisonSheet, note: str) -> LiaisonSheet:
    """Back to the requester with what is missing ("photo nette de la lésion, taille ?")."""
    states.check(actor, sheet, "ask_more", state=False)
    _require_note("ask_more", note)
    return _step(actor, sheet, "ask_more", note=note.strip(), tell=[sheet.author],
                 event=events.MORE_INFO, audit_action=actions.ASK_MORE)  # fmt: skip


@names_fields
@transaction.atomic
def resend(
    *,
    actor: Member,
    sheet: LiaisonSheet,
    expected_version: int,
    patient: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
    note: str = "",
) -> LiaisonSheet:
    """The requester completes the request and sends it back to the expert who asked.

    If-Match as for a draft: a stale version is a 412 before anything changes. The completed
    request must still hold every field required to send (400 listing them).
    """
    states.check(actor, sheet, "resend", state=False)
    if sheet.status == Status.MORE_INFO_REQUESTED and sheet.version != expected_version:
        raise StaleVersion(current_version=sheet.version)
    stamps: dict[str, Any] = {}
    if patient:
        sheet.patient = validated_patient({**sheet.patient, **patient})
        stamps |= {"patient": sheet.patient, **identity_indexes(sheet.patient)}
    if content:
        merged = {**sheet.content, **content}
        sheet.content = drafts.validated_content(sheet.kind, merged, set(content))
        stamps["content"] = sheet.content
    missing = missing_for_send(
        kind=sheet.kind,
        patient=sheet.patient,
        content=sheet.content,
        has_recipient_organisation=sheet.recipient_organisation_id is not None,
    )
    if missing:
        raise FieldErrors(missing)
    if stamps:
        # The encrypted columns are written as the draft editor writes them (pre_save binds
        # the ciphertext to the row), inside the conditional UPDATE of the move.
        for name in ("patient", "content"):
            if name in stamps:
                field = LiaisonSheet._meta.get_field(name)
                stamps[name] = field.pre_save(sheet, False)  # type: ignore[union-attr]
    clear_patient, clear_content = sheet.patient, sheet.content
    _step(actor, sheet, "resend", note=note.strip(), stamps=stamps, tell=_expert_side(sheet),
          event=events.RESENT, audit_action=actions.RESEND)  # fmt: skip
    sheet.patient, sheet.content = clear_patient, clear_content  # _move set the ciphertexts
    detail = detail_of(sheet)
    detail.patient_key = _patient_key(sheet)
    detail.save(update_fields=["patient_key"])
    return sheet


def _same_msp(requester: Member, expert: Member) -> bool:
    """Requester and expert work in one MSP: the act is not billable (DOMAIN.md C.1)."""
    shared = set(organisation_ids_of(requester)) & set(organisation_ids_of(expert))
    return (
        bool(shared)
        and Organisation.objects.filter(pk__in=shared, kind=Organisation.Kind.MSP).exists()
    )


@names_fields
@transaction.atomic
def answer(
    *,
    actor: Member,
    sheet: LiaisonSheet,
    opinion: str,
    consultation: str,
    recommended_actions: str = "",
    note: str = "",
) -> LiaisonSheet:
    """The structured answer: the opinion, what to do, whether a consultation is needed."""
    states.check(actor, sheet, "answer", state=False)
    errors: dict[str, list[str]] = {}
    if not opinion.strip():
        errors["opinion"] = [_("Rédigez l'avis.")]
    if consultation not in Consultation.values:
        errors["consultation_needed"] = [_("Indiquez si une consultation est nécessaire.")]
    if errors:
        raise FieldErrors(errors)
    at = now()
    _step(actor, sheet, "answer", note=note.strip(), tell=[sheet.author],
          event=events.ANSWERED, audit_action=actions.ANSWER)  # fmt: skip
    detail = detail_of(sheet)
    detail.answer = {"opinion": opinion.strip(), "recommended_actions": recommended_actions}
    detail.consultation = consultation
    detail.answered_by, detail.answered_at = actor, at
    detail.taken_by = detail.taken_by or actor
    detail.patient_key = _patient_key(sheet)
    detail.same_msp = _same_msp(sheet.author, actor)
    detail.save()
    return sheet


@names_fields
@transaction.atomic
def refuse(
    *,
    actor: Member,
    sheet: LiaisonSheet,
    note: str,
    suggested_organisation: Organisation | None = None,
) -> LiaisonSheet:
    """The service declines, says why, and may suggest another service to ask."""
    states.check(actor, sheet, "refuse", state=False)
    _require_note("refuse", note)
    if suggested_organisation is not None and (
        suggested_organisation.kind not in drafts.EXPERT_ORGANISATION_KINDS
        or suggested_organisation.pk == sheet.recipient_organisation_id
    ):
        raise FieldErrors({"suggested_organisation": [_("Suggérez un autre service expert.")]})
    _step(actor, sheet, "refuse", note=note.strip(), stamps={"closed_at": now()},
          tell=[sheet.author], event=events.DECLINED, audit_action=actions.REFUSE)  # fmt: skip
    detail = detail_of(sheet)
    detail.suggested_organisation = suggested_organisation
    detail.save(update_fields=["suggested_organisation"])
    return sheet


@names_fields
@transaction.atomic
def withdraw(*, actor: Member, sheet: LiaisonSheet, note: str) -> LiaisonSheet:
    """The requester cancels a request not answered yet (the patient was seen meanwhile)."""
    states.check(actor, sheet, "withdraw", state=False)
    _require_note("withdraw", note)
    return _step(actor, sheet, "withdraw", note=note.strip(), stamps={"closed_at": now()},
                 tell=_expert_side(sheet), event=events.CANCELLED,
                 audit_action=actions.WITHDRAW)  # fmt: skip


@names_fields
@transaction.atomic
def acknowledge(*, actor: Member, sheet: LiaisonSheet) -> LiaisonSheet:
    """The requester has read the answer: the request is closed (and the answer read)."""
    states.check(actor, sheet, "acknowledge", state=False)
    at = now()
    _step(actor, sheet, "acknowledge", stamps={"closed_at": at}, tell=[],
          event=events.ANSWERED, audit_action=actions.ACKNOWLEDGE)  # fmt: skip
    detail = detail_of(sheet)
    if detail.answer_read_at is None:
        detail.answer_read_at = at
        detail.save(update_fields=["answer_read_at"])
    return sheet


@transaction.atomic
def mark_answer_read(*, actor: Member, sheet: LiaisonSheet, at: datetime | None = None) -> bool:
    """The requester's side opened the answer: the unread-answer reminder stops."""
    if sheet.kind != LiaisonSheet.Kind.EXPERTISE or sheet.status != Status.ANSWERED:
        return False
    if states.refusal(actor, sheet, "acknowledge") is not None:
        return False
    updated = ExpertiseRequest.objects.filter(sheet=sheet, answer_read_at__isnull=True).update(
        answer_read_at=at or now()
    )
    if updated:
        audit.record(actor=actor, action=actions.ANSWER_READ, target=sheet)
    return bool(updated)


def referral_content(sheet: LiaisonSheet) -> dict[str, Any]:
    """A referral draft prefilled from a request: its question as the reason, its context."""
    content = sheet.content
    detail = detail_of(sheet)
    reason = content.get("question", "")
    opinion = (detail.answer or {}).get("opinion", "")
    if opinion:
        reason = _("%(question)s\n\nAvis du spécialiste : %(opinion)s") % {
            "question": reason,
            "opinion": opinion,
        }
    urgency = "urgent" if detail.consultation == Consultation.URGENT else "routine"
    return {
        "urgency": urgency,
        "reason": reason,
        "medical_history": content.get("medical_history", ""),
        "medications": content.get("medications", []),
        "allergies": content.get("allergies", []),
        "allergies_none_known": content.get("allergies_none_known", False),
    }


@transaction.atomic
def referral_from_answer(*, actor: Member, sheet: LiaisonSheet) -> LiaisonSheet:
    """One click: the referral the answer calls for, as a draft the requester completes."""
    if sheet.kind != LiaisonSheet.Kind.EXPERTISE or sheet.status not in (
        Status.ANSWERED,
        Status.CLOSED,
    ):
        raise InvalidTransition(_("Seul un avis rendu donne lieu à une fiche de liaison."),
                                status=sheet.status)  # fmt: skip
    states.check(actor, sheet, "acknowledge", state=False)  # the requester's side only
    detail = detail_of(sheet)
    service = sheet.recipient_organisation
    referral = drafts.create_draft(
        actor=actor,
        kind=LiaisonSheet.Kind.REFERRAL,
        patient=sheet.patient,
        content=referral_content(sheet),
        recipient_organisation=service
        if service is not None and service.kind == Organisation.Kind.HOSPITAL_SERVICE
        else None,
    )
    detail.referral = referral
    detail.save(update_fields=["referral"])
    return referral


CONTEXT_KEYS = ("medical_history", "medications", "allergies", "allergies_none_known")


def prefilled_context(
    actor: Member, patient: dict[str, Any], content: dict[str, Any]
) -> dict[str, Any]:
    """The context the requester already wrote about this patient, where the request is silent.

    History, treatments and allergies come from the newest sheet the requester sees about the
    patient (found by the blind indexes: liaison.selectors.known_identity, the read audited
    as a list read); what the request itself says always wins.
    """
    if all(content.get(key) for key in CONTEXT_KEYS[:3]):
        return content
    from datetime import date as date_type  # noqa: PLC0415

    birth = patient.get("birth_date") or None
    try:
        birth_date = date_type.fromisoformat(birth) if isinstance(birth, str) else birth
    except ValueError:
        return content
    ins, name = patient.get("ins") or "", patient.get("birth_family_name") or ""
    if not ins and not (name and birth_date):
        return content
    record_list_read(actor, source="expertise_prefill", filters={"prefill": True})
    known = known_identity(actor, ins=ins, family_name=name, birth_date=birth_date)
    if known is None:
        return content
    earlier = known.content or {}
    filled = {key: earlier[key] for key in CONTEXT_KEYS if earlier.get(key)}
    return {**filled, **{key: value for key, value in content.items() if value}}


@transaction.atomic
def create_and_send(
    *,
    actor: Member,
    patient: dict[str, Any],
    content: dict[str, Any],
    recipient_organisation: Organisation | None,
    photos: list[Any] = (),  # type: ignore[assignment]
    send: bool = True,
) -> LiaisonSheet:
    """The phone form in one step: the draft, its photos, then the sending (400 listing what
    is missing rolls the whole back: the requester corrects and sends again)."""
    sheet = drafts.create_draft(
        actor=actor, kind=LiaisonSheet.Kind.EXPERTISE, patient=patient,
        content=prefilled_context(actor, patient, content),
        recipient_organisation=recipient_organisation,
    )  # fmt: skip
    for photo in photos:
        attachments.add_attachment(actor=actor, sheet=sheet, fileobj=photo,
                                   filename=photo.name or "", size=photo.size or 0)  # fmt: skip
    if send:
        sheet = transitions.send_sheet(actor=actor, sheet=sheet)
    return sheet
