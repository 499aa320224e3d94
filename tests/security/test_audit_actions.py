"""The registry of audit actions: one declared name per action, with its French label.

Each app declares its actions (`<app>/actions.py`, registered with security.actions) and
passes the constant to record(); record() refuses an undeclared name when
AUDIT_STRICT_ACTIONS is on (the tests), and only logs it in production.
"""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from directory.models import Member
from liaison.services.transitions import TRANSITIONS
from security.actions import action_label, is_declared, register_action, registered_actions
from security.audit import record, verify_chain
from security.models import AuditEntry
from tests.conftest import TEST_ACTIONS
from tests.factories import MemberFactory

ROOT = Path(__file__).resolve().parents[2]
APPS = ["directory", "liaison", "protocols", "messaging", "security", "worker"]


@pytest.fixture
def member(db: None) -> Member:
    return MemberFactory()


@pytest.mark.django_db
def test_record_refuses_an_action_nobody_declared(member: Member) -> None:
    with pytest.raises(ValueError, match="not declared"):
        record(actor=member, action="member.delete", target=member)
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_in_production_an_undeclared_action_is_logged_and_recorded(
    member: Member, settings, caplog
) -> None:
    settings.AUDIT_STRICT_ACTIONS = False
    with caplog.at_level(logging.ERROR, logger="security.audit"):
        entry = record(actor=member, action="member.delete", target=member)
    assert entry.action == "member.delete"
    assert "'member.delete' is not declared" in caplog.text
    assert verify_chain().ok


def test_every_app_declares_its_actions_with_a_french_label() -> None:
    names = {spec.name for spec in registered_actions()}
    # One of each app that records, the stored names unchanged.
    assert {
        "audit.list",
        "two_factor.reset",
        "liaison_sheet.read",
        "liaison_sheet.no_show",
        "conversation.read",
        "message.send",
        "protocol_version.publish",
        "directory.import",
    } <= names
    by_apps = [spec for spec in registered_actions() if spec.name not in TEST_ACTIONS]
    assert [spec.name for spec in by_apps if not isinstance(spec.label, Promise)] == []
    assert action_label("liaison_sheet.read") == "Consultation d'une fiche de liaison"
    assert action_label("nobody.declared") == "nobody.declared"  # an old row still shows


def test_the_lifecycle_actions_keep_their_stored_names() -> None:
    """They were built with an f-string: the declared constants must name the same rows."""
    for name, transition in TRANSITIONS.items():
        assert transition.audit_action == f"liaison_sheet.{name}"
        assert is_declared(transition.audit_action)


@pytest.mark.parametrize("name", ["nodot", "Liaison_sheet.read", "a.b.c", "x." + "y" * 70])
def test_a_name_must_be_shaped_model_verb(name: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        register_action(name, "Une action")


def test_declaring_twice_is_harmless_but_two_labels_are_refused() -> None:
    assert register_action("tests_twice.read", _("Lecture")) == "tests_twice.read"
    assert register_action("tests_twice.read", _("Lecture")) == "tests_twice.read"
    with pytest.raises(ImproperlyConfigured):
        register_action("tests_twice.read", _("Autre chose"))


def _strings_and_f_strings(path: Path) -> list[tuple[int, str | None]]:
    """Every string constant of a module (None for an f-string), with its line."""
    found: list[tuple[int, str | None]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.lineno, node.value))
        elif isinstance(node, ast.JoinedStr):
            found.append((node.lineno, None))
    return found


def _record_calls_with_f_strings(path: Path) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        for keyword in node.keywords
        if keyword.arg in {"action", "audit_action"} and isinstance(keyword.value, ast.JoinedStr)
    ]


def test_each_action_name_is_written_once_in_its_apps_actions_module() -> None:
    """One convention: call sites pass `actions.SHEET_READ`, never the name typed again.

    A name typed at a call site (or built with an f-string) is how two copies drift apart.
    """
    declared = {spec.name for spec in registered_actions()}
    paths = [
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts and path.name != "actions.py"
    ]
    typed_again = [
        f"{path.relative_to(ROOT)}:{line} {value}"
        for path in paths
        for line, value in _strings_and_f_strings(path)
        if value in declared
    ]
    built = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in paths
        for line in _record_calls_with_f_strings(path)
    ]
    assert typed_again == []
    assert built == []
