"""The shared count of encryptions per key, kept in the database (``security.KeyUsage``).

AES-GCM with random 96-bit nonces is only safe for a bounded number of encryptions per key
(NIST SP 800-38D); :class:`security.crypto.Keyring` enforces that budget but needs a count
that every process, host and restart sees. This module provides it. Settings point at it
with ``ENCRYPTION_USAGE_COUNTER = "security.keys.DatabaseUsageCounter"``.
"""

from __future__ import annotations

import sqlite3
from typing import Any, cast

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Field
from django.utils.timezone import now

from security.models import KeyUsage

__all__ = ["DatabaseUsageCounter"]

SQLITE_UPSERT_RETURNING = (3, 35, 0)
"""First SQLite release with ``RETURNING`` (``ON CONFLICT DO UPDATE`` is older, 3.24)."""


class DatabaseUsageCounter:
    """:class:`security.crypto.UsageCounter` backed by the ``KeyUsage`` table.

    ``reserve`` is a single atomic statement where the database allows it
    (``INSERT ... ON CONFLICT (key_id) DO UPDATE SET encryptions = encryptions + n RETURNING
    encryptions``, on PostgreSQL and on SQLite >= 3.35), so concurrent processes can never
    read the same total; older SQLite falls back to an ``UPDATE`` then a read in one
    transaction, which holds SQLite's write lock in between.

    Trade-off, accepted on purpose: the statement runs on the default connection, hence in
    the caller's transaction, if any. A transaction that rolls back therefore un-counts the
    block it reserved, although the process keeps using it: the recorded total may lag the
    truth by up to one block (``DEFAULT_RESERVATION_BLOCK``, 1024) per rolled-back
    reservation. Against a budget set at a quarter of the NIST cap (2**30 of 2**32) that error
    is negligible, and it spares a second database connection per process. On PostgreSQL
    the ``KeyUsage`` row also stays locked until the caller commits; reservations happen
    once per block per process, so the wait is rare and short.
    """

    def __init__(self, *, upsert: bool | None = None) -> None:
        # `upsert` is None in production (detected per connection); tests force the
        # fallback with upsert=False so that both paths are exercised on any SQLite.
        self._upsert = upsert

    def reserve(self, key_id: str, n: int) -> int:
        """Atomically add ``n`` to the count of ``key_id`` and return the new total."""
        if n < 1:
            raise ValueError("n must be a positive number of encryptions")
        connection = connections[router.db_for_write(KeyUsage)]
        upsert = self._upsert
        if upsert is None:
            upsert = _supports_upsert_returning(connection)
        if upsert:
            return _reserve_with_upsert(connection, key_id, n)
        return _reserve_with_update(connection, key_id, n)


def _supports_upsert_returning(connection: BaseDatabaseWrapper) -> bool:
    if connection.vendor == "postgresql":
        return True
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version_info >= SQLITE_UPSERT_RETURNING
    return False


def _reserve_with_upsert(connection: BaseDatabaseWrapper, key_id: str, n: int) -> int:
    quote = connection.ops.quote_name
    table = quote(KeyUsage._meta.db_table)
    key_column, count_column, updated_column = (
        quote(cast("Field[Any, Any]", KeyUsage._meta.get_field(name)).column)
        for name in ("key_id", "encryptions", "updated_at")
    )
    updated_at = KeyUsage._meta.get_field("updated_at").get_db_prep_value(
        now(), connection, prepared=False
    )
    # Identifiers come from the model's metadata and are quoted; values are parameters.
    sql = (
        f"INSERT INTO {table} ({key_column}, {count_column}, {updated_column}) "  # noqa: S608
        f"VALUES (%s, %s, %s) ON CONFLICT ({key_column}) DO UPDATE SET "
        f"{count_column} = {table}.{count_column} + EXCLUDED.{count_column}, "
        f"{updated_column} = EXCLUDED.{updated_column} "
        f"RETURNING {count_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_id, n, updated_at])
        (total,) = cursor.fetchone()
    return int(total)


def _reserve_with_update(connection: BaseDatabaseWrapper, key_id: str, n: int) -> int:
    usages = KeyUsage.objects.using(connection.alias)
    with transaction.atomic(using=connection.alias):
        # UPDATE first: it takes the row (PostgreSQL) or database (SQLite) write lock, so
        # the read below returns our own total, not one a concurrent writer moved on.
        updated = usages.filter(key_id=key_id).update(
            encryptions=F("encryptions") + n, updated_at=now()
        )
        if not updated:
            try:
                with transaction.atomic(using=connection.alias):
                    usages.create(key_id=key_id, encryptions=n)
            except IntegrityError:
                # Another process inserted the row between our UPDATE and INSERT.
                usages.filter(key_id=key_id).update(
                    encryptions=F("encryptions") + n, updated_at=now()
                )
        return usages.filter(key_id=key_id).values_list("encryptions", flat=True).get()
