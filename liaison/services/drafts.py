"""Creating and editing drafts: the only states in which a sheet's content may change."""

from __future__ import annotations

import json
from types import EllipsisType
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_date
from django.utils.timezone import now
from django.utils.translation import gettext as _
from rest_framework import serializers

from directory.models import Member, Organisation
from directory.selectors import organisation_ids_of
from liaison import actions, states
from liaison.catalogue import names_fields
from liaison.documents import CONTENT_SERIALIZERS, is_blank
from liaison.models import LiaisonSheet, SheetParticipant
from liaison.selectors import new_sheet_has_no_attachments, written_participants
from patients.identity import INDEX_FIELDS, identity_indexes, validated_patient
from security import audit
from security.exceptions import (
    DomainError,
    FieldErrors,
    InvalidTransition,
    StaleVersion,
)
from security.idempotency import mark_replayed

SheetStatus = LiaisonSheet.Status
SheetKind = LiaisonSheet.Kind


class EmptyDraft(DomainError):
    """A new referral with nothing typed in it: saving it would only leave a blank draft."""

    code = "empty_draft"


def _json(data: Any) -> Any:
    """Validated data as plain JSON (dates as ISO strings), as it is stored."""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _validated(
    serializer_class: type[serializers.Serializer],
    data: dict[str, Any],
    prefix: str,
    explicit: set[str] | None = None,
) -> dict[str, Any]:
    serializer = serializer_class(
        data=data, context={"explicit": explicit if explicit is not None else set(data)}
    )
    if not serializer.is_valid():
        errors = serializer.errors
        raise FieldErrors({f"{prefix}{key}": value for key, value in errors.items()})
    return _json(serializer.validated_data)


def validated_content(
    kind: str, data: dict[str, Any], explicit: set[str] | None = None
) -> dict[str, Any]:
    """`explicit`: the keys the caller set now (the rest is the stored draft being merged)."""
    return _validated(CONTENT_SERIALIZERS[kind], data, "", explicit)


