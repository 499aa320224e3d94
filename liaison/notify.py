"""Who the loop tells, about what: notification events of liaison sheets.

Texts name what happened and who did it, never the patient (DEVELOPERS.md): the recipient
follows the link and passes the access rules like any other read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.urls import reverse

from directory.models import Member, Membership, Organisation
from liaison.models import LiaisonSheet
from worker.events import register_event
from worker.services import enqueue_notification

EVENTS = {
    "liaison.referral_sent": "Nouvelle fiche de liaison d'entrée de {actor}",
    "liaison.referral_received": "Votre fiche de liaison a été prise en charge par {actor}",
    "liaison.referral_accepted": "Votre fiche de liaison a été acceptée par {actor}",
    "liaison.referral_declined": "Votre fiche de liaison a été refusée par {actor}",
    "liaison.referral_cancelled": "Une fiche de liaison a été annulée par {actor}",
    "liaison.referral_no_show": "Patient non venu : fiche de liaison signalée par {actor}",
    "liaison.referral_reopened": "Une fiche de liaison a été relancée par {actor}",
    "liaison.referral_closed": "Une fiche de liaison a été clôturée par {actor}",
    "liaison.note_added": "Nouvelle note sur une fiche de liaison, de {actor}",
    "liaison.discharge_sent": "Nouvelle lettre de liaison de sortie de {actor}",
    # Alerts of the scheduled jobs: {missing} names who has still not acted (members or a
    # service, never the patient).
    "liaison.referral_not_received": "Fiche de liaison en attente de prise en charge : {missing}",
    "liaison.referral_escalated": "Fiche de liaison toujours non prise en charge : {missing}",
    "liaison.discharge_missing": "Lettre de sortie attendue de {missing} pour une fiche acceptée",
    "liaison.discharge_late": "Lettre de sortie non envoyée le jour de la sortie : {missing}",
    "liaison.discharge_unread": "Lettre de liaison de sortie de {missing} non lue",
    "liaison.discharge_unread_by": "Lettre de liaison de sortie pas encore lue par {missing}",
}
for _event, _label in EVENTS.items():
    register_event(_event, _label)


def sheet_url(sheet: LiaisonSheet) -> str:
    return reverse("liaison-sheet", kwargs={"code": sheet.code})


def notify(
    members: Iterable[Member],
    *,
    event: str,
    sheet: LiaisonSheet,
    actor: Member | None,
    missing: Sequence[Member | Organisation] = (),
) -> None:
    """Queue one notification per member (the actor is never told about their own action).

    `missing`: who the alert names as still expected to act (the label's {missing}).
    """
    seen: set[int] = set()
    for member in members:
        if member.pk in seen or (actor is not None and member.pk == actor.pk):
            continue
        seen.add(member.pk)
        enqueue_notification(
            recipient=member,
            event=event,
            target=sheet,
            actor=actor,
            url=sheet_url(sheet),
            mentions=missing,
        )


def members_of_organisation(organisation_id: int | None) -> list[Member]:
    if organisation_id is None:
        return []
    return [
        membership.member
        for membership in Membership.objects.filter(
            organisation_id=organisation_id, member__is_active=True
        ).select_related("member")
    ]


def sender_side(sheet: LiaisonSheet) -> list[Member]:
    """The author: colleagues of the practice see the sheet, but are not pinged for it."""
    return [sheet.author]


def recipient_side(sheet: LiaisonSheet) -> list[Member]:
    return members_of_organisation(sheet.recipient_organisation_id)
