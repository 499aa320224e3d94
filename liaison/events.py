"""The notification events of liaison sheets: their names, French labels and link.

Who is told is said by the services (liaison.selectors.sender_side_members, ...); the rules
of the telling (never the actor, once per member, active members only) are in
worker.services.notify, for every app. Texts name what happened and who did it, never the
patient (DEVELOPERS.md): the recipient follows the link and passes the access rules like any
other read.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from liaison.models import LiaisonSheet
from worker.events import register_event

REFERRAL_SENT = register_event(
    "liaison.referral_sent", _("Nouvelle fiche de liaison d'entrée de {actor}")
).name
REFERRAL_RECEIVED = register_event(
    "liaison.referral_received", _("{actor} a accusé réception de votre fiche de liaison")
).name
REFERRAL_ACCEPTED = register_event(
    "liaison.referral_accepted", _("Votre fiche de liaison a été acceptée par {actor}")
).name
REFERRAL_DECLINED = register_event(
    "liaison.referral_declined", _("Votre fiche de liaison a été refusée par {actor}")
).name
REFERRAL_CANCELLED = register_event(
    "liaison.referral_cancelled", _("Une fiche de liaison a été annulée par {actor}")
).name
REFERRAL_NO_SHOW = register_event(
    "liaison.referral_no_show", _("Patient non venu : fiche de liaison signalée par {actor}")
).name
REFERRAL_REOPENED = register_event(
    "liaison.referral_reopened", _("Une fiche de liaison a été relancée par {actor}")
).name
REFERRAL_CLOSED = register_event(
    "liaison.referral_closed", _("Une fiche de liaison a été clôturée par {actor}")
).name
NOTE_ADDED = register_event(
    "liaison.note_added", _("Nouvelle note sur une fiche de liaison, de {actor}")
).name
DISCHARGE_SENT = register_event(
    "liaison.discharge_sent", _("Nouvelle lettre de liaison de sortie de {actor}")
).name

# Alerts of the scheduled jobs: {missing} names who has still not acted (members or a
# service, never the patient).
REFERRAL_NOT_RECEIVED = register_event(
    "liaison.referral_not_received",
    _("Fiche de liaison en attente d'accusé de réception : {missing}"),
).name
REFERRAL_ESCALATED = register_event(
    "liaison.referral_escalated",
    _("Fiche de liaison toujours sans accusé de réception : {missing}"),
).name
DISCHARGE_MISSING = register_event(
    "liaison.discharge_missing",
    _("Lettre de sortie attendue de {missing} pour une fiche acceptée"),
).name
DISCHARGE_LATE = register_event(
    "liaison.discharge_late", _("Lettre de sortie non envoyée le jour de la sortie : {missing}")
).name
DISCHARGE_UNREAD = register_event(
    "liaison.discharge_unread", _("Lettre de liaison de sortie de {missing} non lue")
).name
DISCHARGE_UNREAD_BY = register_event(
    "liaison.discharge_unread_by", _("Lettre de liaison de sortie pas encore lue par {missing}")
).name


def sheet_url(sheet: LiaisonSheet) -> str:
    """Where every liaison notification leads: the sheet, behind its access rule."""
    return reverse("liaison-sheet", kwargs={"code": sheet.code})
