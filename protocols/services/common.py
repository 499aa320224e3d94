"""What every protocol write shares: content validation, the denormalised protocol row, audit
action names and the 409 of a forbidden transition.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member
from protocols import search
from protocols.models import (
    PROFESSION_FIELDS,
    SECTION_FIELDS,
    TRAINING_FIELDS,
    Protocol,
    ProtocolVersion,
)
from security.exceptions import FieldErrors, InvalidTransition

VersionStatus = ProtocolVersion.Status
ProtocolStatus = Protocol.Status

# Audit actions, "<model>.<verb>" (security.audit checks the shape).
PROTOCOL_CREATE = "protocol.create"
PROTOCOL_UPDATE = "protocol.update"
VERSION_CREATE = "protocol_version.create"
VERSION_UPDATE = "protocol_version.update"
VERSION_ATTACH = "protocol_version.attach"
VERSION_SUBMIT = "protocol_version.submit"
VERSION_APPROVE = "protocol_version.approve"
VERSION_REQUEST_CHANGES = "protocol_version.request_changes"
VERSION_PUBLISH = "protocol_version.publish"
VERSION_RETIRE = "protocol_version.retire"
VERSION_ACKNOWLEDGE = "protocol_version.acknowledge"
PARTICIPATION_REGISTER = "protocol_participation.register"
PARTICIPATION_END = "protocol_participation.end"

CONTENT_FIELDS = (
    "title",
    "change_note",
    "legal_reference",
    "review_date",
    *PROFESSION_FIELDS,
    *SECTION_FIELDS,
    *TRAINING_FIELDS,
)
TEXT_LIMITS = {"title": 200, "legal_reference": 300}
SECTION_LIMIT = 20_000
COUNT_LIMIT = 1000  # hours or supervised patients: a larger number is a typing mistake


def clean_content(content: dict[str, Any]) -> dict[str, Any]:
    """Keep the known content fields, checked; raise FieldErrors naming every bad one."""
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    professions = set(Member.Profession.values)
    for name, value in content.items():
        if name not in CONTENT_FIELDS:
            continue
        if name == "review_date":
            if value is not None and not isinstance(value, date):
                errors[name] = [_("Date invalide.")]
            cleaned[name] = value
        elif name in TRAINING_FIELDS:
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not 0 <= value <= COUNT_LIMIT
            ):
                errors[name] = [_("Nombre entier de 0 à %(n)d.") % {"n": COUNT_LIMIT}]
            cleaned[name] = value
        elif name in PROFESSION_FIELDS:
            values = list(dict.fromkeys(value or []))
            unknown = [item for item in values if item not in professions]
            if unknown:
                errors[name] = [_("Profession inconnue : %(p)s.") % {"p": ", ".join(unknown)}]
            cleaned[name] = values
        else:
            text = (value or "").replace("\r\n", "\n")
            limit = TEXT_LIMITS.get(name, SECTION_LIMIT)
            if len(text) > limit:
                errors[name] = [_("%(n)d caractères au plus.") % {"n": limit}]
            cleaned[name] = text.strip() if name in TEXT_LIMITS else text
    if "title" in cleaned and not cleaned["title"]:
        errors["title"] = [_("Le titre est obligatoire.")]
    if errors:
        raise FieldErrors(errors)
    return cleaned


def missing_for_review(protocol: Protocol, version: ProtocolVersion) -> dict[str, list[str]]:
    """What a version needs before reviewers see it (R4011-1 essentials), by field."""
    required = _("Obligatoire avant la relecture.")
    missing: dict[str, list[str]] = {}
    for name in ("title", "objective", "steps"):
        if not getattr(version, name).strip():
            missing[name] = [required]
    if version.review_date is None:
        missing["review_date"] = [required]
    if protocol.kind == Protocol.Kind.PLURIPROFESSIONAL:
        if not version.professions:
            missing["professions"] = [required]
    else:
        for name in (
            "delegant_professions",
            "delegate_professions",
            "exclusion_criteria",
            "referral_back",
        ):
            if not getattr(version, name) or not str(getattr(version, name)).strip():
                missing[name] = [required]
    return missing


def invalid_transition(
    version: ProtocolVersion, message: str, **extra: object
) -> InvalidTransition:
    """409 carrying the version's current state, re-read from the database."""
    version.refresh_from_db(fields=["status", "revision", "review_round"])
    return InvalidTransition(
        message % {"status": VersionStatus(version.status).label},
        status=version.status,
        revision=version.revision,
        **extra,
    )


def professions_of(protocol: Protocol, version: ProtocolVersion) -> list[str]:
    """The professions a version names for its kind (the other lists are ignored)."""
    if protocol.kind == Protocol.Kind.PLURIPROFESSIONAL:
        return list(version.professions)
    return list(dict.fromkeys([*version.delegant_professions, *version.delegate_professions]))


def search_parts(protocol: Protocol, version: ProtocolVersion) -> tuple[str, str]:
    """(title, body) of the search document of a head version."""
    body = "\n".join(
        [protocol.reference, version.legal_reference, version.change_note]
        + [getattr(version, name) for name in SECTION_FIELDS]
    )
    return version.title, body


def refresh_protocol(protocol: Protocol) -> Protocol:
    """Recompute the protocol row from its versions, in the caller's transaction.

    The status, title, current version, profession tags and search documents are derived
    data; deriving them from the versions every time (rather than patching them per
    transition) keeps them right whatever the transition was.
    """
    versions = list(ProtocolVersion.objects.filter(protocol=protocol).order_by("number"))
    current = next((v for v in versions if v.status == VersionStatus.PUBLISHED), None)
    head = current or versions[-1]
    if current is not None:
        status = ProtocolStatus.PUBLISHED
    elif any(v.status == VersionStatus.RETIRED for v in versions):
        status = ProtocolStatus.RETIRED
    elif head.status == VersionStatus.IN_REVIEW:
        status = ProtocolStatus.IN_REVIEW
    else:
        status = ProtocolStatus.DRAFT
    title, body = search_parts(protocol, head)
    fields: dict[str, Any] = {
        "title": head.title,
        "status": status,
        "current_version": current,
        "profession_tags": " " + " ".join(professions_of(protocol, head)) + " ",
        "search_folded": search.folded_document([title, body]),
        "updated_at": now(),
    }
    if search.uses_postgres_search():
        fields["search_vector"] = search.vector_expression(title, body)
    Protocol.objects.filter(pk=protocol.pk).update(**fields)
    protocol.refresh_from_db()
    return protocol


def version_queryset(version: ProtocolVersion) -> QuerySet[ProtocolVersion]:
    return ProtocolVersion.objects.filter(pk=version.pk)