def _clear_fields(kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """The few content values also kept in clear, because alerts and lists query them."""
    if kind in (SheetKind.REFERRAL, SheetKind.EXPERTISE):
        return {"urgency": content.get("urgency") or ""}
    # The content holds the date as JSON does (ISO text); the column, and the sheet answered
    # from what was written without reading it back, hold a date.
    discharge_date = content.get("discharge_date") or None
    if isinstance(discharge_date, str):
        discharge_date = parse_date(discharge_date)
    return {
        "document_status": content.get("document_status") or "",
        "discharge_date": discharge_date,
    }


def _sender_organisation(actor: Member, kind: str, requested: Organisation | None) -> Organisation:
    if requested is not None:
        if requested.pk not in organisation_ids_of(actor):
            raise FieldErrors(
                {"sender_organisation": [_("Vous n'appartenez pas à cette structure.")]}
            )
        return requested
    # The author's first organisation, in one query (the joined memberships are the ones
    # organisation_ids_of reads).
    candidates = Organisation.objects.filter(memberships__member=actor).order_by("pk")
    if kind == SheetKind.DISCHARGE:
        candidates = candidates.filter(kind=Organisation.Kind.HOSPITAL_SERVICE)
    organisation = candidates.first()
    if organisation is None:
        message = (
            _("Seul un service hospitalier peut émettre une lettre de sortie.")
            if kind == SheetKind.DISCHARGE
            else _("Vous n'êtes rattaché à aucune structure.")
        )
        raise FieldErrors({"sender_organisation": [message]})
    return organisation


# Who answers a tele-expertise request: a hospital service, or specialists of the CPTS
# working in a practice (DOMAIN.md Part C.1: "a specialist or a specialist service").
EXPERT_ORGANISATION_KINDS = (
    Organisation.Kind.HOSPITAL_SERVICE,
    Organisation.Kind.CABINET,
    Organisation.Kind.MSP,
)


def _check_recipient_organisation(organisation: Organisation | None, kind: str) -> None:
    if kind == SheetKind.EXPERTISE:
        if organisation is not None and organisation.kind not in EXPERT_ORGANISATION_KINDS:
            raise FieldErrors(
                {"recipient_organisation": [_("Choisissez un service ou un cabinet spécialisé.")]}
            )
        return
    if organisation is not None and organisation.kind != Organisation.Kind.HOSPITAL_SERVICE:
        raise FieldErrors(
            {"recipient_organisation": [_("Le destinataire doit être un service hospitalier.")]}
        )


def _set_participants(sheet: LiaisonSheet, members: list[Member], *, new: bool = False) -> None:
    """Name exactly `members` on the sheet, and keep them on it for the response.

    The current participants are those `access_sheet` prefetched (none for a `new` sheet):
    only the removed ones are deleted, only the added ones inserted.
    """
    role = SheetParticipant.Role.COPY if sheet.is_referral else SheetParticipant.Role.RECIPIENT
    inactive = [member for member in members if not member.is_active]
    if inactive:
        key = "copy_to" if sheet.is_referral else "recipients"
        raise FieldErrors({key: [_("Ce membre n'est plus actif.")]})
    wanted = {member.pk for member in members}
    current = [] if new else list(sheet.participants.all())
    removed = [participant.pk for participant in current if participant.member_id not in wanted]
    if removed:
        SheetParticipant.objects.filter(pk__in=removed).delete()
    kept = [participant for participant in current if participant.member_id in wanted]
    existing = {participant.member_id for participant in kept}
    added = SheetParticipant.objects.bulk_create(
        SheetParticipant(sheet=sheet, member=member, role=role)
        for member in dict.fromkeys(members)
        if member.pk not in existing
    )
    written_participants(sheet, [*kept, *added])


@names_fields
@transaction.atomic
def create_draft(
    *,
    actor: Member,
    kind: str,
    patient: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
    recipient_organisation: Organisation | None = None,
    sender_organisation: Organisation | None = None,
    referral: LiaisonSheet | None = None,
    participants: list[Member] | None = None,
    creation_key: str = "",
) -> LiaisonSheet:
    """Start a sheet as a draft. Retried with the same creation key, it returns the first one.

    The first one comes back marked as a replay (security.idempotency), for the API's header.
    """
    has_recipient = kind in (SheetKind.REFERRAL, SheetKind.EXPERTISE)
    if has_recipient:
        _check_recipient_organisation(recipient_organisation, kind)
    if has_recipient and (
        recipient_organisation is None
        and not participants
        and is_blank(patient or {})
        and is_blank(content or {})
    ):
        # Each empty "Envoyer" used to leave a blank draft behind in the worklist.
        raise EmptyDraft(
            _(
                "La fiche est vide : remplissez au moins un champ (patient, destinataire, "
                "motif…) avant de l'enregistrer ou de l'envoyer."
            )
        )
    organisation = _sender_organisation(actor, kind, sender_organisation)
    clean_patient = validated_patient(patient or {})
    clean_content = validated_content(kind, content or {})
    sheet = LiaisonSheet(
        kind=kind,
        author=actor,
        sender_organisation=organisation,
        recipient_organisation=recipient_organisation if has_recipient else None,
        referral=referral if kind == SheetKind.DISCHARGE else None,
        patient=clean_patient,
        content=clean_content,
        creation_key=creation_key,
        **identity_indexes(clean_patient),
        **_clear_fields(kind, clean_content),
    )
    if creation_key:
        # The key is checked by the insert itself (the unique constraint on author and key),
        # not by a query before it: a retry, even one racing the first call, gets the first.
        try:
            with transaction.atomic():
                sheet.save()
        except IntegrityError:
            return mark_replayed(LiaisonSheet.objects.get(author=actor, creation_key=creation_key))
    else:
        sheet.save()
    new_sheet_has_no_attachments(sheet)
    _set_participants(sheet, participants or [], new=True)
    audit.record(actor=actor, action=actions.SHEET_CREATE, target=sheet)
    return sheet


@names_fields
@transaction.atomic
def update_draft(
    *,
    actor: Member,
    sheet: LiaisonSheet,
    expected_version: int,
    patient: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
    recipient_organisation: Organisation | EllipsisType | None = ...,
    participants: list[Member] | None = None,
) -> LiaisonSheet:
    """Merge changes into a draft, if nobody saved it since `expected_version`.

    The conditional UPDATE on (status, version) is the lock: of two concurrent saves of the
    same version, exactly one passes and the other gets StaleVersion (412).
    """
    states.check(actor, sheet, "edit", state=False)  # the UPDATE below judges the state
    # The sheet as this request read it already tells a stale save (412) or a sent sheet
    # (409) before any validation, as the UPDATE would; the UPDATE catches a later change.
    _refuse_unless_draft_at(sheet, expected_version)
    fields: list[str] = []
    if patient is not None:
        sheet.patient = validated_patient({**sheet.patient, **patient})
        for name, value in identity_indexes(sheet.patient).items():
            setattr(sheet, name, value)
        fields += ["patient", *INDEX_FIELDS]
    if content is not None:
        sheet.content = validated_content(sheet.kind, {**sheet.content, **content}, set(content))
        for name, value in _clear_fields(sheet.kind, sheet.content).items():
            setattr(sheet, name, value)
        fields += ["content", *_clear_fields(sheet.kind, sheet.content)]
    if recipient_organisation is not ... and sheet.kind != SheetKind.DISCHARGE:
        _check_recipient_organisation(recipient_organisation, sheet.kind)
        sheet.recipient_organisation = recipient_organisation
        fields.append("recipient_organisation")
    # One conditional UPDATE writes the changes and moves the version: the values are the
    # fields' own (pre_save encrypts and binds the ciphertext to this row, as save() does).
    sheet.updated_at = now()
    values = {
        name: LiaisonSheet._meta.get_field(name).pre_save(sheet, False)  # type: ignore[union-attr]
        for name in fields
    }
    updated = LiaisonSheet.objects.filter(
        pk=sheet.pk, status=SheetStatus.DRAFT, version=expected_version
    ).update(version=expected_version + 1, updated_at=sheet.updated_at, **values)
    if updated != 1:
        sheet.refresh_from_db(fields=["status", "version"])
        _refuse_unless_draft_at(sheet, expected_version)
    sheet.version = expected_version + 1
    if participants is not None:
        _set_participants(sheet, participants)
    audit.record(actor=actor, action=actions.SHEET_UPDATE, target=sheet)
    return sheet


def _refuse_unless_draft_at(sheet: LiaisonSheet, version: int) -> None:
    if sheet.status != SheetStatus.DRAFT:
        raise InvalidTransition(_("Seul un brouillon peut être modifié."), status=sheet.status)
    if sheet.version != version:
        raise StaleVersion(current_version=sheet.version)


@transaction.atomic
def delete_draft(*, actor: Member, sheet: LiaisonSheet) -> None:
    """Discard a draft that was never sent (nothing of it has left the practice)."""
    states.check(actor, sheet, "delete")
    audit.record(actor=actor, action=actions.SHEET_DELETE, target=sheet)
    sheet.delete()
