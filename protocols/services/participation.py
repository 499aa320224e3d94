"""Who takes part in a protocol, and who has read the version in force.

Participation rules (CSP R4011-1 2° c and 3°, DOMAIN.md B §5.6): a délégant or a délégué must
have one of the professions the protocol names for that role; a délégué must declare the
training the protocol requires; a pluriprofessional protocol has participants of the
professions it concerns. The rules are read from the version in force (the latest version
while the protocol is being prepared). They are checked again when a new version is published:
the participations the new version no longer allows are ended then (end_unmatched_participations),
with the reason and the version, and their members are told.

Acknowledgement ("lu et approuvé") is recorded once per member and version: acknowledging
twice returns the first record, so a double click or a retried request is harmless.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.timezone import now
from django.utils.translation import gettext as _

from directory.models import Member
from protocols import actions, events, selectors
from protocols.models import Acknowledgement, Participation, Protocol, ProtocolVersion
from protocols.services.common import invalid_transition
from security import audit
from security.exceptions import FieldErrors, InvalidTransition, PermissionDenied
from worker.services import notify

Role = Participation.Role
VersionStatus = ProtocolVersion.Status


def _allowed_professions(version: ProtocolVersion, role: str) -> list[str]:
    if role == Role.DELEGANT:
        return list(version.delegant_professions)
    if role == Role.DELEGATE:
        return list(version.delegate_professions)
    return list(version.professions)


def _check_role(
    protocol: Protocol, version: ProtocolVersion, member: Member, role: str, training_declared: bool
) -> None:
    labels = dict(Member.Profession.choices)
    pluripro = protocol.kind == Protocol.Kind.PLURIPROFESSIONAL
    if pluripro and role != Role.PARTICIPANT:
        raise FieldErrors(
            {
                "role": [
                    _(
                        "Un protocole pluriprofessionnel n'a ni délégant ni délégué : "
                        "inscrivez un participant."
                    )
                ]
            }
        )
    if not pluripro and role == Role.PARTICIPANT:
        raise FieldErrors(
            {"role": [_("Un protocole de coopération inscrit des délégants et des délégués.")]}
        )
    allowed = _allowed_professions(version, role)
    if member.profession not in allowed:
        names = ", ".join(str(labels.get(p, p)) for p in allowed) or _("aucune")
        raise FieldErrors(
            {
                "role": [
                    _(
                        "La profession « %(profession)s » ne correspond pas au rôle « %(role)s » "
                        "de ce protocole (professions prévues : %(allowed)s)."
                    )
                    % {
                        "profession": labels.get(member.profession, member.profession),
                        "role": Role(role).label,
                        "allowed": names,
                    }
                ]
            }
        )
    if role == Role.DELEGATE and version.requires_training and not training_declared:
        raise FieldErrors(
            {
                "training_declared": [
                    _("Ce protocole exige une formation : le délégué doit déclarer l'avoir suivie.")
                ]
            }
        )


@transaction.atomic
def register_participant(
    *,
    actor: Member,
    protocol: Protocol,
    member: Member,
    role: str,
    training_declared: bool = False,
    training_details: str = "",
) -> tuple[Participation, bool]:
    """Register `member` in `protocol` (themselves, or anyone by the creator/coordination).

    Returns (participation, created): registering again in the same role returns the
    existing participation.
    """
    if member.pk != actor.pk and not selectors.can_manage(actor, protocol):
        raise PermissionDenied(_("Vous ne pouvez inscrire que vous-même."))
    if role not in Role.values:
        raise FieldErrors({"role": [_("Rôle inconnu.")]})
    if protocol.status == Protocol.Status.RETIRED:
        raise InvalidTransition(
            _("Ce protocole est retiré : plus aucune inscription."), status=protocol.status
        )
    version = protocol.current_version or selectors.latest_version_of(protocol)
    assert version is not None
    _check_role(protocol, version, member, role, training_declared)
    existing = Participation.objects.filter(
        protocol=protocol, member=member, role=role, ended_at__isnull=True
    ).first()
    if existing is not None:
        return existing, False
    at = now()
    try:
        with transaction.atomic():
            participation = Participation.objects.create(
                protocol=protocol,
                member=member,
                role=role,
                registered_by=actor,
                registered_at=at,
                training_declared_at=at if training_declared else None,
                training_details=training_details.strip()[:300],
            )
    except IntegrityError:  # registered concurrently: the constraint decided, same answer
        return Participation.objects.get(
            protocol=protocol, member=member, role=role, ended_at__isnull=True
        ), False
    audit.record(
        actor=actor,
        action=actions.PARTICIPATION_REGISTER,
        target=participation,
        extra={"role": role},
    )
    notify(
        event=events.PARTICIPANT_REGISTERED,
        recipients=[member],
        actor=actor,
        target=protocol,
        url=events.protocol_url(protocol),
    )
    return participation, True


@transaction.atomic
def end_participation(*, actor: Member, participation: Participation) -> Participation:
    """The member leaves the protocol (themselves, or by the creator/coordination)."""
    protocol = participation.protocol
    if participation.member_id != actor.pk and not selectors.can_manage(actor, protocol):
        raise PermissionDenied(_("Vous ne pouvez retirer que vous-même."))
    updated = Participation.objects.filter(pk=participation.pk, ended_at__isnull=True).update(
        ended_at=now(), end_reason=Participation.EndReason.LEFT
    )
    if updated != 1:
        raise InvalidTransition(_("Cette participation est déjà terminée."), status="ended")
    participation.refresh_from_db()
    audit.record(
        actor=actor,
        action=actions.PARTICIPATION_END,
        target=participation,
        extra={"role": participation.role},
    )
    return participation


def mismatch_with(version: ProtocolVersion, participation: Participation) -> str:
    """Why `version` would refuse this participation today ("" when it still matches)."""
    if participation.member.profession not in _allowed_professions(version, participation.role):
        return Participation.EndReason.PROFESSION
    if (
        participation.role == Role.DELEGATE
        and version.requires_training
        and participation.training_declared_at is None
    ):
        return Participation.EndReason.TRAINING
    return ""


def end_unmatched_participations(
    *, actor: Member, version: ProtocolVersion, at: datetime
) -> list[Participation]:
    """End the participations that the newly published `version` no longer allows.

    Called by publish_version in its transaction. The registration rules are only checked at
    registration, so without this a délégué whose profession the new version dropped, or who
    never declared a training the new version now requires, would keep acting under it
    (DOMAIN.md B §5.6: a délégué acts only while an active, trained membership exists). The
    member may register again once they match (after declaring the training, for instance).
    """
    ended: list[Participation] = []
    for participation in Participation.objects.filter(
        protocol_id=version.protocol_id, ended_at__isnull=True
    ).select_related("member"):
        reason = mismatch_with(version, participation)
        if not reason:
            continue
        # Conditional: a member leaving at the same moment keeps their own end.
        updated = Participation.objects.filter(pk=participation.pk, ended_at__isnull=True).update(
            ended_at=at, end_reason=reason, ended_by_version=version
        )
        if updated != 1:
            continue
        participation.ended_at, participation.end_reason = at, reason
        participation.ended_by_version = version
        audit.record(
            actor=actor,
            action=actions.PARTICIPATION_END,
            target=participation,
            extra={"role": participation.role, "reason": reason, "number": version.number},
        )
        ended.append(participation)
    notify(
        event=events.PARTICIPATION_ENDED_BY_VERSION,
        recipients=[participation.member for participation in ended],
        actor=actor,
        target=version.protocol,
        url=events.protocol_url(version.protocol),
    )
    return ended


@transaction.atomic
def acknowledge_version(*, actor: Member, version: ProtocolVersion) -> tuple[Acknowledgement, bool]:
    """ "Lu et approuvé" on the version in force. Returns (acknowledgement, created).

    Only the version in force can be acknowledged (409 otherwise, with its state): approving
    a superseded text would say nothing about what the member applies today.
    """
    existing = Acknowledgement.objects.filter(version=version, member=actor).first()
    if existing is not None:
        return existing, False
    if version.status != VersionStatus.PUBLISHED:
        raise invalid_transition(
            version, _("Seule la version en vigueur se valide : celle-ci est « %(status)s ».")
        )
    try:
        with transaction.atomic():
            acknowledgement = Acknowledgement.objects.create(version=version, member=actor)
    except IntegrityError:
        return Acknowledgement.objects.get(version=version, member=actor), False
    # Re-check after the INSERT: a publication committed meanwhile superseded the version.
    if not ProtocolVersion.objects.filter(pk=version.pk, status=VersionStatus.PUBLISHED).exists():
        raise invalid_transition(
            version, _("Seule la version en vigueur se valide : celle-ci est « %(status)s ».")
        )
    audit.record(
        actor=actor,
        action=actions.VERSION_ACKNOWLEDGE,
        target=version,
        extra={"number": version.number},
    )
    return acknowledgement, True
