"""Who hears about protocols, and what they are told.

Labels name what happened and who did it, never a protocol's content: the member follows the
link and reads the protocol through the access rules like any other read.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from directory.models import Member
from protocols.models import Protocol, ProtocolVersion
from worker.events import register_event
from worker.services import enqueue_notification

EVENTS = {
    "protocols.review_requested": "Relecture d'un protocole demandée par {actor}",
    "protocols.version_approved": "Version de protocole approuvée par {actor}",
    "protocols.changes_requested": "Modifications d'un protocole demandées par {actor}",
    "protocols.version_published": "Nouvelle version d'un protocole publiée par {actor}",
    "protocols.version_retired": "Protocole retiré par {actor}",
    "protocols.participant_registered": "Vous avez été inscrit à un protocole par {actor}",
    "protocols.participation_ended_by_version": (
        "Fin de votre participation à un protocole (nouvelle version publiée par {actor})"
    ),
    "protocols.acknowledgement_reminder": "Protocole à lire et approuver",
    "protocols.review_due_soon": "Révision d'un protocole à prévoir dans les 30 jours",
    "protocols.review_overdue": "Revue d'un protocole en retard",
}
for _event, _label in EVENTS.items():
    register_event(_event, _label)


def protocol_url(protocol: Protocol) -> str:
    return reverse("protocol-detail", kwargs={"code": protocol.code})


def review_url(version: ProtocolVersion) -> str:
    return reverse(
        "protocol-review", kwargs={"code": version.protocol.code, "number": version.number}
    )


def notify(
    members: Iterable[Member],
    *,
    event: str,
    protocol: Protocol,
    actor: Member | None,
    url: str = "",
) -> int:
    """Queue one notification per member (never to the actor about their own action)."""
    seen: set[int] = set()
    for member in members:
        if member.pk in seen or (actor is not None and member.pk == actor.pk):
            continue
        if not member.is_active:
            continue
        seen.add(member.pk)
        enqueue_notification(
            recipient=member,
            event=event,
            target=protocol,
            actor=actor,
            url=url or protocol_url(protocol),
        )
    return len(seen)
