"""Encrypted file storage: attachments are encrypted before any storage backend sees them.

Files go through ``security.file_crypto`` (chunked AES-GCM, constant memory) on their way
to a Django :class:`~django.core.files.storage.Storage`. The storage only ever holds
ciphertext under random names, so neither a backup of the media directory nor an S3 bucket
reveals contents or the users' file names.

* The storage is injectable. By default it is ``STORAGES["encrypted"]`` when that alias is
  configured (an S3-compatible backend, later), else a private ``FileSystemStorage`` at
  ``MEDIA_ROOT / "encrypted"`` (files 0600, directories 0700). It is never served by URL:
  downloads stream through a view that decrypts (:meth:`EncryptedFileStore.open`).
* A model keeps the stored name in an :class:`EncryptedFileField`; the file's associated
  data is bound to (table, column, row id) exactly like encrypted values, so a stored name
  copied onto another row does not decrypt there.
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import models
from django.utils.translation import gettext_lazy as _

from security.crypto import keyring_from_settings
from security.fields import EncryptedField
from security.file_crypto import Source, decrypt_stream, encrypt_stream, file_key_id

__all__ = [
    "NAME_HINT",
    "EncryptedFileField",
    "EncryptedFileStore",
    "IterableReader",
    "StoredFile",
    "default_file_store",
    "open_file",
    "store_file",
]

STORAGE_ALIAS = "encrypted"
"""``STORAGES`` alias used for encrypted files when configured."""

SPOOL_MAX_SIZE = 1024 * 1024
"""Ciphertext kept in memory before spilling to a temporary file (small files stay fast)."""

NAME_HINT = re.compile(r"[A-Za-z0-9_-]{0,64}")
"""What ``name_hint`` (a storage folder chosen by code) may contain."""
_UNSAFE_IN_HINT = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True)
class StoredFile:
    """What :meth:`EncryptedFileStore.save` wrote: its storage name, plaintext size, key."""

    name: str
    size: int
    key_id: str


class EncryptedFileStore:
    """Save, stream back and delete encrypted files on a Django storage."""

    def __init__(self, storage: Storage | None = None) -> None:
        self.storage = storage if storage is not None else _default_storage()

    def save(self, fileobj: Source, *, aad: bytes, name_hint: str = "") -> StoredFile:
        """Encrypt ``fileobj`` and store it under a random name.

        ``fileobj`` is read from its current position to its end, in chunks (an
        ``UploadedFile`` works as is; rewind a file you have already read from).

        ``aad`` binds the file to where it belongs (build it with
        ``security.crypto.associated_data``); the same ``aad`` is needed to open it.
        ``name_hint`` is an optional folder chosen by code (letters, digits, ``_``, ``-``;
        e.g. the table name), never the user's file name: names must not leak content.

        The ciphertext is spooled to a temporary file first (in memory up to
        :data:`SPOOL_MAX_SIZE`), because storages want a complete file object while
        encryption produces a stream; memory use does not grow with the file size.
        """
        if not NAME_HINT.fullmatch(name_hint):
            raise ValueError("name_hint must be up to 64 letters, digits, '_' or '-'")
        keyring = keyring_from_settings()
        token = secrets.token_hex(16)
        name = f"{token[:2]}/{token}.enc"
        if name_hint:
            name = f"{name_hint}/{name}"
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_SIZE) as spool:
            size = encrypt_stream(fileobj, spool, keyring=keyring, aad=aad)
            spool.seek(0)
            stored_name = self.storage.save(name, File(spool))
        return StoredFile(name=stored_name, size=size, key_id=keyring.primary.id)

    def open(self, name: str, *, aad: bytes) -> Generator[bytes, None, None]:
        """Return an iterator of the verified plaintext chunks of the stored file ``name``.

        The header and first chunk are authenticated before this returns (a wrong ``aad``
        or key raises :class:`~security.crypto.DecryptionError` here), so it suits
        ``StreamingHttpResponse(store.open(name, aad=aad))``: an error comes before the
        status line. Later damage raises during iteration. The file is closed when the
        iterator is exhausted or closed (``StreamingHttpResponse`` closes it).
        """
        handle = self.storage.open(name, "rb")
        try:
            chunks = decrypt_stream(handle, keyring=keyring_from_settings(), aad=aad)
        except BaseException:
            handle.close()
            raise
        return _closing(chunks, handle)

    def delete(self, name: str) -> None:
        """Delete the stored file ``name`` (no error if it is already gone)."""
        self.storage.delete(name)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is present in the storage."""
        return bool(self.storage.exists(name))

    def key_id(self, name: str) -> str:
        """Return the id of the key that encrypted ``name`` (reads only the header)."""
        with self.storage.open(name, "rb") as handle:
            return file_key_id(handle)


