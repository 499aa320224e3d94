"""The notification events of protocols: their names, French labels and links.

Who is told is said by the services; the rules of the telling (never the actor, once per
member, active members only) are in worker.services.notify, for every app. Labels name what
happened and who did it, never a protocol's content: the member follows the link and reads
the protocol through the access rules like any other read.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from protocols.models import Protocol, ProtocolVersion
from protocols.selectors import protocols_for_notifications
from worker.events import Channel, Subject, register_area, register_describer, register_event

register_area("protocols", _("Protocoles"), order=30)

# Nothing about a protocol is urgent: the daily digest by default, in-app at once.
ROUTINE = Channel.DIGEST

REVIEW_REQUESTED = register_event(
    "protocols.review_requested",
    _("Relecture d'un protocole demandée par {actor}"),
    default_channel=ROUTINE,
).name
VERSION_APPROVED = register_event(
    "protocols.version_approved",
    _("Version de protocole approuvée par {actor}"),
    default_channel=ROUTINE,
).name
CHANGES_REQUESTED = register_event(
    "protocols.changes_requested",
    _("Modifications d'un protocole demandées par {actor}"),
    default_channel=ROUTINE,
).name
VERSION_PUBLISHED = register_event(
    "protocols.version_published",
    _("Nouvelle version d'un protocole publiée par {actor}"),
    default_channel=ROUTINE,
).name
VERSION_RETIRED = register_event(
    "protocols.version_retired", _("Protocole retiré par {actor}"), default_channel=ROUTINE
).name
PARTICIPANT_REGISTERED = register_event(
    "protocols.participant_registered",
    _("Vous avez été inscrit à un protocole par {actor}"),
    default_channel=ROUTINE,
).name
PARTICIPATION_ENDED_BY_VERSION = register_event(
    "protocols.participation_ended_by_version",
    _("Fin de votre participation à un protocole (nouvelle version publiée par {actor})"),
    default_channel=ROUTINE,
).name
ACKNOWLEDGEMENT_REMINDER = register_event(
    "protocols.acknowledgement_reminder",
    _("Protocole à lire et approuver"),
    default_channel=ROUTINE,
).name
REVIEW_DUE_SOON = register_event(
    "protocols.review_due_soon",
    _("Révision d'un protocole à prévoir dans les 30 jours"),
    default_channel=ROUTINE,
).name
REVIEW_OVERDUE = register_event(
    "protocols.review_overdue", _("Revue d'un protocole en retard"), default_channel=ROUTINE
).name


def describe_protocol(event: str, protocol: Protocol) -> Subject:
    """A protocol is named by its title: a CPTS document, never about a patient."""
    return Subject(str(_("« %(title)s »") % {"title": protocol.title}))


register_describer(
    Protocol._meta.label_lower, load=protocols_for_notifications, describe=describe_protocol
)


def protocol_url(protocol: Protocol) -> str:
    """Where most protocol notifications lead: the protocol, behind its access rule."""
    return reverse("protocol-detail", kwargs={"code": protocol.code})


def review_url(version: ProtocolVersion) -> str:
    """Where reviewers and authors go: the review page of a version."""
    return reverse(
        "protocol-review", kwargs={"code": version.protocol.code, "number": version.number}
    )
