"""The demo CPTS built once per test session, then replayed row by row into each test.

Building the demo through the directory services validates every row (uniqueness
constraints are checked by queries) and costs about 0.15 s; 300-odd tests ask for it. So the
first test that asks for the demo builds it once, inside a transaction that is rolled back,
and keeps the rows it added (raw column values, read with SQL, so encrypted or keyed
columns are copied byte for byte and nothing is re-encrypted or re-signed). Each later test
inserts those rows again inside its own transaction, which pytest-django rolls back as
usual: tests that do not ask for the demo never see it.

The replay is only correct if building the demo only *adds* rows: a change to an existing
row (a counter, a chain head) could not be replayed, so the snapshot refuses it loudly and
the demo loader has to be taught otherwise.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.management.color import no_style
from django.db import connection, transaction

from directory.models import Member

Row = tuple[Any, ...]


@dataclass(frozen=True)
class TableRows:
    table: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class DemoSnapshot:
    """The rows the demo adds, table by table, and the members by login."""

    tables: tuple[TableRows, ...]
    member_ids: dict[str, int]

    def replay(self) -> dict[str, Member]:
        """Insert the rows again (in the current transaction) and return fresh members."""
        with connection.cursor() as cursor:
            for table in self.tables:
                quote = connection.ops.quote_name
                columns = ", ".join(quote(column) for column in table.columns)
                placeholders = ", ".join(["%s"] * len(table.columns))
                cursor.executemany(
                    f"INSERT INTO {quote(table.table)} ({columns}) VALUES ({placeholders})",  # noqa: S608
                    [tuple(map(_bindable, row)) for row in table.rows],
                )
            # PostgreSQL sequences do not follow explicit ids (SQLite's AUTOINCREMENT does).
            for statement in connection.ops.sequence_reset_sql(no_style(), self._models()):
                cursor.execute(statement)
        return self.members()

    def members(self) -> dict[str, Member]:
        """New instances every time: tests change members and the caches they carry."""
        members = Member.objects.select_related("user").in_bulk(self.member_ids.values())
        return {username: members[pk] for username, pk in self.member_ids.items()}

    def _models(self) -> list[type]:
        tables = {table.table for table in self.tables}
        return [model for model in apps.get_models() if model._meta.db_table in tables]


def _bindable(value: Any) -> Any:
    """A column value as the driver takes it back (SQLite reads a `time` it cannot bind)."""
    if isinstance(value, datetime.time):
        return connection.ops.adapt_timefield_value(value)
    return value


def _table_contents() -> dict[str, tuple[tuple[str, ...], dict[Any, Row]]]:
    """Every Django table's columns and rows by primary key, as the database returns them."""
    contents = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.django_table_names(only_existing=True)):
            pk = connection.introspection.get_primary_key_column(cursor, table)
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            columns = tuple(column[0] for column in cursor.description)
            if pk is None:
                raise RuntimeError(f"table {table} has no single-column primary key")
            position = columns.index(pk)
            contents[table] = (columns, {row[position]: tuple(row) for row in cursor.fetchall()})
    return contents


def take_snapshot(load: Callable[[], dict[str, Member]]) -> DemoSnapshot:
    """Run `load` in a transaction that is rolled back; keep the rows it added."""
    with transaction.atomic():
        before = _table_contents()
        members = load()
        after = _table_contents()
        transaction.set_rollback(True)
    tables = []
    for table, (columns, rows) in after.items():
        old_columns, old_rows = before.get(table, (columns, {}))
        changed: list[Any] = ["<columns>"]
        if old_columns == columns:
            changed = [pk for pk, row in old_rows.items() if repr(rows.get(pk)) != repr(row)]
        if changed:
            raise RuntimeError(
                f"loading the demo changes existing rows of {table} ({changed[:5]}): "
                "it cannot be replayed row by row"
            )
        added = tuple(row for pk, row in rows.items() if pk not in old_rows)
        if added:
            tables.append(TableRows(table, columns, added))
    return DemoSnapshot(
        tables=tuple(tables),
        member_ids={username: member.pk for username, member in members.items()},
    )
