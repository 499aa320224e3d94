"""Reads of the audit trail, for the CPTS coordination only.

The trail says who touched which patient's records, so reading it is itself sensitive: it is
reserved to the coordination (everyone else gets a 404, as for an object they may not see),
it is only ever listed about one object or one member, never whole, and every listing is
recorded in the trail.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet

from directory.models import Member
from directory.selectors import require_coordinator
from security import actions, audit
from security.models import AuditEntry

AUDIT_TRAIL = "audit trail"


def audit_entries_visible_to(member: Member) -> QuerySet[AuditEntry]:
    """The whole trail, newest first, for the coordination; NotFound for anyone else.

    Raising instead of returning an empty queryset: an empty 200 would still tell a
    member that the endpoint exists for them and simply has nothing to show.
    """
    require_coordinator(member, what=AUDIT_TRAIL)
    return AuditEntry.objects.select_related("actor").order_by("-id")


def audit_entries_about(
    member: Member, *, target: UUID | None = None, actor: UUID | None = None
) -> QuerySet[AuditEntry]:
    """Entries about the object `target` and/or by the member `actor`, and record the listing.

    At least one of the two is required (ValueError otherwise): listing the whole trail
    is an export, not a consultation. The listing is recorded before the rows are read, so
    it appears in its own results when the coordinator lists their own actions.
    """
    if target is None and actor is None:
        raise ValueError("list the audit trail about a target or an actor")
    entries = audit_entries_visible_to(member)
    if target is not None:
        entries = entries.filter(target_code=target)
    if actor is not None:
        entries = entries.filter(actor_code=actor)
    query = {name: str(value) for name, value in (("target", target), ("actor", actor)) if value}
    audit.record(actor=member, action=actions.AUDIT_LIST, extra=query)
    return entries


def audit_actions_for(member: Member) -> list[actions.AuditAction]:
    """Every action the trail may hold, with its French label, for the coordination only.

    Not recorded in the trail: the list of declared actions says nothing about anyone.
    """
    require_coordinator(member, what=AUDIT_TRAIL)
    return actions.registered_actions()


def audit_checkpoint_status_for(member: Member) -> audit.CheckpointStatus:
    """Whether the newest checkpoint of the trail still holds, for the coordination only.

    Not recorded in the trail: it says nothing about anyone, only whether the trail is
    intact up to the last checkpoint (security.audit.latest_checkpoint_status).
    """
    require_coordinator(member, what=AUDIT_TRAIL)
    return audit.latest_checkpoint_status()
