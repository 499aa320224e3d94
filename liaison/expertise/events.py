"""Notification events of tele-expertise. Texts name the actor or who is missing, never the
patient (the describer of liaison.events names the request by its service and day)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from worker.events import Channel, register_event

SENT = register_event(
    "liaison.expertise_sent", _("Nouvelle demande d'avis de {actor}"), default_channel=Channel.EMAIL
).name
TAKEN = register_event(
    "liaison.expertise_taken",
    _("{actor} a pris en charge votre demande d'avis"),
    default_channel=Channel.DIGEST,
).name
MORE_INFO = register_event(
    "liaison.expertise_more_info",
    _("{actor} demande des précisions sur votre demande d'avis"),
    default_channel=Channel.EMAIL,
).name
RESENT = register_event(
    "liaison.expertise_resent",
    _("Demande d'avis complétée par {actor}"),
    default_channel=Channel.EMAIL,
).name
ANSWERED = register_event(
    "liaison.expertise_answered",
    _("{actor} a rendu son avis sur votre demande"),
    default_channel=Channel.EMAIL,
).name
DECLINED = register_event(
    "liaison.expertise_declined",
    _("Votre demande d'avis a été déclinée par {actor}"),
    default_channel=Channel.EMAIL,
).name
CANCELLED = register_event(
    "liaison.expertise_cancelled",
    _("Une demande d'avis a été annulée par {actor}"),
    default_channel=Channel.DIGEST,
).name
# Scheduled alerts: {missing} names who has not acted (a service, members), never a patient.
NOT_TAKEN = register_event(
    "liaison.expertise_not_taken",
    _("Demande d'avis pas encore prise en charge par {missing}"),
    default_channel=Channel.EMAIL,
).name
ESCALATED = register_event(
    "liaison.expertise_escalated",
    _("Demande d'avis toujours sans prise en charge par {missing}"),
    default_channel=Channel.EMAIL,
).name
ANSWER_UNREAD = register_event(
    "liaison.expertise_answer_unread",
    _("Avis rendu, pas encore lu par {missing}"),
    default_channel=Channel.EMAIL,
).name
