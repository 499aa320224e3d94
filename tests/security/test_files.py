"""Encrypted file storage and the EncryptedFileField of models."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from django.core.files.storage import InMemoryStorage
from django.http import StreamingHttpResponse

from security.crypto import DecryptionError, associated_data
from security.files import (
    EncryptedFileStore,
    IterableReader,
    default_file_store,
    open_file,
    store_file,
)
from tests.testapp.models import SecretNote

pytestmark = pytest.mark.django_db

AAD = associated_data("messaging_attachment", "content", "0b6f5c3e-0000-4000-8000-000000000001")
OTHER_AAD = associated_data(
    "messaging_attachment", "content", "0b6f5c3e-0000-4000-8000-000000000002"
)


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


class GeneratedStream(io.RawIOBase):
    """``size`` pseudo-random bytes produced on demand, hashed as they are read."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.remaining = size
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = min(len(buffer), self.remaining, 256 * 1024)
        data = os.urandom(size)
        buffer[:size] = data
        self.digest.update(data)
        self.remaining -= size
        return size


def test_it_round_trips_a_file() -> None:
    store = default_file_store()
    content = b"Compte rendu d'hospitalisation\n" * 10_000

    stored = store.save(io.BytesIO(content), aad=AAD, name_hint="attachments")

    assert b"".join(store.open(stored.name, aad=AAD)) == content
    assert (stored.size, stored.key_id) == (len(content), "test2")
    assert store.key_id(stored.name) == "test2"


def test_it_round_trips_an_empty_file() -> None:
    store = default_file_store()

    stored = store.save(io.BytesIO(b""), aad=AAD)

    assert b"".join(store.open(stored.name, aad=AAD)) == b""


def test_it_names_files_randomly(media_root: Path) -> None:
    store = default_file_store()
    upload = io.BytesIO(b"scan")
    upload.name = "ordonnance-dupont-jean.pdf"

    first = store.save(upload, aad=AAD, name_hint="attachments")
    second = store.save(io.BytesIO(b"scan"), aad=AAD, name_hint="attachments")

    assert first.name != second.name
    assert "dupont" not in first.name
    assert first.name.startswith("attachments/")
    assert (media_root / "encrypted" / first.name).is_file()


def test_it_refuses_a_user_file_name_as_hint() -> None:
    with pytest.raises(ValueError, match="name_hint"):
        default_file_store().save(io.BytesIO(b"x"), aad=AAD, name_hint="ordonnance.pdf")


def test_it_refuses_to_open_with_another_aad() -> None:
    store = default_file_store()
    stored = store.save(io.BytesIO(b"secret"), aad=AAD)

    with pytest.raises(DecryptionError):
        store.open(stored.name, aad=OTHER_AAD)


def test_it_deletes_files() -> None:
    store = default_file_store()
    stored = store.save(io.BytesIO(b"secret"), aad=AAD)

    store.delete(stored.name)

    assert not store.exists(stored.name)


def test_it_uses_an_injected_storage() -> None:
    storage = InMemoryStorage()
    store = EncryptedFileStore(storage)

    stored = store.save(io.BytesIO(b"dans la RAM"), aad=AAD)

    assert storage.exists(stored.name)
    assert b"".join(store.open(stored.name, aad=AAD)) == b"dans la RAM"


def test_it_streams_into_a_streaming_response() -> None:
    store = default_file_store()
    stored = store.save(io.BytesIO(b"a" * 200_000), aad=AAD)

    response = StreamingHttpResponse(store.open(stored.name, aad=AAD))

    assert b"".join(response.streaming_content) == b"a" * 200_000
    response.close()


def test_it_keeps_memory_flat_for_a_50_mb_file() -> None:
    store = default_file_store()
    source = GeneratedStream(50 * 1024 * 1024)
    tracemalloc.start()
    try:
        stored = store.save(source, aad=AAD)
        digest = hashlib.sha256()
        for chunk in store.open(stored.name, aad=AAD):
            digest.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert digest.hexdigest() == source.digest.hexdigest()
    assert stored.size == 50 * 1024 * 1024
    assert peak < 32 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_it_reads_an_iterator_as_a_file() -> None:
    reader = IterableReader([b"ab", b"", b"cde", b"f"])

    assert reader.read(4) == b"ab"  # short reads are allowed, as for any raw file
    assert reader.read() == b"cdef"
    assert reader.read(1) == b""


# --------------------------------------------------------------------------- model field


def test_it_stores_and_opens_a_file_of_a_model() -> None:
    note = SecretNote(body="avec pièce jointe")
    stored = store_file(note, "attachment", io.BytesIO(b"%PDF-1.7 ..."))
    note.save()

    loaded = SecretNote.objects.get(pk=note.pk)
    assert loaded.attachment == stored.name
    assert b"".join(open_file(loaded, "attachment")) == b"%PDF-1.7 ..."
    assert stored.name.startswith("testapp_secretnote/")


def test_it_refuses_a_file_moved_to_another_row() -> None:
    first = SecretNote(body="a")
    store_file(first, "attachment", io.BytesIO(b"dossier de A"))
    first.save()
    second = SecretNote.objects.create(body="b")

    SecretNote.objects.filter(pk=second.pk).update(attachment=first.attachment)
    second.refresh_from_db()

    with pytest.raises(DecryptionError):
        open_file(second, "attachment")


def test_it_says_when_a_model_has_no_file() -> None:
    with pytest.raises(FileNotFoundError):
        open_file(SecretNote.objects.create(body="a"), "attachment")


def test_it_refuses_a_field_that_is_not_an_encrypted_file() -> None:
    with pytest.raises(TypeError):
        store_file(SecretNote(), "title", io.BytesIO(b"x"))
