"""The audited actions of the agenda (security.actions)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from security.actions import register_action

CREATE = register_action("event.create", _("Création d'un événement"))
UPDATE = register_action("event.update", _("Modification d'un événement"))
CANCEL = register_action("event.cancel", _("Annulation d'un événement"))
INVITE = register_action("event.invite", _("Invitations à un événement"))
PATIENT_READ = register_action(
    "event.patient_read", _("Lecture du patient d'une réunion de concertation")
)
ATTENDANCE = register_action("event.attendance", _("Émargement d'un événement"))
DOCUMENT_ADD = register_action("event.document_add", _("Document ajouté à un événement"))
DOCUMENT_READ = register_action("event.document_read", _("Document d'un événement téléchargé"))
SURVEY_RESULTS = register_action("event.survey_results", _("Lecture des résultats d'enquête"))
REGISTER = register_action("event_registration.register", _("Inscription à un événement"))
DECLINE = register_action("event_registration.decline", _("Refus d'un événement"))
CANCEL_REGISTRATION = register_action(
    "event_registration.cancel", _("Annulation d'une inscription")
)
PROMOTE = register_action(
    "event_registration.promote", _("Place libérée : inscription depuis la liste d'attente")
)
EXTERNAL_REGISTER = register_action(
    "event_registration.external", _("Inscription d'un participant extérieur")
)
CHECK_IN = register_action("event_registration.check_in", _("Présence enregistrée par QR code"))
SURVEY_ANSWER = register_action(
    "event_registration.survey_answer", _("Réponse à l'enquête de satisfaction")
)
FEED_ISSUE = register_action("calendar_feed.issue", _("Lien d'agenda personnel créé"))
FEED_REVOKE = register_action("calendar_feed.revoke", _("Lien d'agenda personnel révoqué"))
