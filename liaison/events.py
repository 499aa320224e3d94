"""The notification events of liaison sheets: their names, French labels and link.

Who is told is said by the services (liaison.selectors.sender_side_members, ...); the rules
of the telling (never the actor, once per member, active members only) are in
worker.services.notify, for every app. Texts name what happened and who did it, never the
patient (DEVELOPERS.md): the recipient follows the link and passes the access rules like any
other read.
"""

from __future__ import annotations

from datetime import date

from django.urls import reverse
from django.utils.timezone import localdate
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from liaison.models import LiaisonSheet
from liaison.selectors import sheets_for_notifications
from worker.events import Channel, Subject, register_area, register_describer, register_event

register_area("liaison", _("Liaison ville-hôpital"), order=10)

# What someone must act on soon goes by e-mail at once (a referral to acknowledge, a refused
# one to redirect, an alert); the rest waits for the daily digest, and is in-app at once.
URGENT = Channel.EMAIL
ROUTINE = Channel.DIGEST

REFERRAL_SENT = register_event(
    "liaison.referral_sent",
    _("Nouvelle fiche de liaison d'entrée de {actor}"),
    default_channel=URGENT,
).name
REFERRAL_RECEIVED = register_event(
    "liaison.referral_received",
    _("{actor} a accusé réception de votre fiche de liaison"),
    default_channel=ROUTINE,
).name
REFERRAL_ACCEPTED = register_event(
    "liaison.referral_accepted",
    _("Votre fiche de liaison a été acceptée par {actor}"),
    default_channel=ROUTINE,
).name
REFERRAL_DECLINED = register_event(
    "liaison.referral_declined",
    _("Votre fiche de liaison a été refusée par {actor}"),
    default_channel=URGENT,
).name
REFERRAL_CANCELLED = register_event(
    "liaison.referral_cancelled",
    _("Une fiche de liaison a été annulée par {actor}"),
    default_channel=ROUTINE,
).name
REFERRAL_NO_SHOW = register_event(
    "liaison.referral_no_show",
    _("Patient non venu : fiche de liaison signalée par {actor}"),
    default_channel=ROUTINE,
).name
REFERRAL_REOPENED = register_event(
    "liaison.referral_reopened",
    _("Une fiche de liaison a été relancée par {actor}"),
    default_channel=ROUTINE,
).name
REFERRAL_CLOSED = register_event(
    "liaison.referral_closed",
    _("Une fiche de liaison a été clôturée par {actor}"),
    default_channel=ROUTINE,
).name
NOTE_ADDED = register_event(
    "liaison.note_added",
    _("Nouvelle note sur une fiche de liaison, de {actor}"),
    default_channel=ROUTINE,
).name
DISCHARGE_SENT = register_event(
    "liaison.discharge_sent",
    _("Nouvelle lettre de liaison de sortie de {actor}"),
    default_channel=ROUTINE,
).name

# Alerts of the scheduled jobs: {missing} names who has still not acted (members or a
# service, never the patient).
REFERRAL_NOT_RECEIVED = register_event(
    "liaison.referral_not_received",
    _("Fiche de liaison en attente d'accusé de réception : {missing}"),
    default_channel=URGENT,
).name
REFERRAL_ESCALATED = register_event(
    "liaison.referral_escalated",
    _("Fiche de liaison toujours sans accusé de réception : {missing}"),
    default_channel=URGENT,
).name
DISCHARGE_MISSING = register_event(
    "liaison.discharge_missing",
    _("Lettre de sortie attendue de {missing} pour une fiche acceptée"),
    default_channel=ROUTINE,
).name
DISCHARGE_LATE = register_event(
    "liaison.discharge_late",
    _("Lettre de sortie non envoyée le jour de la sortie : {missing}"),
    default_channel=URGENT,
).name
DISCHARGE_UNREAD = register_event(
    "liaison.discharge_unread",
    _("Lettre de liaison de sortie de {missing} non lue"),
    default_channel=ROUTINE,
).name
DISCHARGE_UNREAD_BY = register_event(
    "liaison.discharge_unread_by",
    _("Lettre de liaison de sortie pas encore lue par {missing}"),
    default_channel=ROUTINE,
).name


def describe_sheet(event: str, sheet: LiaisonSheet) -> Subject:
    """A sheet as a notification names it: its kind, the service and the date, no patient.

    "Lettre de sortie de Cardiologie du 03/12/2026" (the service that wrote it, the day of
    discharge); "Fiche de liaison pour Cardiologie du 01/12/2026" (the service it goes to,
    the day it was sent). New letters or sheets of one service fold into one line.
    """
    if sheet.kind == LiaisonSheet.Kind.DISCHARGE:
        service = sheet.sender_organisation.name
        day = sheet.discharge_date or _day(sheet)
        text = gettext("Lettre de sortie de %(service)s du %(date)s") % {
            "service": service,
            "date": day.strftime("%d/%m/%Y"),
        }
        if event == DISCHARGE_SENT:
            plural = gettext("{count} lettres de sortie de %(service)s") % {"service": service}
            return Subject(text, plural=plural, group=f"from:{sheet.sender_organisation_id}")
        return Subject(text)
    recipient = sheet.recipient_organisation
    day_text = _day(sheet).strftime("%d/%m/%Y")
    if sheet.kind == LiaisonSheet.Kind.EXPERTISE and recipient is not None:
        return Subject(
            gettext("Demande d'avis pour %(service)s du %(date)s")
            % {"service": recipient.name, "date": day_text}
        )
    if recipient is None:
        return Subject(gettext("Fiche de liaison du %(date)s") % {"date": day_text})
    text = gettext("Fiche de liaison pour %(service)s du %(date)s") % {
        "service": recipient.name,
        "date": day_text,
    }
    if event == REFERRAL_SENT:
        plural = gettext("{count} fiches de liaison pour %(service)s") % {"service": recipient.name}
        return Subject(text, plural=plural, group=f"to:{recipient.pk}")
    return Subject(text)


def _day(sheet: LiaisonSheet) -> date:
    return localdate(sheet.sent_at or sheet.created_at)


register_describer(
    LiaisonSheet._meta.label_lower, load=sheets_for_notifications, describe=describe_sheet
)


def sheet_url(sheet: LiaisonSheet) -> str:
    """Where every liaison notification leads: the sheet, behind its access rule."""
    if sheet.kind == LiaisonSheet.Kind.EXPERTISE:
        return reverse("expertise-request", kwargs={"code": sheet.code})
    return reverse("liaison-sheet", kwargs={"code": sheet.code})
