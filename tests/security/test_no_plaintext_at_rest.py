"""What reaches the disk: ciphertext only, bound to its row.

These tests look at the storage the way an attacker with a dump would: raw SQL, the
database files themselves, the media directory. They never go through the fields.
"""

from __future__ import annotations

import io
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from security.crypto import DecryptionError
from security.files import open_file, store_file
from tests.testapp.models import SecretNote

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def secret() -> str:
    """A plaintext found nowhere else (unique per test), with non-ASCII characters."""
    return f"Mme Éloïse Marché, diabète type 2, INS 2{uuid.uuid4().hex[:12]}"


def forms_of(plaintext: str) -> list[bytes]:
    """Every way the plaintext could show up in a dump: text, UTF-8, hex (bytea::text)."""
    raw = plaintext.encode()
    return [
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        plaintext.encode("latin-1", "replace"),
    ]


def assert_absent(plaintext: str, dump: bytes) -> None:
    for form in forms_of(plaintext):
        assert form not in dump
    # A distinctive fragment too, in case a value were stored split or re-encoded.
    assert plaintext.split(",")[1].strip().encode() not in dump


TITLE = "Titre en clair, sans donnée patient"
"""Stored in a plain column: the dumps must show it, or they would prove nothing."""


def create_note(secret: str) -> SecretNote:
    note = SecretNote(title=TITLE, body=secret, data={"motif": secret})
    store_file(note, "attachment", io.BytesIO(secret.encode() * 1000))
    note.save()
    return note


def dump_table_with_sql() -> bytes:
    table = connection.ops.quote_name(SecretNote._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    assert rows
    parts = []
    for row in rows:
        for value in row:
            if isinstance(value, bytes | memoryview | bytearray):
                parts.append(bytes(value))
            else:
                parts.append(str(value).encode())
    return b"\x00".join(parts)


def dump_database_files() -> bytes:
    """SQLite: the database file and its journals. PostgreSQL: COPY and ::text of the rows."""
    table = connection.ops.quote_name(SecretNote._meta.db_table)
    if connection.vendor == "sqlite":
        name = Path(connection.settings_dict["NAME"])
        paths = [name, Path(f"{name}-wal"), Path(f"{name}-journal")]
        dump = b"".join(path.read_bytes() for path in paths if path.exists())
        assert dump
        return dump
    with connection.cursor() as cursor:
        chunks = []
        with cursor.cursor.copy(f"COPY {table} TO STDOUT") as copy:
            chunks.extend(bytes(data) for data in copy)
        cursor.execute(f"SELECT t::text FROM {table} AS t")  # noqa: S608
        chunks.extend(row[0].encode() for row in cursor.fetchall())
    return b"\n".join(chunks)


def test_it_keeps_plaintext_out_of_every_column(secret: str) -> None:
    create_note(secret)

    dump = dump_table_with_sql()
    assert TITLE.encode() in dump
    assert_absent(secret, dump)


@pytest.mark.django_db(transaction=True)
def test_it_keeps_plaintext_out_of_the_database_files(secret: str) -> None:
    # Committed (transaction=True), so SQLite has written its pages to the file.
    note = create_note(secret)

    dump = dump_database_files()
    assert TITLE.encode() in dump
    assert_absent(secret, dump)
    assert SecretNote.objects.get(pk=note.pk).body == secret  # and it is really stored


def test_it_keeps_plaintext_out_of_stored_files(secret: str, media_root: Path) -> None:
    note = create_note(secret)

    files = [path for path in media_root.rglob("*") if path.is_file()]
    assert len(files) == 1
    assert_absent(secret, files[0].read_bytes())
    assert b"".join(open_file(note, "attachment")) == secret.encode() * 1000


def test_it_refuses_a_ciphertext_copied_to_another_row(secret: str) -> None:
    first = create_note(secret)
    second = SecretNote.objects.create(body="autre patient", data={"motif": "autre"})
    table = connection.ops.quote_name(SecretNote._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET body = (SELECT body FROM {table} WHERE id = %s), "  # noqa: S608
            f"data = (SELECT data FROM {table} WHERE id = %s) WHERE id = %s",
            [first.pk, first.pk, second.pk],
        )

    copied = SecretNote.objects.get(pk=second.pk)
    with pytest.raises(DecryptionError):
        _ = copied.body
    with pytest.raises(DecryptionError):
        _ = copied.data
    assert SecretNote.objects.get(pk=first.pk).body == secret


def test_it_refuses_a_ciphertext_copied_to_another_column(secret: str) -> None:
    note = create_note(secret)
    table = connection.ops.quote_name(SecretNote._meta.db_table)

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET data = body WHERE id = %s", [note.pk])  # noqa: S608

    with pytest.raises(DecryptionError):
        _ = SecretNote.objects.get(pk=note.pk).data
