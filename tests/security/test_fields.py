"""Encrypted model fields: used like ordinary fields, ciphertext in the database."""

from __future__ import annotations

import copy
import importlib.util
import io
import pickle
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError, ValidationError
from django.core.management import call_command
from django.db import connection, models
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.state import ModelState, ProjectState
from django.test import override_settings
from django.test.utils import isolate_apps

from security.crypto import DecryptionError, key_id_of
from security.fields import (
    BlindIndexField,
    Ciphertext,
    EncryptedJSONField,
    EncryptedTextField,
    compute_blind_index,
    encrypted_fields,
    models_with_encrypted_fields,
)
from security.files import EncryptedFileField
from tests.testapp.models import SecretLetter, SecretNote

pytestmark = pytest.mark.django_db


def stored(model: type[models.Model], pk: int, attname: str) -> bytes | None:
    """The column as stored (the ORM returns the ciphertext for encrypted fields)."""
    value = model.objects.filter(pk=pk).values_list(attname, flat=True).get()
    return None if value is None else bytes(value)


def old_key_only() -> override_settings:
    return override_settings(
        ENCRYPTION_KEYS=[spec for spec in settings.ENCRYPTION_KEYS if spec.startswith("test1:")]
    )


def corrupt(model: type[models.Model], pk: int, column: str) -> None:
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {connection.ops.quote_name(column)} = %s WHERE id = %s",  # noqa: S608
            [b"\x01\x05test2" + b"\x00" * 40, pk],
        )


# --------------------------------------------------------------------------- round trips


def test_it_round_trips_text_through_the_database() -> None:
    note = SecretNote(title="Suivi")
    note.body = "Patiente suivie pour diabète de type 2 — HbA1c 7,2 %"
    note.save()

    assert SecretNote.objects.get(pk=note.pk).body == (
        "Patiente suivie pour diabète de type 2 — HbA1c 7,2 %"
    )


@pytest.mark.parametrize(
    "value",
    [{"allergies": ["pénicilline"], "poids": 72.5}, [1, "deux", None, {"trois": True}], "x", 3],
    ids=["dict", "list", "str", "int"],
)
def test_it_round_trips_json_values(value: Any) -> None:
    note = SecretNote.objects.create(body="", data=value)

    assert SecretNote.objects.get(pk=note.pk).data == value


def test_it_stores_none_as_null() -> None:
    note = SecretNote.objects.create(body="", data=None)

    assert stored(SecretNote, note.pk, "data") is None
    assert SecretNote.objects.get(pk=note.pk).data is None
    assert SecretNote.objects.filter(data__isnull=True).get() == note


def test_it_applies_defaults() -> None:
    note = SecretNote.objects.create()
    letter = SecretLetter.objects.create()

    note = SecretNote.objects.get(pk=note.pk)
    letter = SecretLetter.objects.get(pk=letter.pk)
    assert (note.body, note.data) == ("", None)
    assert (letter.content, letter.summary) == ("", None)
    assert key_id_of(stored(SecretNote, note.pk, "body")) == "test2"  # "" is encrypted too


def test_it_stores_ciphertext_under_the_primary_key() -> None:
    note = SecretNote.objects.create(body="confidentiel", data={"k": "confidentiel"})

    for attname in ("body", "data"):
        raw = SecretNote.objects.values_list(attname, flat=True).get(pk=note.pk)
        assert isinstance(raw, Ciphertext)
        assert b"confidentiel" not in raw
        assert key_id_of(raw) == "test2"
    assert isinstance(SecretNote.objects.values("body").get(pk=note.pk)["body"], bytes)


def test_it_works_with_bulk_create_and_refresh_from_db() -> None:
    notes = SecretNote.objects.bulk_create(
        [SecretNote(body=f"note {i}", data={"i": i}) for i in range(3)]
    )
    assert [n.body for n in SecretNote.objects.order_by("pk")] == ["note 0", "note 1", "note 2"]

    first = SecretNote.objects.order_by("pk").first()
    other = SecretNote.objects.get(pk=first.pk)
    other.body = "modifiée"
    other.save()
    written = stored(SecretNote, first.pk, "body")
    first.refresh_from_db()
    assert first.body == "modifiée"
    first.save()  # the refreshed value is unchanged: its ciphertext is kept
    assert stored(SecretNote, first.pk, "body") == written
    assert len(notes) == 3


def test_it_works_for_encrypted_fields_declared_before_their_row_id() -> None:
    letter = SecretLetter.objects.create(content="Lettre de sortie", summary="Résumé")

    letter = SecretLetter.objects.get(pk=letter.pk)
    assert (letter.content, letter.summary) == ("Lettre de sortie", "Résumé")


