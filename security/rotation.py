"""Key rotation: re-encrypt every encrypted value and file under the primary key.

Procedure (repeated in ``manage.py rotate_keys --help``):

1. generate a key (``python -m security.crypto``) and put it FIRST in ``ENCRYPTION_KEYS``,
   keeping the old keys after it;
2. restart every process (web, worker, beat): from then on every write uses the new key,
   and saving a row re-encrypts its old-key values (see ``security.fields``);
3. run ``manage.py rotate_keys`` until it reports no failure;
4. remove the old key from ``ENCRYPTION_KEYS`` and restart.

Invariants this module owns
---------------------------
* Resumable and idempotent: models are walked in primary-key order in batches, and values
  already under the primary key are skipped, so an interrupted run is simply run again.
* Safe while the service runs: each batch commits with conditional UPDATEs (``... WHERE
  column = <ciphertext we read>``). A row edited meanwhile keeps the edit, which is already
  under the new key (step 2); it is counted as a conflict, never overwritten.
* Encryption happens outside the batch transaction, so row locks are held only for the
  UPDATEs, not for the cryptography or the file copies.
* Files: the new encrypted file is written first, the row then points to it, and the old
  file is deleted only after commit. A crash in between leaves an orphan encrypted file,
  never a row pointing to a missing file.
* Reports and logs carry model labels, primary keys and counts, never plaintext.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import connections, models, router, transaction

from security.crypto import (
    DecryptionError,
    Keyring,
    decrypt,
    encrypt,
    key_id_of,
    keyring_from_settings,
)
from security.fields import (
    Ciphertext,
    EncryptedField,
    encrypted_fields,
    models_with_encrypted_fields,
)
from security.files import (
    NAME_HINT,
    EncryptedFileField,
    EncryptedFileStore,
    IterableReader,
    default_file_store,
)

__all__ = ["DEFAULT_BATCH_SIZE", "ModelRotation", "RotationReport", "rotate_keys"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 500


@dataclass
class ModelRotation:
    """What rotation did (or would do, in a dry run) for one model."""

    model: str
    values_rotated: int = 0
    files_rotated: int = 0
    already_current: int = 0
    conflicts: int = 0
    failures: list[str] = field(default_factory=list)


@dataclass
class RotationReport:
    """The outcome of :func:`rotate_keys`, per model."""

    primary_key_id: str
    dry_run: bool
    models: list[ModelRotation] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        return [failure for model in self.models for failure in model.failures]

    @property
    def conflicts(self) -> int:
        return sum(model.conflicts for model in self.models)


@dataclass(frozen=True)
class _Swap:
    field: EncryptedField
    pk: Any
    old: Any
    new: Any


def rotate_keys(
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    models_to_rotate: Sequence[type[models.Model]] | None = None,
) -> RotationReport:
    """Re-encrypt every value and file not under the primary key (see module docstring).

    ``dry_run`` counts what would be re-encrypted, and checks that those values decrypt,
    without writing or encrypting anything. Values or files that cannot be decrypted are
    left untouched and listed in ``report.failures`` (model, pk, field, error class).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    keyring = keyring_from_settings()
    store = default_file_store()
    report = RotationReport(primary_key_id=keyring.primary.id, dry_run=dry_run)
    for model in models_to_rotate or models_with_encrypted_fields():
        result = ModelRotation(model=model._meta.label)
        fields = encrypted_fields(model)
        for rows in _batches(model, fields, batch_size):
            _rotate_batch(
                model, fields, rows, keyring=keyring, store=store, dry_run=dry_run, result=result
            )
        logger.info(
            "Key rotation%s of %s to key %s: %d values and %d files re-encrypted, %d already "
            "current, %d left to concurrent edits, %d failures",
            " (dry run)" if dry_run else "",
            result.model,
            keyring.primary.id,
            result.values_rotated,
            result.files_rotated,
            result.already_current,
            result.conflicts,
            len(result.failures),
        )
        report.models.append(result)
    return report


def _batches(
    model: type[models.Model], fields: Sequence[EncryptedField], batch_size: int
) -> Iterator[list[tuple[Any, ...]]]:
    """Yield rows ``(pk, *row ids, *stored values)`` in pk order, ``batch_size`` at a time.

    Keyset pagination (``pk > last``) rather than OFFSET: rows inserted or deleted while we
    run do not shift the pages, and each page is an index range scan.
    """
    columns = ["pk", *_row_id_fields(fields), *(f.attname for f in fields)]
    last_pk = None
    while True:
        queryset = model._base_manager.order_by("pk")
        if last_pk is not None:
            queryset = queryset.filter(pk__gt=last_pk)
        rows = list(queryset.values_list(*columns)[:batch_size])
        if not rows:
            return
        yield rows
        last_pk = rows[-1][0]


def _row_id_fields(fields: Sequence[EncryptedField]) -> list[str]:
    return sorted({f.row_id_field for f in fields})


