"""The registry of notification event types: what each one says, and how it is sent by default.

Each app declares its events at import time of its `events.py` (EVENT_MODULES), with a
French label marked for translation, and keeps the name as a constant for its services:

    REFERRAL_SENT = register_event(
        "liaison.referral_sent", _("Nouvelle fiche de liaison d'entrée de {actor}")
    ).name

and tells people with worker.services.notify(event=REFERRAL_SENT, recipients=..., ...),
the one fan-out, which holds the rules of who is told.

The registry is filled lazily in every process (web, worker, beat) the first time it is read,
by importing those modules from every installed app: a worker that only imported tasks still
knows every event it may have to render.

What a notification is about (the protocol, the discharge letter, the conversation) is not
in the label: the notification keeps a reference to its target (model label and public code)
and each app registers, next to its events, a describer for its target models
(register_describer): it loads the targets of a page of notifications in one query and says
in words what each one is, without patient data (a protocol's title, a letter's service and
date). The words are rendered when shown or sent, never stored; a Subject says whether they
may leave the application by e-mail.

A label names what happened and who did it, and nothing else: `{actor}` and `{missing}` are
its only placeholders, so a notification can never carry a patient's name or clinical content,
whatever the caller passes. `{missing}` names the members or services still expected to act
(an alert "still not read by ..."); enqueue_notification takes them as Member/Organisation
objects, never as free text. The label is rendered when shown or sent, never stored.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from security.registry import Registry

EVENT_MODULES = ("events",)
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# Shown in place of the actor when nobody acted (a scheduled job noticed something).
SYSTEM_ACTOR = "CPTS Liaison"
PLACEHOLDERS = frozenset({"actor", "missing"})


class Channel(models.TextChoices):
    """How a member hears about an event. In-app is always on: every channel includes it."""

    IN_APP = "in_app", _("Dans l'application uniquement")
    EMAIL = "email", _("Par e-mail, immédiatement")
    DIGEST = "digest", _("Par e-mail, dans un résumé quotidien")


class UnknownEvent(LookupError):
    """An event type nobody registered: a programming error, never a user's."""


@dataclass(frozen=True)
class EventType:
    name: str
    label: str | Promise
    description: str | Promise
    default_channel: str

    def render(self, *, actor: str, missing: str = "") -> str:
        return str(self.label).format(actor=actor, missing=missing or "…")


_registry: Registry[EventType] = Registry(
    EVENT_MODULES[0], what="notification event", name_of=lambda spec: spec.name
)


def register_event(
    name: str,
    label: str | Promise,
    *,
    description: str | Promise = "",
    default_channel: str = Channel.EMAIL,
) -> EventType:
    """Declare an event type: its French label template and its default channel.

    Without a choice, e-mail: a notification that a busy professional never sees is, in
    practice, lost. Apps choose for each event (issue #16): what is urgent by e-mail at once,
    the rest in the daily digest; members change it in their preferences, a group at once.
    Registering the same definition twice is harmless (a module imported again); two
    different definitions under one name are a configuration error.
    """
    if not EVENT_NAME.match(name) or len(name) > 64:
        raise ImproperlyConfigured(f"notification event {name!r}: use `app.event_name`")
    fields = {field for _text, field, _spec, _conv in string.Formatter().parse(str(label)) if field}
    if not fields <= PLACEHOLDERS:
        raise ImproperlyConfigured(
            f"notification event {name!r}: the label may only use {{actor}} and {{missing}}, "
            f"not {sorted(fields)}"
        )
    if default_channel not in Channel.values:
        raise ImproperlyConfigured(f"notification event {name!r}: unknown channel")
    if isinstance(description, str) and not description:
        # Lazily for a translated label: rendered in the reader's language, not at import.
        description = _described(label) if isinstance(label, str) else lazy(_described, str)(label)
    spec = EventType(
        name=name,
        label=label,
        description=description,
        default_channel=str(default_channel),
    )
    return _registry.declare(spec)


