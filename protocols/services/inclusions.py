"""Patients included in a protocol (CSP D4011-4-2: the yearly report counts them).

Rules this module owns:
- Only a protocol in force takes inclusions (409 otherwise, with the protocol's state): a
  draft is not yet applicable and a retired one no longer is.
- Only a member taking part as délégué (cooperation) or participant (pluriprofessional)
  includes a patient (403 for anyone else who sees the protocol): they are the ones who act
  under it. The inclusion is theirs.
- The patient is identified like a conversation's patient (`patients.identity`: the RNIV
  rules, then names and birth date required), stored encrypted with its blind indexes.
- The patient was informed and consented before (or on) the day of inclusion: who recorded
  it and when are kept. Dates are never in the future.
- An inclusion ends once, with a reason (conditional UPDATE: a second end is a 409), by the
  member who included the patient or a manager of the protocol.
Every write is audited in its transaction; a retried creation with the same key returns the
first inclusion (security.idempotency).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.timezone import localdate
from django.utils.translation import gettext as _

from directory.models import Member
from patients.identity import identified_patient, identity_indexes
from protocols import actions, selectors
from protocols.models import Inclusion, Protocol
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from security.idempotency import mark_replayed


def _checked_day(
    value: date | None, name: str, errors: dict[str, list[str]], *, required: bool = True
) -> None:
    if value is None:
        if required:
            errors[name] = [_("Indiquez une date.")]
    elif value > localdate():
        errors[name] = [_("Cette date est dans le futur.")]


@transaction.atomic
def include_patient(
    *,
    actor: Member,
    protocol: Protocol,
    patient: dict[str, Any] | None,
    included_on: date | None,
    informed_on: date | None,
    consent: bool,
    creation_key: str = "",
) -> Inclusion:
    """Record that `actor` included this patient in `protocol` (the protocol in force)."""
    if creation_key:
        existing = Inclusion.objects.filter(included_by=actor, creation_key=creation_key).first()
        if existing is not None:
            return mark_replayed(existing)
    version = protocol.current_version
    if protocol.status != Protocol.Status.PUBLISHED or version is None:
        raise InvalidTransition(
            _("Ce protocole n'est pas en vigueur : aucune inclusion possible."),
            status=protocol.status,
        )
    if selectors.including_participation(actor, protocol) is None:
        raise PermissionDenied(
            _("Seuls les délégués (ou participants) inscrits à ce protocole incluent des patients.")
        )
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    try:
        clean = identified_patient(
            patient or {}, required_message=_("Obligatoire pour inclure un patient.")
        )
    except FieldErrors as error:
        errors.update(error.fields)
    _checked_day(included_on, "included_on", errors)
    _checked_day(informed_on, "informed_on", errors)
    if informed_on and included_on and informed_on > included_on and "informed_on" not in errors:
        errors["informed_on"] = [
            _("Le patient est informé et consent avant d'être inclus, ou le jour même.")
        ]
    if not consent:
        errors["consent"] = [
            _("Le patient doit avoir été informé du protocole et y avoir consenti.")
        ]
    if errors:
        raise FieldErrors(errors)
    assert included_on is not None
    assert informed_on is not None
    inclusion = Inclusion(
        protocol=protocol,
        version=version,
        included_by=actor,
        informed_by=actor,
        patient=clean,
        included_on=included_on,
        informed_on=informed_on,
        creation_key=creation_key,
        **identity_indexes(clean),
    )
    try:
        with transaction.atomic():
            inclusion.save()
    except IntegrityError:
        if not creation_key:
            raise
        return mark_replayed(Inclusion.objects.get(included_by=actor, creation_key=creation_key))
    audit.record(
        actor=actor,
        action=actions.INCLUSION_CREATE,
        target=inclusion,
        extra={"protocol": str(protocol.code), "number": version.number},
    )
    return inclusion


@transaction.atomic
def end_inclusion(
    *, actor: Member, inclusion: Inclusion, ended_on: date | None, reason: str
) -> Inclusion:
    """The patient leaves the protocol: the day and the reason (completed, withdrawn...)."""
    if inclusion.included_by_id != actor.pk and not selectors.sees_every_inclusion(
        actor, inclusion.protocol
    ):
        raise PermissionDenied(_("Seul le professionnel qui a inclus le patient le fait sortir."))
    if inclusion.ended_on is not None:
        raise InvalidTransition(_("Ce patient est déjà sorti du protocole."), status="ended")
    errors: dict[str, list[str]] = {}
    _checked_day(ended_on, "ended_on", errors)
    if ended_on is not None and ended_on < inclusion.included_on and "ended_on" not in errors:
        errors["ended_on"] = [_("La sortie ne précède pas l'inclusion.")]
    if reason not in Inclusion.EndReason.values:
        errors["end_reason"] = [_("Choisissez un motif de sortie.")]
    if errors:
        raise FieldErrors(errors)
    updated = Inclusion.objects.filter(pk=inclusion.pk, ended_on__isnull=True).update(
        ended_on=ended_on, end_reason=reason, ended_by=actor
    )
    if updated != 1:
        raise InvalidTransition(_("Ce patient est déjà sorti du protocole."), status="ended")
    inclusion.ended_on, inclusion.end_reason, inclusion.ended_by = ended_on, reason, actor
    audit.record(
        actor=actor,
        action=actions.INCLUSION_END,
        target=inclusion,
        extra={"reason": reason},
    )
    return inclusion
