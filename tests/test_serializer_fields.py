"""Serializer fields are copied cheaply, and each serializer instance still has its own.

config.serializers.Serializer shallow-copies leaf fields instead of DRF's deep copy (a third
of a sheet create's CPU went there). These tests hold what DRF's deep copy promised: a change
to one instance's fields never reaches another instance or the class, a field holding a
child gets its own child, and every serializer of the project takes the cheap copy.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import threading
from pathlib import Path
from typing import Any

import pytest
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer, represent

ROOT = Path(__file__).resolve().parent.parent
APPS = ["config", "directory", "events", "liaison", "messaging", "patients", "protocols"]
APPS += ["security", "worker"]


class Item(StrictSerializer):
    name = serializers.CharField(max_length=5)


class Basket(StrictSerializer):
    label = serializers.CharField(max_length=10, required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=3), required=False)
    items = Item(many=True, required=False)
    main = Item(required=False)


def test_a_change_to_one_instances_field_stays_in_that_instance() -> None:
    first, second = Basket(), Basket()
    first.fields["label"].required = True
    first.fields["label"].error_messages = {**first.fields["label"].error_messages, "x": "y"}

    assert second.fields["label"].required is False
    assert "x" not in second.fields["label"].error_messages
    assert Basket._declared_fields["label"].required is False
    assert Basket(data={}).is_valid()
    assert first.fields["label"] is not second.fields["label"]


def test_each_instance_binds_its_own_fields_and_the_class_keeps_them_unbound() -> None:
    first, second = Basket(), Basket()
    for name in ("label", "tags", "items", "main"):
        assert first.fields[name].parent is first
        assert second.fields[name].parent is second
        assert first.fields[name] is not second.fields[name]
        assert Basket._declared_fields[name].parent is None
    # The children of list and nested fields are each instance's own, bound to it.
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert first.fields["items"].child is not second.fields["items"].child
    assert first.fields["items"].child.parent is first.fields["items"]
    assert first.fields["main"].fields["name"] is not second.fields["main"].fields["name"]


def test_validation_still_reads_every_level() -> None:
    good = Basket(data={"label": "a", "tags": ["abc"], "items": [{"name": "x"}], "main": {}})
    assert not good.is_valid()  # main.name is required
    assert set(good.errors) == {"main"}
    bad = Basket(data={"tags": ["abcd"], "items": [{"name": "toolong"}], "other": 1})
    assert not bad.is_valid()
    assert set(bad.errors) == {"tags", "items", "other"}
    fine = Basket(data={"label": "a", "tags": ["abc"], "items": [{"name": "x"}]})
    assert fine.is_valid(), fine.errors
    assert fine.validated_data == {"label": "a", "tags": ["abc"], "items": [{"name": "x"}]}


def project_serializers() -> list[type[serializers.BaseSerializer]]:
    classes = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
            for _name, cls in inspect.getmembers(module, inspect.isclass):
                classes += [
                    member
                    for member in (cls, *vars(cls).values())
                    if inspect.isclass(member)
                    and issubclass(member, serializers.BaseSerializer)
                    and member.__module__ == module.__name__
                ]
    return classes


def test_every_serializer_of_the_project_takes_the_cheap_copy() -> None:
    classes = project_serializers()
    assert len(classes) > 60
    assert [cls for cls in classes if not issubclass(cls, Serializer)] == []


def test_no_code_changes_a_fields_validators_or_messages_in_place() -> None:
    """What a shallow copy would share between instances: changed in place, it would leak."""
    shared = ("validators", "error_messages", "_validators", "choices", "grouped_choices")
    found = []
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                target = None
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    if node.func.attr in {"append", "extend", "insert", "update", "pop", "clear"}:
                        target = node.func.value
                elif isinstance(node, (ast.Assign, ast.AugAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    target = next((t.value for t in targets if isinstance(t, ast.Subscript)), None)
                if isinstance(target, ast.Attribute) and target.attr in shared:
                    found.append(f"{path}:{node.lineno}: {ast.unparse(node)[:80]}")
    assert found == []


def test_represent_answers_as_data_does_from_one_instance_per_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    built: list[type] = []
    original_init = serializers.BaseSerializer.__init__

    def counting_init(self: serializers.BaseSerializer, *args: Any, **kwargs: Any) -> None:
        built.append(type(self))
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(serializers.BaseSerializer, "__init__", counting_init)
    baskets = [
        {"label": "fruit", "tags": ["a"], "items": [{"name": "fig"}], "main": {"name": "kiwi"}},
        {"label": "veg", "tags": [], "items": [], "main": {"name": "leek"}},
    ]

    for basket in baskets:
        assert represent(Basket, basket) == Basket(basket).data
    assert represent(Item, [{"name": "a"}], many=True) == [{"name": "a"}]
    built.clear()
    assert represent(Basket, baskets[1]) == dict(Basket(baskets[1]).data)
    assert built.count(Basket) == 1  # the direct call's only: represent reused its own

    def in_another_thread() -> None:
        represent(Basket, baskets[0])

    built.clear()
    thread = threading.Thread(target=in_another_thread)
    thread.start()
    thread.join()
    assert built.count(Basket) == 1  # a thread of its own builds its own
