"""Writes of the outputs: a FHIR document becomes a draft sheet.

The only write here goes through liaison.services.drafts.create_draft, so an imported sheet
obeys exactly the rules of a typed one (validation, sender organisation, audit). Everything
that cannot be understood is collected first and reported in one 400, keyed by the JSON path
in the Bundle, and nothing is created.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from directory.models import Member, Organisation
from directory.selectors import organisation_ids_of
from liaison import actions
from liaison import selectors as liaison_selectors
from liaison.models import LiaisonSheet
from liaison.outputs import selectors
from liaison.outputs.fhir_import import ImportedSheet, read_bundle
from liaison.services.drafts import create_draft, validated_content
from patients.identity import validated_patient
from security import audit
from security.exceptions import FieldErrors, NotFound


def _messages(value: Any, prefix: str = "") -> list[str]:
    """DRF's nested error structures as flat "key : message" lines."""
    if isinstance(value, dict):
        return [
            line
            for key, item in value.items()
            for line in _messages(item, f"{prefix}.{key}" if prefix else key)
        ]
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value) or not value:
            return [f"{prefix} : {item}" if prefix else str(item) for item in value]
        return [
            line
            for i, item in enumerate(value)
            if item
            for line in _messages(item, f"{prefix}[{i}]")
        ]
    return [f"{prefix} : {value}" if prefix else str(value)]


class _Errors:
    def __init__(self, document: ImportedSheet) -> None:
        self.document = document
        self.fields: dict[str, list[str]] = {}

    def add(self, key: str, messages: list[str]) -> None:
        self.fields.setdefault(self.document.origin(key), []).extend(messages)

    def add_validation(self, error: FieldErrors) -> None:
        for key, value in error.fields.items():
            self.add(key, _messages(value, key))


def _participants(actor: Member, document: ImportedSheet, errors: _Errors) -> list[Member]:
    wanted = document.participants
    known = selectors.members_by_identifiers(
        actor,
        codes=[code for _p, code, _r in wanted if code],
        rpps=[r for _p, _c, r in wanted if r],
    )
    by_code = {str(m.code): m for m in known}
    by_rpps = {m.rpps: m for m in known if m.rpps}
    members = []
    for path, code, rpps in wanted:
        member = by_code.get(code) or by_rpps.get(rpps)
        if member is None:
            errors.fields.setdefault(path, []).append(
                _("Destinataire inconnu de l'annuaire de la CPTS.")
            )
        else:
            members.append(member)
    return members


def _own_organisation(actor: Member, code: str) -> Organisation | None:
    """The Bundle's custodian, when it is one of the importer's own organisations."""
    organisation = liaison_selectors.organisation_by_code(code)
    if organisation is None or organisation.pk not in organisation_ids_of(actor):
        return None
    return organisation


@transaction.atomic
def import_sheet_from_fhir(*, actor: Member, bundle: Any, creation_key: str = "") -> LiaisonSheet:
    """Create a draft from a FHIR R4 document Bundle; the importer becomes its author.

    FieldErrors lists, by JSON path, whatever could not be understood or is invalid.
    Retried with the same creation key, it returns the draft the first call created.
    """
    document = read_bundle(bundle)
    errors = _Errors(document)
    try:
        validated_patient(document.patient)
    except FieldErrors as error:
        errors.add_validation(error)
    try:
        validated_content(document.kind, document.content)
    except FieldErrors as error:
        errors.add_validation(error)
    recipient_organisation = None
    if document.kind == LiaisonSheet.Kind.REFERRAL and document.recipient_organisation:
        recipient_organisation = liaison_selectors.organisation_by_code(
            document.recipient_organisation
        )
        if recipient_organisation is None:
            errors.add(
                "recipient_organisation",
                [_("Service destinataire inconnu de l'annuaire de la CPTS.")],
            )
    referral = None
    if document.referral:
        try:
            referral = liaison_selectors.access_sheet(actor, document.referral)
        except NotFound:
            errors.add("referral", [_("Fiche d'entrée introuvable.")])
    participants = _participants(actor, document, errors)
    if errors.fields:
        raise FieldErrors(errors.fields)
    try:
        sheet = create_draft(
            actor=actor,
            kind=document.kind,
            patient=document.patient,
            content=document.content,
            recipient_organisation=recipient_organisation,
            sender_organisation=_own_organisation(actor, document.sender_organisation),
            referral=referral,
            participants=participants,
            creation_key=creation_key,
        )
    except FieldErrors as error:
        errors.add_validation(error)
        raise FieldErrors(errors.fields) from None
    audit.record(actor=actor, action=actions.SHEET_FHIR_IMPORT, target=sheet)
    return sheet