# --------------------------------------------------------------------------- laziness, stability


def test_it_decrypts_lazily_on_first_access() -> None:
    note = SecretNote.objects.create(title="Titre", body="texte")
    corrupt(SecretNote, note.pk, "body")

    loaded = SecretNote.objects.get(pk=note.pk)  # no decryption yet: this must not raise
    assert loaded.title == "Titre"
    with pytest.raises(DecryptionError):
        _ = loaded.body


def test_it_caches_the_plaintext_on_the_instance() -> None:
    note = SecretNote.objects.create(body="texte")
    loaded = SecretNote.objects.get(pk=note.pk)
    assert loaded.body == "texte"

    corrupt(SecretNote, note.pk, "body")
    assert loaded.body == "texte"


def test_it_loads_a_deferred_encrypted_field_with_one_query(
    django_assert_num_queries: Any,
) -> None:
    note = SecretNote.objects.create(body="texte")
    loaded = SecretNote.objects.only("code").get(pk=note.pk)

    with django_assert_num_queries(1):
        assert loaded.body == "texte"


def test_it_keeps_the_ciphertext_of_an_unchanged_value() -> None:
    note = SecretNote.objects.create(body="texte", data={"a": 1})
    original = (stored(SecretNote, note.pk, "body"), stored(SecretNote, note.pk, "data"))

    untouched = SecretNote.objects.get(pk=note.pk)
    untouched.title = "nouveau titre"
    untouched.save()
    read = SecretNote.objects.get(pk=note.pk)
    assert (read.body, read.data) == ("texte", {"a": 1})
    read.full_clean()
    read.save()
    same = SecretNote.objects.get(pk=note.pk)
    same.body = "texte"  # assigned, but equal
    same.data = {"a": 1}
    same.save()
    refreshed = SecretNote.objects.get(pk=note.pk)
    refreshed.refresh_from_db()
    refreshed.save()

    assert (stored(SecretNote, note.pk, "body"), stored(SecretNote, note.pk, "data")) == original


def test_it_reencrypts_a_changed_value() -> None:
    note = SecretNote.objects.create(body="texte", data={"a": 1})
    before = (stored(SecretNote, note.pk, "body"), stored(SecretNote, note.pk, "data"))

    loaded = SecretNote.objects.get(pk=note.pk)
    loaded.body = "autre texte"
    loaded.data["b"] = 2  # changed in place: no assignment at all
    loaded.save()

    after = (stored(SecretNote, note.pk, "body"), stored(SecretNote, note.pk, "data"))
    assert after[0] != before[0]
    assert after[1] != before[1]
    reloaded = SecretNote.objects.get(pk=note.pk)
    assert (reloaded.body, reloaded.data) == ("autre texte", {"a": 1, "b": 2})


def test_it_reencrypts_values_under_an_old_key_when_saved() -> None:
    with old_key_only():
        note = SecretNote.objects.create(body="ancien", data=[1])
    assert key_id_of(stored(SecretNote, note.pk, "body")) == "test1"

    SecretNote.objects.get(pk=note.pk).save()

    assert key_id_of(stored(SecretNote, note.pk, "body")) == "test2"
    assert key_id_of(stored(SecretNote, note.pk, "data")) == "test2"
    assert SecretNote.objects.get(pk=note.pk).body == "ancien"


def test_it_reencrypts_for_a_copied_row() -> None:
    note = SecretNote.objects.create(body="original", data={"x": 1})

    copy = SecretNote.objects.get(pk=note.pk)  # the usual Django copy idiom, values unread
    copy.pk = None
    copy.code = uuid.uuid4()
    copy._state.adding = True
    copy.save()

    assert SecretNote.objects.get(pk=copy.pk).body == "original"
    assert SecretNote.objects.get(pk=copy.pk).data == {"x": 1}
    assert SecretNote.objects.get(pk=note.pk).body == "original"


def test_it_survives_pickling_and_copying() -> None:
    note = SecretNote.objects.create(body="texte", data={"a": 1})
    unread = SecretNote.objects.get(pk=note.pk)
    read = SecretNote.objects.get(pk=note.pk)
    assert read.body == "texte"

    for instance in (unread, read):
        assert pickle.loads(pickle.dumps(instance)).body == "texte"  # noqa: S301
        assert copy.deepcopy(instance).data == {"a": 1}


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "lookup",
    [
        {"body": "texte"},
        {"body__icontains": "tex"},
        {"body__in": ["texte"]},
        {"data__allergies": "x"},
        {"data": None},
    ],
    ids=lambda lookup: next(iter(lookup)),
)
def test_it_refuses_to_filter_on_an_encrypted_field(lookup: dict[str, Any]) -> None:
    with pytest.raises(FieldError, match=r"encrypted and not filterable.*blind index"):
        list(SecretNote.objects.filter(**lookup))


