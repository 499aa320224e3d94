"""The lifecycle of the loop (after IHE 360X): send, receive, accept, decline, cancel, no-show,
reopen, close, notes, read receipts.

Every transition is a conditional UPDATE on the current status: of two concurrent clicks,
one moves the sheet and the other gets InvalidTransition (409) with the current status.
Each step leaves an immutable SheetEvent (the timeline), an audit entry and notifications,
all in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from liaison import actions, events, states
from liaison.catalogue import names_fields
from liaison.documents import missing_for_send
from liaison.models import LiaisonSheet, SheetEvent, SheetParticipant
from liaison.outputs import aggregates as indicators
from liaison.selectors import (
    is_on_sender_side,
    participant_members,
    recipient_side_members,
    sender_side_members,
)
from patients.identity import identity_indexes
from security import audit
from security.exceptions import FieldErrors, InvalidTransition
from security.idempotency import mark_replayed
from worker import push
from worker.services import notify

SheetStatus = LiaisonSheet.Status
SheetKind = LiaisonSheet.Kind


@dataclass(frozen=True)
class Transition:
    """What a lifecycle action does besides moving the sheet: whom it tells and what it audits.

    Where it leaves from, where it goes and who may do it are declared in liaison.states.
    """

    action: str
    event: str  # the notification event
    tell: str  # who is told: "sender" or "recipient"
    audit_action: str  # the audited action (liaison/actions.py)

    @property
    def declared(self) -> states.Action:
        return states.ACTIONS[self.action]


TRANSITIONS = {
    transition.action: transition
    for transition in [
        Transition("receive", events.REFERRAL_RECEIVED, "sender", actions.SHEET_RECEIVE),
        Transition("accept", events.REFERRAL_ACCEPTED, "sender", actions.SHEET_ACCEPT),
        Transition("decline", events.REFERRAL_DECLINED, "sender", actions.SHEET_DECLINE),
        Transition("cancel", events.REFERRAL_CANCELLED, "recipient", actions.SHEET_CANCEL),
        Transition("no_show", events.REFERRAL_NO_SHOW, "sender", actions.SHEET_NO_SHOW),
        Transition("reopen", events.REFERRAL_REOPENED, "recipient", actions.SHEET_REOPEN),
        Transition("close", events.REFERRAL_CLOSED, "recipient", actions.SHEET_CLOSE),
    ]
}


def _move(sheet: LiaisonSheet, action: states.Action, **stamps: Any) -> None:
    """Conditional UPDATE: only a sheet still in one of the action's source states moves.

    The UPDATE also names the version the caller read, so when it passes the row is exactly
    the caller's sheet plus these values: they are set in memory and the row is not read
    again (the response is built from it). When another write moved the version meanwhile
    but the state still allows the action, the move is made without it and the row re-read.

    The indicators' monthly aggregates move with it, in this transaction (liaison.outputs.
    aggregates): one locking read before, one UPSERT after when a counted figure changed.
    """
    assert action.target, f"{action.name} keeps the sheet's state"
    before = indicators.lock_before_change(sheet.pk)
    values = {"status": SheetStatus(action.target).value, "updated_at": now(), **stamps}
    moving = LiaisonSheet.objects.filter(pk=sheet.pk, status__in=action.sources)
    if moving.filter(version=sheet.version).update(version=F("version") + 1, **values) == 1:
        for name, value in values.items():
            setattr(sheet, name, value)
        sheet.version += 1
        indicators.record_change(before, sheet)
        return
    if moving.update(version=F("version") + 1, **values) != 1:
        sheet.refresh_from_db(fields=["status", "version"])
        raise InvalidTransition(states.state_message(action, sheet.status), status=sheet.status)
    sheet.refresh_from_db()
    indicators.record_change(before, sheet)


def _record_event(
    sheet: LiaisonSheet, actor: Member, action: str, before: str, note: str = "", key: str = ""
) -> SheetEvent:
    return SheetEvent.objects.create(
        sheet=sheet,
        actor=actor,
        action=action,
        from_status=before,
        to_status=sheet.status,
        note=note,
        idempotency_key=key,
    )


def _tell(sheet: LiaisonSheet, who: str, event: str, actor: Member) -> None:
    if who == "sender":
        # The author as the database has them now (one query, which caches them again on
        # the sheet): an author who left the CPTS since the sheet was read is not told.
        sheet._state.fields_cache.pop("author", None)
    members = sender_side_members(sheet) if who == "sender" else recipient_side_members(sheet)
    _notify(event, members, sheet, actor)


def _notify(event: str, members: list[Member], sheet: LiaisonSheet, actor: Member) -> None:
    notify(event=event, recipients=members, actor=actor, target=sheet, url=events.sheet_url(sheet))


def _audience(sheet: LiaisonSheet) -> list[str]:
    """The push topics of those who may see `sheet` once sent (liaison.selectors._visibility).

    Its author, the sender's and the recipient's organisations, and the named participants
    when the caller loaded them (access_sheet does): never a query, so pushing costs the
    request nothing. A participant not loaded here is still told through notify().
    """
    topics = [push.member_topic(sheet.author_id)]
    organisations = (sheet.sender_organisation_id, sheet.recipient_organisation_id)
    topics += [push.organisation_topic(pk) for pk in organisations if pk is not None]
    loaded = getattr(sheet, "_prefetched_objects_cache", {}).get("participants")
    if loaded is not None:
        topics += [push.member_topic(participant.member_id) for participant in loaded]
    return topics


def _push(sheet: LiaisonSheet, topics: list[str]) -> None:
    """Open worklists and sheet pages refresh: the sheet's code and new status, nothing else."""
    push.publish(topics=topics, kind="sheet", sheet=sheet.code, status=sheet.status)


