"""The event registry: French labels that can only name the actor, and loud mistakes."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise

from worker.events import Channel, UnknownEvent, get_event, register_event, registered_events


def test_it_renders_a_label_with_the_actor() -> None:
    spec = get_event("notifications.test")
    assert spec.render(actor="Élise Fontaine") == "Notification de test demandée par Élise Fontaine"
    assert spec.default_channel == Channel.EMAIL


def test_it_discovers_the_events_of_every_app() -> None:
    names = {spec.name for spec in registered_events()}
    assert {"notifications.test", "notifications.welcome"} <= names


def test_an_unknown_event_is_a_programming_error() -> None:
    with pytest.raises(UnknownEvent):
        get_event("nobody.registered_this")


@pytest.mark.parametrize(
    "label",
    [
        "Fiche de {patient}",  # the reason of the rule: no patient name can get in
        "Fiche de {actor.user.password}",
        "Fiche n°{0}",
    ],
)
def test_a_label_may_only_name_the_actor(label: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        register_event("tests.bad_label", label)


def test_registering_twice_is_harmless_but_two_definitions_are_refused() -> None:
    first = register_event("tests.twice", "Quelque chose de {actor}")
    assert register_event("tests.twice", "Quelque chose de {actor}") == first
    with pytest.raises(ImproperlyConfigured):
        register_event("tests.twice", "Autre chose de {actor}")


@pytest.mark.parametrize("name", ["nodot", "Capital.event", "a.b-c", "x." + "y" * 70])
def test_event_names_follow_the_convention(name: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        register_event(name, "Un événement")


def test_the_description_defaults_to_the_label() -> None:
    spec = register_event("tests.described", "Nouvelle fiche de {actor}")
    assert spec.description == "Nouvelle fiche de …"


def test_every_app_declares_its_labels_for_translation() -> None:
    """French source strings, marked: rendered in the reader's language when shown or sent."""
    apps = ("notifications.", "liaison.", "protocols.", "messaging.")
    specs = [spec for spec in registered_events() if spec.name.startswith(apps)]
    assert {spec.name.split(".")[0] for spec in specs} == {name.rstrip(".") for name in apps}
    untranslated = [spec.name for spec in specs if not isinstance(spec.label, Promise)]
    assert untranslated == []
    undescribed = [spec.name for spec in specs if not isinstance(spec.description, Promise)]
    assert undescribed == []