def test_it_refuses_to_exclude_on_an_encrypted_field() -> None:
    with pytest.raises(FieldError, match="blind index"):
        SecretNote.objects.exclude(body="x")


def test_it_allows_isnull_on_an_encrypted_field() -> None:
    SecretNote.objects.create(body="a", data={"a": 1})

    assert SecretNote.objects.filter(data__isnull=False).count() == 1


def test_it_refuses_a_plaintext_in_queryset_update() -> None:
    SecretNote.objects.create(body="a")

    with pytest.raises(FieldError, match="saving an instance"):
        SecretNote.objects.update(body="b")


def test_it_refuses_a_non_string_in_a_text_field() -> None:
    with pytest.raises(TypeError, match="assign a str"):
        SecretNote(body=42)


def test_it_validates_json_values() -> None:
    note = SecretNote(body="a", data={"when": {1, 2}})

    with pytest.raises(ValidationError) as error:
        note.full_clean()
    assert "data" in error.value.message_dict


# --------------------------------------------------------------------------- blind index


def test_it_finds_a_row_by_its_blind_index() -> None:
    note = SecretNote.objects.create(
        body="INS 1 84 12 75 123 456 78",
        ins_index=compute_blind_index("patient.ins", "1 84 12 75 123 456 78"),
    )
    SecretNote.objects.create(body="autre", ins_index=compute_blind_index("patient.ins", "2"))

    found = SecretNote.objects.get(
        ins_index=compute_blind_index("patient.ins", "1 84 12 75 123 456 78")
    )
    assert found == note
    assert len(note.ins_index) == 64
    assert compute_blind_index("patient.ins", "x") != compute_blind_index("patient.name", "x")


# --------------------------------------------------------------------------- registry, migrations


def test_it_lists_encrypted_fields_for_rotation() -> None:
    assert [f.name for f in encrypted_fields(SecretNote)] == ["body", "data", "attachment"]
    assert {SecretNote, SecretLetter} <= set(models_with_encrypted_fields())


@pytest.mark.parametrize(
    "field",
    [
        EncryptedTextField(),
        EncryptedTextField(null=True, blank=True, row_id_field="reference"),
        EncryptedJSONField(null=True),
        BlindIndexField(),
        BlindIndexField(db_index=False, max_length=80),
        EncryptedFileField(blank=True),
        EncryptedFileField(max_length=200, row_id_field="reference"),
    ],
    ids=repr,
)
def test_it_deconstructs_fields(field: models.Field) -> None:
    _, path, args, kwargs = field.deconstruct()
    rebuilt = type(field)(*args, **kwargs)

    assert rebuilt.deconstruct()[1:] == (path, args, kwargs)
    for attribute in ("null", "blank", "max_length", "db_index", "editable"):
        assert getattr(rebuilt, attribute) == getattr(field, attribute)


def test_it_makes_a_clean_migration(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("makemigrations", "testapp", dry_run=True, verbosity=3, stdout=out)
    source = out.getvalue()
    source = source[source.index("# Generated by Django") :]
    assert "security.fields.EncryptedTextField()" in source
    assert "security.files.EncryptedFileField(blank=True)" in source
    (tmp_path / "m0001.py").write_text(source)
    spec = importlib.util.spec_from_file_location("m0001", tmp_path / "m0001.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    migrated = ProjectState()
    module.Migration("0001_initial", "testapp").mutate_state(migrated, preserve=False)
    current = ProjectState()
    for model in apps.get_app_config("testapp").get_models():
        current.add_model(ModelState.from_model(model))

    assert MigrationAutodetector(migrated, current)._detect_changes() == {}


@isolate_apps("tests.testapp")
def test_it_checks_the_row_id_field() -> None:
    class NoCode(models.Model):
        body = EncryptedTextField()

        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "no code"

    class NotUnique(models.Model):
        code = models.UUIDField(default=uuid.uuid4)
        body = EncryptedTextField(db_index=True)

        class Meta:
            app_label = "testapp"

        def __str__(self) -> str:
            return "not unique"

    errors: list[checks.CheckMessage] = [*NoCode.check(), *NotUnique.check()]

    assert {error.id for error in errors} == {"security.E001", "security.E002", "security.E003"}
