"""The notification events of messaging: their names, French labels and link.

Texts name who wrote, and in the application only, the subject of a conversation about no
patient (describe_conversation); never the subject of a conversation about a patient, never
a subject in an e-mail, never a word of the message. The link opens the conversation, which
the recipient reaches only through the access rule, after logging in.

- A new message is told in-app at once (the outbox row is the in-app notification).
- An urgent one goes by e-mail at once by default: urgency is why the flag exists.
- A message still unread after MESSAGING_UNREAD_EMAIL_AFTER_MINUTES sends one e-mail
  (services/jobs.py, a scheduled job).
Each member may change these channels in their notification preferences. The rules of the
telling (never the author, once per member, active members only) are in
worker.services.notify, for every app.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from messaging.models import Conversation
from messaging.selectors import conversations_for_notifications
from worker.events import Channel, Subject, register_area, register_describer, register_event

register_area("messaging", _("Messagerie"), order=20)

MESSAGE_RECEIVED = register_event(
    "messaging.message_received",
    _("Nouveau message de {actor}"),
    description=_("Nouveau message dans une conversation"),
    default_channel=Channel.IN_APP,
).name
URGENT_MESSAGE_RECEIVED = register_event(
    "messaging.urgent_message_received",
    _("Message urgent de {actor}"),
    description=_("Nouveau message signalé urgent"),
    default_channel=Channel.EMAIL,
).name
MESSAGE_UNREAD = register_event(
    "messaging.message_unread",
    _("Message de {actor} toujours non lu"),
    description=_("Message non lu après un délai (rappel par e-mail)"),
    default_channel=Channel.EMAIL,
).name
PARTICIPANT_ADDED = register_event(
    "messaging.participant_added",
    _("{actor} vous a ajouté(e) à une conversation"),
    description=_("Ajout à une conversation"),
    default_channel=Channel.IN_APP,
).name


def describe_conversation(event: str, conversation: Conversation) -> Subject | None:
    """A conversation about no patient is named by its subject, in the application only.

    A conversation about a patient (directly or through a sheet) is not named at all: its
    subject is the patient's business. Subjects stay out of e-mails and digests even
    without a patient, because people type patient names in any subject.
    """
    if getattr(conversation, "about_patient", True) or not conversation.subject:
        return None
    return Subject(str(_("« %(title)s »") % {"title": conversation.subject}), in_email=False)


register_describer(
    Conversation._meta.label_lower,
    load=conversations_for_notifications,
    describe=describe_conversation,
)


def conversation_url(conversation: Conversation) -> str:
    """Where every messaging notification leads: the conversation, behind its access rule."""
    return reverse("messaging-conversation", kwargs={"code": conversation.code})