@dataclass(frozen=True)
class Subject:
    """What one notification is about, in words that name no patient.

    `text` is the object ("Lettre de sortie de Cardiologie du 03/12/2026"); `plural`, when
    several lines of one event share `group`, names them at once with `{count}` ("{count}
    lettres de sortie de Cardiologie"). `in_email` False keeps the words in the application:
    e-mails and digests leave them out (a conversation's subject may name a patient even
    when no patient is attached: when in doubt, not by e-mail).
    """

    text: str
    plural: str = ""
    group: str = ""
    in_email: bool = True

    def counted(self, count: int) -> str:
        return self.plural.replace("{count}", str(count))


@dataclass(frozen=True)
class Describer:
    """How an app names the targets of one of its models (registered in its events.py).

    `load(codes, reader)` takes the public codes of a page of notifications and the member
    reading them, and returns the targets by code in one query (a target deleted since, or
    one the reader may no longer see, is simply absent); `describe(event, target)` says what
    the target is for that event, or None to say nothing more than the label.
    """

    target_type: str
    load: Callable[[Collection[UUID], Any], Mapping[UUID, Any]]
    describe: Callable[[str, Any], Subject | None]
    # `attach(event, target)`: a file the e-mail of one notification carries (an agenda
    # event's .ics, so that it lands in the member's calendar), or None. Digests carry none.
    attach: Callable[[str, Any], Attachment | None] | None = None


@dataclass(frozen=True)
class Attachment:
    """A file joined to a notification e-mail. Like the text, it names no patient."""

    filename: str
    content: str
    mimetype: str


_describers: Registry[Describer] = Registry(
    EVENT_MODULES[0], what="notification describer", name_of=lambda spec: spec.target_type
)


def register_describer(
    target_type: str,
    *,
    load: Callable[[Collection[UUID], Any], Mapping[UUID, Any]],
    describe: Callable[[str, Any], Subject | None],
    attach: Callable[[str, Any], Attachment | None] | None = None,
) -> Describer:
    """Declare how the targets of `target_type` ("app_label.modelname") are named."""
    if not re.match(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", target_type):
        raise ImproperlyConfigured(f"notification describer {target_type!r}: use app.model")
    return _describers.declare(
        Describer(target_type=target_type, load=load, describe=describe, attach=attach)
    )


def get_describer(target_type: str) -> Describer | None:
    """The describer of a target type, or None (the notification says only its label)."""
    return _describers.get(target_type) if target_type else None


@dataclass(frozen=True)
class Area:
    """A group of the preferences page: the events whose names start with `prefix.`."""

    prefix: str
    label: str | Promise
    order: int = 100


_areas: Registry[Area] = Registry(
    EVENT_MODULES[0], what="notification area", name_of=lambda spec: spec.prefix
)


def register_area(prefix: str, label: str | Promise, *, order: int = 100) -> Area:
    """Declare the French name of an area of events (the app's prefix), shown as a group."""
    return _areas.declare(Area(prefix=prefix, label=label, order=order))


def area_of(event: EventType) -> Area:
    """The area of an event (by its name's prefix); an undeclared prefix is its own area."""
    prefix = event.name.split(".", 1)[0]
    return _areas.get(prefix) or Area(prefix=prefix, label=prefix, order=1000)


def _described(label: str | Promise) -> str:
    return str(label).replace("{actor}", "…").replace("{missing}", "…")


def get_event(name: str) -> EventType:
    """The registered event type, or UnknownEvent."""
    spec = _registry.get(name)
    if spec is None:
        raise UnknownEvent(f"unknown notification event {name!r}: register_event() it")
    return spec


def registered_events() -> list[EventType]:
    """Every event type, in name order (the order of the preferences form)."""
    return _registry.all()


# The worker's own events: the application's, not a patient's care.
register_area("notifications", _("Événements de l'application"), order=90)
register_event(
    "notifications.welcome",
    _("Bienvenue sur CPTS Liaison ! Message de {actor}"),
    description=_("Message de bienvenue"),
    default_channel=Channel.IN_APP,
)
register_event(
    "notifications.test",
    _("Notification de test demandée par {actor}"),
    description=_("Notification de test (bouton de cette page)"),
    default_channel=Channel.EMAIL,
)