def _already_done(sheet: LiaisonSheet, actor: Member, action: str, key: str) -> bool:
    return (
        bool(key)
        and SheetEvent.objects.filter(
            sheet=sheet, actor=actor, action=action, idempotency_key=key
        ).exists()
    )


def _referring_doctor_id(sheet: LiaisonSheet) -> int | None:
    """The author of the referral a discharge letter answers (None: no referral)."""
    if sheet.is_referral or sheet.referral_id is None:
        return None
    assert sheet.referral is not None  # loaded with the sheet by access_sheet
    return sheet.referral.author_id


@names_fields
@transaction.atomic
def send_sheet(*, actor: Member, sheet: LiaisonSheet, idempotency_key: str = "") -> LiaisonSheet:
    """Send a draft: to its hospital service (referral) or to its recipients (discharge).

    Retried with the same Idempotency-Key, it returns the sheet as the first call left it,
    marked as a replay (security.idempotency), even while that first call is still running:
    see below. Sending without a required section answers 400 listing every missing one.
    """
    if _already_done(sheet, actor, "send", idempotency_key):
        sheet.refresh_from_db()
        return mark_replayed(sheet)
    send = states.check(actor, sheet, "send")
    missing = missing_for_send(
        kind=sheet.kind,
        patient=sheet.patient,
        content=sheet.content,
        has_recipient_organisation=sheet.recipient_organisation_id is not None,
        recipient_ids={participant.member_id for participant in sheet.participants.all()},
        referring_doctor_id=_referring_doctor_id(sheet),
    )
    if missing:
        raise FieldErrors(missing)
    sent_at = now()
    audience = _audience(sheet)
    try:
        _move(sheet, send, sent_at=sent_at)
    except InvalidTransition:
        # A retry that arrived while the first call was still running: the conditional UPDATE
        # waited on the row lock until that call committed (SQLite serialises the whole
        # transaction instead), and this new query sees its event. Answer what it answered,
        # rather than a 409 about a send the client itself made.
        if _already_done(sheet, actor, "send", idempotency_key):
            sheet.refresh_from_db()
            return mark_replayed(sheet)
        raise
    if idempotency_key:
        try:
            with transaction.atomic():
                _record_event(sheet, actor, "send", SheetStatus.DRAFT, key=idempotency_key)
        except IntegrityError:
            # The key already sent another sheet (a client reusing keys): refuse, as
            # messaging does.
            raise InvalidTransition(
                _("Cette clé d'idempotence a déjà servi pour l'envoi d'une autre fiche."),
                status=sheet.status,
            ) from None
    else:  # no key, no unique constraint to trip: no savepoint either
        _record_event(sheet, actor, "send", SheetStatus.DRAFT)
    participants = list(sheet.participants.all())
    if participants:
        SheetParticipant.objects.filter(sheet=sheet).update(delivered_at=sent_at)
        for participant in participants:
            participant.delivered_at = sent_at
    _tell_sent(sheet, actor)
    # After the notifications: the audit chain's head stays locked from this entry to the
    # commit, and every audited write of the service waits for it.
    audit.record(actor=actor, action=actions.SHEET_SEND, target=sheet)
    if not sheet.is_referral and sheet.referral_id is not None:
        _close_referral_by_discharge(sheet, actor)
    _push(sheet, audience)
    return sheet


