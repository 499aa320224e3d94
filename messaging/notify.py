"""Who messaging tells, about what: its notification events.

Texts name who wrote and nothing else: never the subject (it may name the patient), never a
word of the message. The link opens the conversation, which the recipient reaches only
through the access rule, after logging in.

- A new message is told in-app at once (the outbox row is the in-app notification).
- An urgent one goes by e-mail at once by default: urgency is why the flag exists.
- A message still unread after MESSAGING_UNREAD_EMAIL_AFTER_MINUTES sends one e-mail
  (services/reminders.py, a scheduled job).
Each member may change these channels in their notification preferences.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from directory.models import Member
from messaging.models import Conversation
from worker.events import Channel, register_event
from worker.services import enqueue_notification

MESSAGE_RECEIVED = "messaging.message_received"
URGENT_MESSAGE_RECEIVED = "messaging.urgent_message_received"
MESSAGE_UNREAD = "messaging.message_unread"
PARTICIPANT_ADDED = "messaging.participant_added"

register_event(
    MESSAGE_RECEIVED,
    _("Nouveau message de {actor}"),
    description=_("Nouveau message dans une conversation"),
    default_channel=Channel.IN_APP,
)
register_event(
    URGENT_MESSAGE_RECEIVED,
    _("Message urgent de {actor}"),
    description=_("Nouveau message signalé urgent"),
    default_channel=Channel.EMAIL,
)
register_event(
    MESSAGE_UNREAD,
    _("Message de {actor} toujours non lu"),
    description=_("Message non lu après un délai (rappel par e-mail)"),
    default_channel=Channel.EMAIL,
)
register_event(
    PARTICIPANT_ADDED,
    _("{actor} vous a ajouté(e) à une conversation"),
    description=_("Ajout à une conversation"),
    default_channel=Channel.IN_APP,
)


def conversation_url(conversation: Conversation) -> str:
    return reverse("messaging-conversation", kwargs={"code": conversation.code})


def notify(
    members: Iterable[Member], *, event: str, conversation: Conversation, actor: Member | None
) -> int:
    """Queue one notification per member, in the caller's transaction; return how many."""
    url = conversation_url(conversation)
    count = 0
    for member in members:
        enqueue_notification(
            recipient=member, event=event, target=conversation, actor=actor, url=url
        )
        count += 1
    return count