def _closing(chunks: Iterator[bytes], handle: Any) -> Generator[bytes, None, None]:
    try:
        yield from chunks
    finally:
        handle.close()


def _default_storage() -> Storage:
    if STORAGE_ALIAS in settings.STORAGES:
        return storages[STORAGE_ALIAS]
    return FileSystemStorage(
        location=Path(settings.MEDIA_ROOT) / "encrypted",
        file_permissions_mode=0o600,
        directory_permissions_mode=0o700,
    )


def default_file_store() -> EncryptedFileStore:
    """The store of :class:`EncryptedFileField` files, built from the current settings."""
    return EncryptedFileStore()


class IterableReader(io.RawIOBase):
    """A read-only binary file over an iterator of chunks (e.g. ``store.open(...)``).

    Lets a decrypted stream feed ``EncryptedFileStore.save`` without being materialised,
    which is how key rotation re-encrypts files in constant memory.
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


# --------------------------------------------------------------------------- model field


class EncryptedFileField(EncryptedField, models.CharField):
    """The storage name of an encrypted file; the file is bound to this row and column.

    The column holds only the random name (``""`` when there is no file). Write it with
    :func:`store_file` and read the file with :func:`open_file`; assigning a name by hand
    (another row's) gives a file that fails to decrypt, by design. Copying a row does not
    copy its file: store a new one for the copy.
    """

    description = _("Fichier chiffré")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 150)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if kwargs.get("max_length") == 150:
            del kwargs["max_length"]
        if self.editable:
            kwargs["editable"] = True
        else:
            kwargs.pop("editable", None)
        return name, path, args, kwargs


def _file_field(instance: models.Model, field_name: str) -> EncryptedFileField:
    field = instance._meta.get_field(field_name)
    if not isinstance(field, EncryptedFileField):
        raise TypeError(f"{instance._meta.label}.{field_name} is not an EncryptedFileField")
    return field


def store_file(instance: models.Model, field_name: str, fileobj: Source) -> StoredFile:
    """Encrypt and store ``fileobj`` for ``instance.<field_name>``; set the field.

    The instance needs its row id (``code``), which it has from instantiation, so this
    works before the first save. It does not save the instance, and does not delete a file
    it replaces: the calling service saves, then deletes the old file with
    ``default_file_store().delete(old_name)`` in ``transaction.on_commit``. A transaction
    that rolls back after this call leaves an unreferenced (encrypted) file behind.
    """
    field = _file_field(instance, field_name)
    stored = default_file_store().save(
        fileobj,
        aad=field.associated_data_for(instance),
        name_hint=_UNSAFE_IN_HINT.sub("_", field.model._meta.db_table)[:64],
    )
    setattr(instance, field.attname, stored.name)
    return stored


def open_file(instance: models.Model, field_name: str) -> Generator[bytes, None, None]:
    """Stream the decrypted file of ``instance.<field_name>`` (see ``EncryptedFileStore.open``).

    Raises ``FileNotFoundError`` when the field is empty.
    """
    field = _file_field(instance, field_name)
    name = getattr(instance, field.attname)
    if not name:
        raise FileNotFoundError(f"{instance._meta.label}.{field_name} holds no file")
    return default_file_store().open(name, aad=field.associated_data_for(instance))