def _rotate_batch(
    model: type[models.Model],
    fields: Sequence[EncryptedField],
    rows: list[tuple[Any, ...]],
    *,
    keyring: Keyring,
    store: EncryptedFileStore,
    dry_run: bool,
    result: ModelRotation,
) -> None:
    """Re-encrypt one page of rows, then commit it with conditional UPDATEs."""
    row_id_names = _row_id_fields(fields)
    swaps: list[_Swap] = []
    try:
        for row in rows:
            pk, row_ids = row[0], dict(zip(row_id_names, row[1:], strict=False))
            for position, encrypted in enumerate(fields, start=1 + len(row_id_names)):
                stored = row[position]
                if not stored:
                    continue
                aad = encrypted.associated_data_for_row(row_ids[encrypted.row_id_field])
                try:
                    if not _needs_rotation(encrypted, stored, keyring, store):
                        result.already_current += 1
                    elif dry_run:
                        _check_decryptable(encrypted, stored, aad, keyring, store)
                        _count_rotated(result, encrypted)
                    else:
                        new = _reencrypt(encrypted, stored, aad, keyring, store)
                        swaps.append(_Swap(encrypted, pk, stored, new))
                except (DecryptionError, FileNotFoundError) as error:
                    # Left untouched for an operator: UnknownKey means a key was removed
                    # too early; anything else is damage to investigate, not to overwrite.
                    result.failures.append(
                        f"{result.model} pk={pk} {encrypted.name}: {type(error).__name__}"
                    )
    except BaseException:
        _discard_files(store, [swap.new for swap in swaps if _is_file(swap.field)])
        raise
    if swaps:
        _commit_swaps(model, swaps, store, result)


def _is_file(encrypted: EncryptedField) -> bool:
    return isinstance(encrypted, EncryptedFileField)


def _count_rotated(result: ModelRotation, encrypted: EncryptedField) -> None:
    if _is_file(encrypted):
        result.files_rotated += 1
    else:
        result.values_rotated += 1


def _needs_rotation(
    encrypted: EncryptedField, stored: Any, keyring: Keyring, store: EncryptedFileStore
) -> bool:
    if _is_file(encrypted):
        return store.key_id(stored) != keyring.primary.id
    try:
        return key_id_of(stored) != keyring.primary.id
    except DecryptionError:
        return True  # malformed: decrypting it reports the failure


def _check_decryptable(
    encrypted: EncryptedField, stored: Any, aad: bytes, keyring: Keyring, store: EncryptedFileStore
) -> None:
    """Dry run: raise as the real run would, without encrypting (no nonce spent)."""
    if _is_file(encrypted):
        keyring.get(store.key_id(stored))  # UnknownKey if its key left the ring
    else:
        decrypt(stored, aad=aad, keyring=keyring)


def _reencrypt(
    encrypted: EncryptedField, stored: Any, aad: bytes, keyring: Keyring, store: EncryptedFileStore
) -> Any:
    """Return ``stored`` re-encrypted under the primary key (a new file name for files)."""
    if _is_file(encrypted):
        chunks = store.open(stored, aad=aad)
        try:
            return store.save(IterableReader(chunks), aad=aad, name_hint=_folder_of(stored)).name
        finally:
            chunks.close()
    plaintext = decrypt(stored, aad=aad, keyring=keyring)
    return Ciphertext(encrypt(plaintext, aad=aad, keyring=keyring))


def _folder_of(name: str) -> str:
    """The ``name_hint`` a stored file was saved with (``<hint>/<xx>/<token>.enc``)."""
    parts = name.split("/")
    return parts[0] if len(parts) == 3 and NAME_HINT.fullmatch(parts[0]) else ""


def _commit_swaps(
    model: type[models.Model], swaps: list[_Swap], store: EncryptedFileStore, result: ModelRotation
) -> None:
    using = router.db_for_write(model)
    applied: list[bool] = []
    try:
        with transaction.atomic(using=using):
            for swap in swaps:
                applied.append(_compare_and_swap(model, swap.field, swap.pk, swap.old, swap.new))
                if applied[-1] and _is_file(swap.field):
                    # After commit only: until then the row still points to it.
                    transaction.on_commit(partial(store.delete, swap.old), using=using, robust=True)
    except BaseException:
        _discard_files(store, [swap.new for swap in swaps if _is_file(swap.field)])
        raise
    lost = [swap for swap, done in zip(swaps, applied, strict=True) if not done]
    for swap, done in zip(swaps, applied, strict=True):
        if done:
            _count_rotated(result, swap.field)
    result.conflicts += len(lost)
    # A concurrent edit won: the file we wrote for it is referenced by nothing.
    _discard_files(store, [swap.new for swap in lost if _is_file(swap.field)])


def _compare_and_swap(
    model: type[models.Model], encrypted: EncryptedField, pk: Any, old: Any, new: Any
) -> bool:
    """``UPDATE ... SET column = new WHERE pk = %s AND column = old``; True if it applied.

    Raw SQL because the ORM refuses lookups on encrypted columns (on purpose, see
    ``security.fields``); comparing the exact stored bytes is what we need here.
    """
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    column = quote(encrypted.column)
    pk_field = model._meta.pk
    assert pk_field is not None
    # Identifiers come from the model's metadata and are quoted; values are parameters.
    sql = (
        f"UPDATE {quote(model._meta.db_table)} SET {column} = %s "  # noqa: S608
        f"WHERE {quote(pk_field.column)} = %s AND {column} = %s"
    )
    params = [
        encrypted.get_db_prep_save(new, connection),
        pk_field.get_db_prep_value(pk, connection),
        encrypted.get_db_prep_save(old, connection),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _discard_files(store: EncryptedFileStore, names: list[str]) -> None:
    for name in names:
        store.delete(name)
