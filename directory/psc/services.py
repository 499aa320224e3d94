"""A verified PSC login: which member it is, what it says of them, and the audit entry."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.models import Member, ProfessionMismatch
from directory.psc.claims import reported_professions, rpps_of
from directory.psc.client import PscError, PscIdentity
from security import actions, audit
from security.reauth import PSC

logger = logging.getLogger(__name__)

UNKNOWN_PROFESSIONAL = "unknown_rpps"
NOT_RPPS = "not_rpps"


def member_for_login(identity: PscIdentity) -> Member:
    """The member whose RPPS PSC vouches for; PscError when there is none.

    No account is ever created here: the directory is kept by the coordinator, who adds the
    member (from their RPPS) after checking they belong to the CPTS.
    """
    rpps = rpps_of(identity.userinfo)
    if rpps is None:
        raise PscError(
            NOT_RPPS, _("Votre identifiant national n'est pas un numéro RPPS."), status=403
        )
    member = Member.objects.select_related("user").filter(rpps=rpps).first()
    if member is None:
        raise PscError(UNKNOWN_PROFESSIONAL, "", status=403, rpps=rpps)
    return member


@transaction.atomic
def record_login(*, member: Member, identity: PscIdentity) -> None:
    """Audit the login (method, acr, sid: never a token) and note a profession mismatch."""
    note_profession(member=member, identity=identity)
    audit.record(
        actor=member,
        action=actions.LOGIN,
        extra={"method": PSC, "acr": identity.acr, "sid": identity.sid[:64]},
    )


def note_profession(*, member: Member, identity: PscIdentity) -> ProfessionMismatch | None:
    """Keep PSC's profession when it differs from the directory's, for the coordinator.

    The directory is not changed: which of the two is right (a typo here, a register not yet
    updated there) is the coordinator's call. A member PSC reports with the directory's
    profession among their exercices has no mismatch.
    """
    reported = reported_professions(identity.userinfo)
    if not reported or any(profession == member.profession for profession, _codes in reported):
        ProfessionMismatch.objects.filter(member=member).delete()
        return None
    profession, codes = reported[0]
    mismatch, _created = ProfessionMismatch.objects.update_or_create(
        member=member,
        defaults={
            "reported_profession": profession,
            "reported_codes": codes[:120],
            "seen_at": timezone.now(),
        },
    )
    logger.info("PSC: profession reported for member %s differs from the directory", member.code)
    return mismatch


def record_refusal(*, reason: str) -> None:
    """A refused PSC login in the audit trail: the reason only (no token, no claim)."""
    audit.record(actor=None, action=actions.LOGIN_PSC_REFUSED, extra={"reason": reason[:64]})
