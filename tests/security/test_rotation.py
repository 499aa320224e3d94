"""Key rotation: everything ends up under the primary key, and the old key can go."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from security import rotation
from security.crypto import key_id_of
from security.files import default_file_store, open_file, store_file
from tests.testapp.models import SecretLetter, SecretNote

pytestmark = pytest.mark.django_db

OLD_ONLY = [spec for spec in settings.ENCRYPTION_KEYS if spec.startswith("test1:")]
NEW_ONLY = [spec for spec in settings.ENCRYPTION_KEYS if spec.startswith("test2:")]


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def old_data() -> list[SecretNote]:
    """Five notes (values and files) and two letters, all under the old key `test1`."""
    with override_settings(ENCRYPTION_KEYS=OLD_ONLY):
        notes = []
        for number in range(5):
            note = SecretNote(body=f"note {number}", data={"n": number})
            store_file(note, "attachment", io.BytesIO(f"fichier {number}".encode()))
            note.save()
            notes.append(note)
        SecretLetter.objects.create(content="lettre", summary=None)
        SecretLetter.objects.create(content="lettre 2", summary="résumé")
    return notes


def key_ids() -> set[str]:
    """The key id of every stored value and file of the test models."""
    ids = set()
    store = default_file_store()
    for body, data, attachment in SecretNote.objects.values_list("body", "data", "attachment"):
        ids |= {key_id_of(body), key_id_of(data), store.key_id(attachment)}
    for content, summary in SecretLetter.objects.values_list("content", "summary"):
        ids |= {key_id_of(value) for value in (content, summary) if value is not None}
    return ids


def assert_everything_reads(notes: list[SecretNote]) -> None:
    for number, note in enumerate(notes):
        loaded = SecretNote.objects.get(pk=note.pk)
        assert (loaded.body, loaded.data) == (f"note {number}", {"n": number})
        assert b"".join(open_file(loaded, "attachment")) == f"fichier {number}".encode()
    letters = SecretLetter.objects.order_by("pk")
    assert [(x.content, x.summary) for x in letters] == [("lettre", None), ("lettre 2", "résumé")]


def test_it_reencrypts_everything_so_the_old_key_can_be_removed(
    old_data: list[SecretNote], media_root: Path, django_capture_on_commit_callbacks: Callable
) -> None:
    old_files = {note.attachment for note in old_data}

    with django_capture_on_commit_callbacks(execute=True):
        report = rotation.rotate_keys(batch_size=2)

    assert key_ids() == {"test2"}
    by_model = {model.model: model for model in report.models}
    assert by_model["testapp.SecretNote"].values_rotated == 10
    assert by_model["testapp.SecretNote"].files_rotated == 5
    assert by_model["testapp.SecretLetter"].values_rotated == 3
    assert report.failures == []
    # The old files are gone, after commit; only the new ones remain on disk.
    store = default_file_store()
    assert not any(store.exists(name) for name in old_files)
    assert len(list((media_root / "encrypted").rglob("*.enc"))) == 5
    with override_settings(ENCRYPTION_KEYS=NEW_ONLY):
        assert_everything_reads(old_data)


def test_it_resumes_after_an_interruption(
    old_data: list[SecretNote], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_batch = rotation._rotate_batch
    calls = []

    def crash_on_second_batch(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # an operator's Ctrl-C, or a killed process
        real_batch(*args, **kwargs)

    monkeypatch.setattr(rotation, "_rotate_batch", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        rotation.rotate_keys(batch_size=2)
    monkeypatch.undo()
    assert key_ids() == {"test1", "test2"}  # the first batch was committed

    report = rotation.rotate_keys(batch_size=2)

    notes = next(model for model in report.models if model.model == "testapp.SecretNote")
    assert (notes.values_rotated, notes.files_rotated, notes.already_current) == (6, 3, 6)
    assert key_ids() == {"test2"}
    with override_settings(ENCRYPTION_KEYS=NEW_ONLY):
        assert_everything_reads(old_data)


def test_it_is_idempotent(old_data: list[SecretNote]) -> None:
    rotation.rotate_keys()
    stored = list(SecretNote.objects.values_list("body", "data", "attachment"))

    report = rotation.rotate_keys()

    assert list(SecretNote.objects.values_list("body", "data", "attachment")) == stored
    assert sum(m.values_rotated + m.files_rotated for m in report.models) == 0


def test_it_leaves_a_concurrent_edit_alone(
    old_data: list[SecretNote], monkeypatch: pytest.MonkeyPatch
) -> None:
    edited = old_data[1]
    real_swap = rotation._compare_and_swap

    def edit_first(model: Any, field: Any, pk: Any, old: Any, new: Any) -> bool:
        if pk == edited.pk and field.name == "body":
            # Another process saves the row between our read and our UPDATE.
            note = SecretNote.objects.get(pk=pk)
            note.body = "modifiée pendant la rotation"
            note.save()
        return real_swap(model, field, pk, old, new)

    monkeypatch.setattr(rotation, "_compare_and_swap", edit_first)
    report = rotation.rotate_keys()

    reloaded = SecretNote.objects.get(pk=edited.pk)
    assert (reloaded.body, reloaded.data) == ("modifiée pendant la rotation", {"n": 1})
    # The edit's save() also re-encrypted `data` (it was under the old key): 2 conflicts.
    assert report.conflicts == 2
    assert key_ids() == {"test2"}  # the edit was itself written under the primary key


def test_it_changes_nothing_in_a_dry_run(old_data: list[SecretNote], media_root: Path) -> None:
    stored = list(SecretNote.objects.values_list("body", "data", "attachment"))
    files = sorted(path.read_bytes() for path in media_root.rglob("*.enc"))

    report = rotation.rotate_keys(dry_run=True)

    notes = next(model for model in report.models if model.model == "testapp.SecretNote")
    assert (notes.values_rotated, notes.files_rotated) == (10, 5)
    assert list(SecretNote.objects.values_list("body", "data", "attachment")) == stored
    assert sorted(path.read_bytes() for path in media_root.rglob("*.enc")) == files


def test_it_reports_a_damaged_value_and_leaves_it_untouched(
    old_data: list[SecretNote],
) -> None:
    damaged = old_data[0]
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE testapp_secretnote SET body = %s WHERE id = %s",
            [b"\x01\x05test1" + b"\x00" * 40, damaged.pk],
        )

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("rotate_keys", stdout=out, stderr=err)

    assert f"testapp.SecretNote pk={damaged.pk} body: DecryptionError" in err.getvalue()
    assert key_id_of(SecretNote.objects.values_list("body", flat=True).get(pk=damaged.pk)) == (
        "test1"
    )
    assert "note 1" not in out.getvalue() + err.getvalue()


def test_it_runs_as_a_management_command(old_data: list[SecretNote]) -> None:
    out = io.StringIO()

    call_command("rotate_keys", "--batch-size", "3", stdout=out)

    assert "testapp.SecretNote: 10 values and 5 files re-encrypted" in out.getvalue()
    assert "testapp.SecretLetter: 3 values and 0 files re-encrypted" in out.getvalue()
    assert key_ids() == {"test2"}


def test_it_refuses_a_bad_batch_size() -> None:
    with pytest.raises(CommandError, match="batch-size"):
        call_command("rotate_keys", "--batch-size", "0")
