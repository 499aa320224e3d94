"""The audited actions of liaison sheets, declared with their French labels (security.actions).

Services and selectors pass these constants to `security.audit.record(action=...)`. The
names are stored in the trail and never change.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from security.actions import register_action

# Reads: the sheet, its attachments, its outputs, and the lists (worklists, search).
SHEET_READ = register_action("liaison_sheet.read", _("Consultation d'une fiche de liaison"))
SHEET_LIST = register_action("liaison_sheet.list", _("Liste ou recherche de fiches de liaison"))
SHEET_ATTACHMENT_READ = register_action(
    "liaison_sheet.attachment_read", _("Ouverture d'une pièce jointe d'une fiche de liaison")
)
SHEET_PRINT = register_action("liaison_sheet.print", _("Impression d'une fiche de liaison"))
SHEET_PDF = register_action("liaison_sheet.pdf", _("Téléchargement d'une fiche de liaison (PDF)"))
SHEET_FHIR = register_action("liaison_sheet.fhir", _("Export FHIR d'une fiche de liaison"))

# Writes of the author's side.
SHEET_CREATE = register_action("liaison_sheet.create", _("Création d'une fiche de liaison"))
SHEET_UPDATE = register_action("liaison_sheet.update", _("Modification d'un brouillon de fiche"))
SHEET_DELETE = register_action("liaison_sheet.delete", _("Suppression d'un brouillon de fiche"))
SHEET_ATTACHMENT_ADD = register_action(
    "liaison_sheet.attachment_add", _("Ajout d'une pièce jointe à une fiche de liaison")
)
SHEET_FHIR_IMPORT = register_action(
    "liaison_sheet.fhir_import", _("Import FHIR d'une fiche de liaison")
)
SHEET_REVISE = register_action(
    "liaison_sheet.revise", _("Nouvelle version d'une lettre de liaison de sortie")
)
SHEET_SEND = register_action("liaison_sheet.send", _("Envoi d'une fiche de liaison"))

# The loop (liaison.services.transitions.TRANSITIONS names one per lifecycle action).
SHEET_RECEIVE = register_action(
    "liaison_sheet.receive", _("Accusé de réception d'une fiche de liaison")
)
SHEET_ACCEPT = register_action("liaison_sheet.accept", _("Acceptation d'une fiche de liaison"))
SHEET_DECLINE = register_action("liaison_sheet.decline", _("Refus d'une fiche de liaison"))
SHEET_CANCEL = register_action("liaison_sheet.cancel", _("Annulation d'une fiche de liaison"))
SHEET_NO_SHOW = register_action("liaison_sheet.no_show", _("Patient signalé non venu"))
SHEET_REOPEN = register_action("liaison_sheet.reopen", _("Relance d'une fiche de liaison"))
SHEET_CLOSE = register_action("liaison_sheet.close", _("Clôture d'une fiche de liaison"))
SHEET_REDIRECT = register_action(
    "liaison_sheet.redirect", _("Réorientation d'une fiche vers un autre service")
)
SHEET_NOTE = register_action("liaison_sheet.note", _("Note ajoutée à une fiche de liaison"))
SHEET_MARK_READ = register_action(
    "liaison_sheet.mark_read", _("Accusé de lecture d'une fiche de liaison")
)

# The member's own worklist.
SHEET_FILE = register_action("liaison_sheet.file", _("Fiche de liaison classée"))
SHEET_UNFILE = register_action("liaison_sheet.unfile", _("Fiche de liaison remise à traiter"))