def _tell_sent(sheet: LiaisonSheet, actor: Member) -> None:
    """Who hears of a sending: the service (referral), the recipients (letter); a
    tele-expertise request also records its consent and due date (liaison.expertise)."""
    if sheet.kind == SheetKind.EXPERTISE:
        from liaison.expertise.services import on_sent  # noqa: PLC0415 (it imports this module)

        on_sent(sheet, actor)
    elif sheet.is_referral:
        _tell(sheet, "recipient", events.REFERRAL_SENT, actor)
    else:
        _notify(events.DISCHARGE_SENT, participant_members(sheet), sheet, actor)


def _close_referral_by_discharge(letter: LiaisonSheet, actor: Member) -> None:
    """Sending the discharge letter closes its referral: the loop is closed."""
    referral = letter.referral
    assert referral is not None
    before = indicators.lock_before_change(referral.pk)
    updated = LiaisonSheet.objects.filter(
        pk=referral.pk, status__in=(SheetStatus.SENT, SheetStatus.RECEIVED, SheetStatus.ACCEPTED)
    ).update(status=SheetStatus.CLOSED, closed_at=now(), version=F("version") + 1, updated_at=now())
    if updated == 1:
        indicators.record_change(before, indicators.closed(before))
        previous = referral.status
        referral.refresh_from_db()
        _record_event(referral, actor, "close", previous, note=_("Lettre de sortie envoyée."))
        audit.record(actor=actor, action=actions.SHEET_CLOSE, target=referral)
        _push(referral, _audience(referral))


