"""Writing protocols: create one, edit its draft, draft the next version, attach a PDF.

Only a draft can be edited. A published version is never touched again: the next version is
drafted from it (a copy), and the database allows one open version per protocol, so two
members cannot start competing rewrites. Edits carry the revision the author read (If-Match):
a stale one is refused (412) instead of silently overwriting a colleague's work.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import IO, Any

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member
from protocols import actions, selectors
from protocols.models import (
    PROFESSION_FIELDS,
    SECTION_FIELDS,
    TRAINING_FIELDS,
    Protocol,
    ProtocolVersion,
    Theme,
)
from protocols.services.common import clean_content, invalid_transition, refresh_protocol
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied, StaleVersion
from security.idempotency import mark_replayed
from security.uploads import check_upload

VersionStatus = ProtocolVersion.Status
REFERENCE = re.compile(r"[A-Z0-9][A-Z0-9._-]{0,31}")
COPIED_FIELDS = (
    "title",
    "legal_reference",
    "review_date",
    *PROFESSION_FIELDS,
    *SECTION_FIELDS,
    *TRAINING_FIELDS,
    "attachment",
    "attachment_name",
    "attachment_size",
)


@transaction.atomic
def create_protocol(
    *,
    actor: Member,
    kind: str,
    content: dict[str, Any],
    reference: str = "",
    themes: Iterable[Theme] = (),
    creation_key: str = "",
) -> Protocol:
    """A new protocol and its first draft, written by `actor` (any active member).

    Sent again with the same creation key (a double click, a retry), it returns the first
    protocol, marked as a replay (security.idempotency), and makes nothing.
    """
    creation_key = creation_key.strip()[:64]
    if creation_key:
        existing = Protocol.objects.filter(created_by=actor, creation_key=creation_key).first()
        if existing is not None:
            return mark_replayed(existing)
    cleaned = clean_content(content)
    if not cleaned.get("title"):
        raise FieldErrors({"title": [_("Le titre est obligatoire.")]})
    if kind not in Protocol.Kind.values:
        raise FieldErrors({"kind": [_("Type de protocole inconnu.")]})
    reference = clean_reference(reference)
    try:
        with transaction.atomic():
            protocol = Protocol.objects.create(
                kind=kind,
                reference=reference,
                title=cleaned["title"],
                created_by=actor,
                creation_key=creation_key,
            )
    except IntegrityError:
        if creation_key:
            raced = Protocol.objects.filter(created_by=actor, creation_key=creation_key).first()
            if raced is not None:  # the same request raced in twice: the first one wins
                return mark_replayed(raced)
        raise FieldErrors({"reference": [_("Cette référence est déjà utilisée.")]}) from None
    protocol.themes.set(list(themes))
    version = ProtocolVersion.objects.create(protocol=protocol, number=1, author=actor, **cleaned)
    refresh_protocol(protocol)
    audit.record(actor=actor, action=actions.PROTOCOL_CREATE, target=protocol)
    audit.record(actor=actor, action=actions.VERSION_CREATE, target=version, extra={"number": 1})
    return protocol


@transaction.atomic
def update_protocol(
    *,
    actor: Member,
    protocol: Protocol,
    reference: str | None = None,
    themes: Iterable[Theme] | None = None,
) -> Protocol:
    """Change what is not versioned: the short reference and the themes."""
    if not selectors.can_manage(actor, protocol):
        raise PermissionDenied(_("Seuls le créateur du protocole et la coordination le peuvent."))
    if reference is not None:
        try:
            with transaction.atomic():
                Protocol.objects.filter(pk=protocol.pk).update(
                    reference=clean_reference(reference), updated_at=now()
                )
        except IntegrityError:
            raise FieldErrors({"reference": [_("Cette référence est déjà utilisée.")]}) from None
    if themes is not None:
        protocol.themes.set(list(themes))
    refresh_protocol(protocol)
    audit.record(actor=actor, action=actions.PROTOCOL_UPDATE, target=protocol)
    return protocol


def clean_reference(reference: str) -> str:
    """Upper case; letters, digits, dot, dash, underscore (it is typed in patient files)."""
    value = reference.strip().upper()
    if value and not REFERENCE.fullmatch(value):
        raise FieldErrors(
            {"reference": [_("Lettres, chiffres, point, tiret ou souligné ; 32 au plus.")]}
        )
    return value


def _require_editor(actor: Member, version: ProtocolVersion) -> None:
    if not selectors.can_edit(actor, version):
        raise PermissionDenied(
            _("Seuls l'auteur, le créateur du protocole et la coordination modifient un brouillon.")
        )


@transaction.atomic
def update_draft(
    *,
    actor: Member,
    version: ProtocolVersion,
    content: dict[str, Any],
    expected_revision: int | None = None,
) -> ProtocolVersion:
    """Edit a draft. A version in review, published, superseded or retired answers 409."""
    _require_editor(actor, version)
    cleaned = clean_content(content)
    rows = ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT)
    if expected_revision is not None:
        rows = rows.filter(revision=expected_revision)
    updated = rows.update(revision=F("revision") + 1, updated_at=now(), **cleaned)
    if updated != 1:
        version.refresh_from_db(fields=["status", "revision"])
        if version.status != VersionStatus.DRAFT:
            raise invalid_transition(
                version, _("Seul un brouillon se modifie : cette version est « %(status)s ».")
            )
        assert expected_revision is not None
        raise StaleVersion(current_version=version.revision)
    version.refresh_from_db()
    refresh_protocol(version.protocol)
    audit.record(
        actor=actor, action=actions.VERSION_UPDATE, target=version, extra={"number": version.number}
    )
    return version


@transaction.atomic
def draft_new_version(
    *, actor: Member, protocol: Protocol, source: ProtocolVersion | None = None
) -> ProtocolVersion:
    """Start the next version as a copy of `source` (default: the version in force).

    409 when a version is already being prepared (draft or in review), or when the source
    is itself still open: it is edited, not copied.
    """
    if not (selectors.can_manage(actor, protocol) or (source and source.author_id == actor.pk)):
        raise PermissionDenied(
            _("Seuls le créateur du protocole et la coordination préparent une nouvelle version.")
        )
    source = source or protocol.current_version or selectors.latest_version_of(protocol)
    assert source is not None  # a protocol is created with its first version
    if source.status not in ProtocolVersion.RELEASED:
        raise invalid_transition(
            source, _("Cette version est « %(status)s » : modifiez-la plutôt que de la copier.")
        )
    already = selectors.open_version_of(protocol)
    if already is not None:
        raise InvalidTransition(
            _("La version %(n)d est déjà en préparation (« %(status)s »).")
            % {"n": already.number, "status": VersionStatus(already.status).label},
            status=already.status,
            open_version=already.number,
        )
    number = (
        ProtocolVersion.objects.filter(protocol=protocol).aggregate(n=Max("number"))["n"] or 0
    ) + 1
    copied = {name: getattr(source, name) for name in COPIED_FIELDS}
    try:
        with transaction.atomic():
            version = ProtocolVersion.objects.create(
                protocol=protocol, number=number, author=actor, based_on=source, **copied
            )
    except IntegrityError:
        # Another member started one between our check and our INSERT: the constraint decided.
        raise InvalidTransition(
            _("Une autre version vient d'être mise en préparation."), status=VersionStatus.DRAFT
        ) from None
    refresh_protocol(protocol)
    audit.record(
        actor=actor, action=actions.VERSION_CREATE, target=version, extra={"number": number}
    )
    return version


@transaction.atomic
def attach_pdf(
    *, actor: Member, version: ProtocolVersion, fileobj: IO[bytes], filename: str, size: int
) -> ProtocolVersion:
    """Attach (or replace) the PDF of a draft; the content decides the type, not the name."""
    _require_editor(actor, version)
    if version.status != VersionStatus.DRAFT:
        raise invalid_transition(
            version, _("Seul un brouillon se modifie : cette version est « %(status)s ».")
        )
    content_type = check_upload(fileobj, size=size, field="file")
    if content_type != "application/pdf":
        raise FieldErrors({"file": [_("Seul un document PDF peut être joint à un protocole.")]})
    name = (filename or "protocole.pdf").rsplit("/", 1)[-1][:200]
    version.attachment.save(f"{version.code}.pdf", fileobj, save=False)
    updated = ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.DRAFT).update(
        attachment=version.attachment.name,
        attachment_name=name,
        attachment_size=size,
        revision=F("revision") + 1,
        updated_at=now(),
    )
    if updated != 1:
        raise invalid_transition(
            version, _("Seul un brouillon se modifie : cette version est « %(status)s ».")
        )
    version.refresh_from_db()
    audit.record(actor=actor, action=actions.VERSION_ATTACH, target=version, extra={"size": size})
    return version
