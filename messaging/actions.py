"""The audited actions of messaging, declared with their French labels (security.actions).

Services and selectors pass these constants to `security.audit.record(action=...)`. The
names are stored in the trail and never change.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from security.actions import register_action

CONVERSATION_CREATE = register_action("conversation.create", _("Création d'une conversation"))
CONVERSATION_READ = register_action("conversation.read", _("Lecture d'une conversation"))
CONVERSATION_ATTACHMENT_READ = register_action(
    "conversation.attachment_read", _("Ouverture d'une pièce jointe d'une conversation")
)
CONVERSATION_ADD_PARTICIPANT = register_action(
    "conversation.add_participant", _("Ajout d'un participant à une conversation")
)
CONVERSATION_LEAVE = register_action("conversation.leave", _("Départ d'une conversation"))
CONVERSATION_PURGE = register_action(
    "conversation.purge", _("Suppression d'une conversation arrivée à échéance")
)
MESSAGE_SEND = register_action("message.send", _("Envoi d'un message"))
MESSAGE_REDACT = register_action("message.redact", _("Retrait d'un message"))