@names_fields
@transaction.atomic
def transition_referral(
    *,
    actor: Member,
    sheet: LiaisonSheet,
    action: str,
    note: str = "",
    planned_date: date | None = None,
    redirect_to: Organisation | None = None,
) -> LiaisonSheet:
    """Apply one lifecycle action to a referral (receive, accept, decline, cancel, ...)."""
    transition = TRANSITIONS[action]
    declared = states.check(actor, sheet, action, state=False)
    errors: dict[str, list[str]] = {}
    if "planned_date" in declared.required and planned_date is None:
        errors["planned_date"] = [_("Indiquez la date d'admission ou de rendez-vous prévue.")]
    if "note" in declared.required and not note.strip():
        # The other side reads why in the timeline: a refusal or a cancellation is not silent.
        errors["note"] = [str(declared.missing_reason)]
    if redirect_to is not None and (
        redirect_to.kind != Organisation.Kind.HOSPITAL_SERVICE
        or redirect_to.pk == sheet.recipient_organisation_id
    ):
        errors["redirect_to"] = [_("Choisissez un autre service hospitalier.")]
    if errors:
        raise FieldErrors(errors)
    before = sheet.status
    moment = now()
    stamps: dict[str, Any] = {}
    if action == "receive" or (action == "accept" and sheet.received_at is None):
        stamps["received_at"] = moment
    if action == "accept":
        stamps.update(accepted_at=moment, planned_date=planned_date)
    if action == "reopen":
        # Back to the service's queue: the receipt alert starts again from now.
        stamps.update(sent_at=moment, receipt_alerted_at=None, receipt_escalated_at=None)
    if action == "close":
        stamps["closed_at"] = moment
    audience = _audience(sheet)
    _move(sheet, declared, **stamps)
    _push(sheet, audience)
    _record_event(sheet, actor, action, before, note=note)
    _tell(sheet, transition.tell, transition.event, actor)
    # Last, as in every write here: the audit chain's head stays locked from this entry to
    # the commit, and every audited write of the service waits for it.
    audit.record(actor=actor, action=transition.audit_action, target=sheet)
    if action == "decline" and redirect_to is not None:
        _redirect(sheet, actor, redirect_to)
    return sheet


def _redirect(declined: LiaisonSheet, actor: Member, service: Organisation) -> LiaisonSheet:
    """A declined referral redirected to another service becomes a new referral, sent there.

    It keeps the sender (the GP remains the author of the request) and points to the first.
    """
    copy = LiaisonSheet.objects.create(
        kind=SheetKind.REFERRAL,
        status=SheetStatus.SENT,
        author=declined.author,
        sender_organisation=declined.sender_organisation,
        recipient_organisation=service,
        redirected_from=declined,
        patient=declined.patient,
        content=declined.content,
        urgency=declined.urgency,
        **identity_indexes(declined.patient),
        sent_at=now(),
    )
    indicators.record_change(indicators.created(copy), copy)
    copied = SheetParticipant.objects.bulk_create(
        SheetParticipant(sheet=copy, member_id=p.member_id, role=p.role, delivered_at=now())
        for p in declined.participants.all()
    )
    _record_event(
        copy, actor, "redirect", SheetStatus.DRAFT, note=_("Réorientée par le service précédent.")
    )
    audit.record(actor=actor, action=actions.SHEET_REDIRECT, target=copy)
    _tell(copy, "recipient", events.REFERRAL_SENT, actor)
    _push(copy, _audience(copy) + [push.member_topic(p.member_id) for p in copied])
    return copy


@names_fields
@transaction.atomic
def add_note(*, actor: Member, sheet: LiaisonSheet, note: str) -> SheetEvent:
    """An interim note while the loop is open ("admis en USIC", "sortie prévue jeudi")."""
    if not note.strip():
        raise FieldErrors({"note": [_("La note est vide.")]})
    states.check(actor, sheet, "note")
    sender = is_on_sender_side(actor, sheet)
    event = _record_event(sheet, actor, "note", sheet.status, note=note.strip())
    audit.record(actor=actor, action=actions.SHEET_NOTE, target=sheet)
    others = sender_side_members(sheet) if not sender else recipient_side_members(sheet)
    if not sheet.is_referral:
        others = [*participant_members(sheet), sheet.author]
    _notify(events.NOTE_ADDED, others, sheet, actor)
    _push(sheet, _audience(sheet))
    return event


@transaction.atomic
def mark_read(*, actor: Member, sheet: LiaisonSheet) -> bool:
    """Record the read receipt of a named participant; True if this call recorded it."""
    if sheet.status == SheetStatus.DRAFT:
        return False
    updated = SheetParticipant.objects.filter(
        sheet=sheet, member=actor, read_at__isnull=True
    ).update(read_at=now())
    if updated:
        audit.record(actor=actor, action=actions.SHEET_MARK_READ, target=sheet)
    return bool(updated)
