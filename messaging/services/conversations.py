"""Starting conversations and changing who takes part in them.

Invariants this module owns:
- A conversation has its creator and at least one recipient: a member or a shared inbox.
- Every subject is encrypted (security.fields). A conversation about a patient or a liaison
  sheet is kept at least MESSAGING_LEGAL_RETENTION_DAYS after its last message (it is part
  of the medical record); a shorter requested period is refused.
- Joining and leaving are conditional UPDATEs on the participant row: a double click acts
  once, the second gets InvalidTransition (409). Each leaves an event in the history, an
  audit entry, and (for an addition) a notification, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import active_members_of
from messaging import actions, events
from messaging.models import Conversation, Message, MessageReceipt, Participant
from messaging.selectors import standing_of
from messaging.services.messages import Upload, checked_body, checked_files, post_message
from patients.identity import identified_patient, identity_indexes
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, NotFound, PermissionDenied
from security.idempotency import mark_replayed
from worker.services import notify

if TYPE_CHECKING:
    # Named in annotations only: messaging reaches sheets through liaison.selectors.
    from liaison.models import LiaisonSheet

SUBJECT_MAX = 200


def retention_floor(*, clinical: bool) -> int:
    """The shortest retention allowed, in days: the legal minimum for the medical record."""
    return settings.MESSAGING_LEGAL_RETENTION_DAYS if clinical else 1


def default_retention(*, clinical: bool) -> int:
    return max(settings.MESSAGING_RETENTION_DAYS, retention_floor(clinical=clinical))


def _checked_patient(
    patient: dict[str, Any] | None, errors: dict[str, list[str]]
) -> dict[str, Any] | None:
    if not patient:
        return None
    try:
        return identified_patient(
            patient, required_message=_("Obligatoire pour rattacher un patient.")
        )
    except FieldErrors as error:
        errors.update(error.fields)
        return None


def _collect(errors: dict[str, list[str]], check: Callable[[], object]) -> None:
    try:
        check()
    except FieldErrors as error:
        errors.update(error.fields)


def _checked_subject(subject: str, errors: dict[str, list[str]]) -> str:
    subject = subject.strip()
    if not subject:
        errors["subject"] = [_("Indiquez un objet.")]
    elif len(subject) > SUBJECT_MAX:
        errors["subject"] = [_("%(max)d caractères au plus.") % {"max": SUBJECT_MAX}]
    return subject


def _checked_recipients(
    actor: Member,
    participants: Sequence[Member],
    organisation_inbox: Organisation | None,
    errors: dict[str, list[str]],
) -> list[Member]:
    others = [member for member in dict.fromkeys(participants) if member.pk != actor.pk]
    if any(not member.is_active for member in others):
        errors["participants"] = [_("Ce membre n'est plus actif.")]
    if not others and organisation_inbox is None:
        errors["participants"] = [
            _("Choisissez au moins un destinataire : un membre ou une boîte partagée.")
        ]
    if organisation_inbox is not None and not active_members_of(organisation_inbox.pk):
        errors["organisation_inbox"] = [
            _("Cette structure n'a aucun membre actif pour lire ses messages.")
        ]
    return others


def _checked_retention(
    requested: int | None, *, clinical: bool, errors: dict[str, list[str]]
) -> int:
    floor = retention_floor(clinical=clinical)
    if requested is None:
        return default_retention(clinical=clinical)
    if requested < floor:
        errors["retention_days"] = [
            _("Une conversation sur un patient est conservée au moins %(days)d jours.")
            % {"days": floor}
        ]
    return requested


@transaction.atomic
def start_conversation(
    *,
    actor: Member,
    subject: str,
    participants: Sequence[Member] = (),
    organisation_inbox: Organisation | None = None,
    patient: dict[str, Any] | None = None,
    liaison_sheet: LiaisonSheet | None = None,
    retention_days: int | None = None,
    body: str = "",
    urgent: bool = False,
    files: Sequence[Upload] = (),
    creation_key: str = "",
) -> Conversation:
    """Start a conversation, optionally with its first message (text and files).

    The caller resolved `participants`, `organisation_inbox` and `liaison_sheet` through the
    access rules (the sheet: the actor must see it). Retried with the same creation key, it
    returns the first conversation, marked as a replay (security.idempotency).
    """
    if creation_key:
        existing = Conversation.objects.filter(created_by=actor, creation_key=creation_key).first()
        if existing is not None:
            return mark_replayed(existing)
    errors: dict[str, list[str]] = {}
    subject = _checked_subject(subject, errors)
    others = _checked_recipients(actor, participants, organisation_inbox, errors)
    clean_patient = _checked_patient(patient, errors)
    clinical = clean_patient is not None or liaison_sheet is not None or bool(patient)
    retention_days = _checked_retention(retention_days, clinical=clinical, errors=errors)
    if body or files:
        _collect(errors, lambda: checked_body(body, has_files=bool(files)))
        _collect(errors, lambda: checked_files(files))
    if errors:
        raise FieldErrors(errors)

    at = now()
    conversation = Conversation(
        created_by=actor,
        created_at=at,
        subject=subject,
        organisation_inbox=organisation_inbox,
        patient=clean_patient,
        liaison_sheet=liaison_sheet,
        retention_days=retention_days,
        retain_until=at + timedelta(days=retention_days),
        creation_key=creation_key,
        **(identity_indexes(clean_patient) if clean_patient else {}),
    )
    try:
        with transaction.atomic():
            conversation.save()
    except IntegrityError:
        if not creation_key:
            raise
        return mark_replayed(Conversation.objects.get(created_by=actor, creation_key=creation_key))
    Participant.objects.bulk_create(
        [Participant(conversation=conversation, member=actor, joined_at=at)]
        + [
            Participant(conversation=conversation, member=m, added_by=actor, joined_at=at)
            for m in others
        ]
    )
    if body or files:
        post_message(actor=actor, conversation=conversation, body=body, urgent=urgent, files=files)
    audit.record(
        actor=actor,
        action=actions.CONVERSATION_CREATE,
        target=conversation,
        extra={
            "participants": len(others) + 1,
            "inbox": organisation_inbox is not None,
            "sheet": str(liaison_sheet.code) if liaison_sheet else None,
        },
    )
    return conversation


@transaction.atomic
def add_participant(*, actor: Member, conversation: Conversation, member: Member) -> Participant:
    """Bring a member into the conversation; they see its whole history from now on."""
    standing = standing_of(actor, conversation)
    if standing.has_left and not standing.may_write:
        raise PermissionDenied(_("Vous avez quitté cette conversation."))
    if not standing.may_write:
        raise NotFound("conversation")
    if not member.is_active:
        raise FieldErrors({"member": [_("Ce membre n'est plus actif.")]})
    at = now()
    existing = Participant.objects.filter(conversation=conversation, member=member).first()
    if existing is not None:
        # A member who left comes back: the conditional UPDATE lets one of two clicks do it.
        rejoined = Participant.objects.filter(pk=existing.pk, left_at__isnull=False).update(
            left_at=None, joined_at=at, added_by=actor
        )
        if rejoined != 1:
            raise InvalidTransition(_("Ce membre participe déjà à la conversation."))
        participant = existing
        participant.refresh_from_db()
    else:
        try:
            with transaction.atomic():
                participant = Participant.objects.create(
                    conversation=conversation, member=member, added_by=actor, joined_at=at
                )
        except IntegrityError:
            raise InvalidTransition(_("Ce membre participe déjà à la conversation.")) from None
    Message.objects.create(
        conversation=conversation,
        author=actor,
        created_at=at,
        kind=Message.Kind.PARTICIPANT_ADDED,
        about_member=member,
    )
    audit.record(
        actor=actor,
        action=actions.CONVERSATION_ADD_PARTICIPANT,
        target=conversation,
        extra={"member": str(member.code)},
    )
    notify(
        event=events.PARTICIPANT_ADDED,
        recipients=[member],
        actor=actor,
        target=conversation,
        url=events.conversation_url(conversation),
    )
    return participant


@transaction.atomic
def leave_conversation(*, actor: Member, conversation: Conversation) -> Participant:
    """Leave: the member keeps the history up to now and can no longer write."""
    at = now()
    left = Participant.objects.filter(
        conversation=conversation, member=actor, left_at__isnull=True
    ).update(left_at=at)
    if left != 1:
        if Participant.objects.filter(conversation=conversation, member=actor).exists():
            raise InvalidTransition(_("Vous avez déjà quitté cette conversation."))
        raise InvalidTransition(
            _(
                "Vous lisez cette conversation par la boîte partagée de votre structure : "
                "il n'y a rien à quitter."
            )
        )
    # No e-mail reminder about messages of a conversation one has left.
    MessageReceipt.objects.filter(
        conversation=conversation, member=actor, read_at__isnull=True, reminded_at__isnull=True
    ).update(reminded_at=at)
    Message.objects.create(
        conversation=conversation,
        author=actor,
        created_at=at,
        kind=Message.Kind.PARTICIPANT_LEFT,
        about_member=actor,
    )
    audit.record(actor=actor, action=actions.CONVERSATION_LEAVE, target=conversation)
    return Participant.objects.get(conversation=conversation, member=actor)
