"""The audited actions of the tele-expertise loop (security.actions)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from security.actions import register_action

TAKE = register_action("liaison_sheet.take", _("Prise en charge d'une demande d'avis"))
ASK_MORE = register_action("liaison_sheet.ask_more", _("Demande de précisions à un demandeur"))
RESEND = register_action("liaison_sheet.resend", _("Demande d'avis complétée et renvoyée"))
ANSWER = register_action("liaison_sheet.answer", _("Avis rendu sur une demande"))
REFUSE = register_action("liaison_sheet.refuse", _("Demande d'avis déclinée"))
WITHDRAW = register_action("liaison_sheet.withdraw", _("Demande d'avis annulée"))
ACKNOWLEDGE = register_action("liaison_sheet.acknowledge", _("Avis lu et demande clôturée"))
ANSWER_READ = register_action("liaison_sheet.answer_read", _("Lecture d'un avis rendu"))
BILLING_EXPORT = register_action(
    "liaison_sheet.expertise_billing", _("Export du relevé de télé-expertises")
)
