"""Querysets compiled to SQL once per thread, then run with new values: for the hottest reads.

Django compiles a queryset to SQL each time it is evaluated: it walks the joins of
`select_related`, lists every column, resolves the annotations and looks up the converters
of each column. For the read behind every API call (the token, with its user, member and
memberships) that compiling cost more than running the query: about a quarter of the CPU of
an API request under the profiler (docs/benchmarks.md), and the same held for the access
reads of sheets and conversations and for a poll's page of messages with its receipts and
attachments (two thirds of a poll's CPU). The shape of such a query never changes, only the
values in its WHERE clause (a member's key, its organisations, a code, a time), so it is
compiled once per thread (and per length of a list of values, per LIMIT) and run again with
the new values, and its rows become model instances the way Django's own iterator makes
them (the same converters, `from_db`, the `select_related` populators and the annotations).

Per thread, because a compiler belongs to its thread's database connection (the live
server of the browser tests answers on threads of its own). The statement goes through the
connection's cursor, so query counts and logs see it like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar, cast
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import DateTimeField, Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

from security.exceptions import NotFound

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class CompiledSelect:
    """A SELECT compiled once, and how to turn its rows into model instances."""

    sql: str
    params: tuple[Any, ...]
    compiler: Any
    converters: Any
    init_list: list[str]
    fields: tuple[int, int]
    populators: list[Any]
    annotations: dict[str, int]
    model: type[Model]
    db: str

    def instances(self, rows: list[Any]) -> list[Any]:
        """`rows` of this SELECT as Django's ModelIterable builds them: the columns'
        converters, `from_db`, the objects of `select_related`, the annotations."""
        if self.converters:
            rows = list(self.compiler.apply_converters(rows, self.converters))
        start, end = self.fields
        objects = []
        for row in rows:
            obj = self.model.from_db(self.db, self.init_list, row[start:end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations.items():
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def compile_select(queryset: QuerySet[Any]) -> CompiledSelect:
    """Compile `queryset` once, for running its SQL again (security.compiled's docstring)."""
    db = queryset.db
    compiler = queryset.query.get_compiler(using=db)
    sql, params = compiler.as_sql()
    select, klass_info = compiler.select, compiler.klass_info
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    return CompiledSelect(
        sql=sql,
        params=tuple(params),
        compiler=compiler,
        converters=compiler.get_converters([column[0] for column in select]),
        init_list=[column[0].target.attname for column in select[start:end]],
        fields=(start, end),
        populators=get_related_populators(klass_info, select, db),
        annotations=dict(compiler.annotation_col_map or {}),
        model=klass_info["model"],
        db=db,
    )


# The shapes (lengths of lists, Fixed values) a query keeps compiled per thread: about 60 kB
# each for a page of messages; a client cycling through page sizes must not grow it further.
MAX_SHAPES = 64


class Fixed:
    """The kind of a value that is part of the SQL itself, not a parameter: a slice's LIMIT
    (`queryset[:limit]`), which Django writes into the statement. A non-negative int; the
    query is compiled once per value met, so it must take few values (a page size)."""


# The kinds of value a compiled query takes: a list of one of them is an `IN (...)` of that
# many values (the SQL differs with the length: compiled once per length met). A datetime
# is adapted as Django's DateTimeField adapts it (text in UTC on SQLite).
Kind = (
    type[int]
    | type[str]
    | type[UUID]
    | type[datetime]
    | type[Fixed]
    | list[type[int]]
    | list[type[str]]
    | list[type[UUID]]
)

# What prepares a datetime value the way a model's DateTimeField does (a string parsed, a
# naive time made aware with Django's warning) before the backend adapts it.
_DATETIME_FIELD: DateTimeField[Any, Any] = DateTimeField()


def _placeholder(kind: type, number: int) -> Any:
    """A value of `kind` no real row holds, distinct for each `number`: found again among the
    compiled parameters, where the real value goes."""
    if kind is int:
        return -7_305_318_594_218 - number
    if kind is UUID:
        return UUID(int=0x5EED << 112 | number)
    if kind is datetime:
        return datetime(1901, 2, 3, 4, 5, 6, 789_012, tzinfo=UTC) + timedelta(seconds=number)
    return f"\x00compiled-query-value-{number}\x00"


@dataclass(frozen=True)
class _Slot:
    name: str
    item: int | None  # the place in a list value, or None
    convert: Callable[[Any], Any]


def _fixed(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"a Fixed value is a non-negative int, not {value!r}")
    return value


def _as_uuid(value: Any) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))  # ValueError: malformed


class CompiledQuery(Generic[M]):
    """A queryset compiled once per thread (and per length of its list values), then run with
    new values:

        TOKENS = CompiledQuery(lambda digest: ApiToken.objects.filter(digest=digest), digest=str)
        TOKENS.fetch(digest=...)

    The builder gets a placeholder for each value and must use each in comparisons whose SQL
    does not depend on the value (`=`, `<`, `IN`), and give the same SQL for the same kinds;
    a `Fixed` value it gets as it is (a LIMIT). A UUID value that is not one raises
    ValueError, as Django's field would.
    """

    def __init__(self, build: Callable[..., QuerySet[M]], **kinds: Kind) -> None:
        self._build = build
        self._kinds = kinds
        self._local = threading.local()

    def fetch(self, **values: Any) -> list[M]:
        shape = tuple(
            len(values[name])
            if isinstance(kind, list)
            else _fixed(values[name])
            if kind is Fixed
            else -1
            for name, kind in self._kinds.items()
        )
        compiled, slots = self._compiled(shape)
        params = list(compiled.params)
        for position, slot in slots.items():
            value = values[slot.name]
            params[position] = slot.convert(value if slot.item is None else value[slot.item])
        with connections[compiled.db].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return cast(list[M], compiled.instances(rows))

    def get_or_not_found(self, what: str, **values: Any) -> M:
        """The one row the values find, or NotFound naming only `what`, as
        security.access.get_or_not_found answers: a malformed value is a miss too."""
        try:
            rows = self.fetch(**values)
        except (ValueError, ValidationError):
            raise NotFound(what) from None
        if len(rows) != 1:
            raise NotFound(what)
        return rows[0]

    def _compiled(self, shape: tuple[int, ...]) -> tuple[CompiledSelect, dict[int, _Slot]]:
        cache: dict[tuple[int, ...], tuple[CompiledSelect, dict[int, _Slot]]] = getattr(
            self._local, "cache", None
        ) or self._local.__dict__.setdefault("cache", {})
        compiled = cache.get(shape)
        if compiled is None:
            if len(cache) >= MAX_SHAPES:  # the oldest goes: compiling again is Django's cost
                del cache[next(iter(cache))]
            compiled = cache[shape] = self._compile(shape)
        return compiled

    def _compile(self, shape: tuple[int, ...]) -> tuple[CompiledSelect, dict[int, _Slot]]:
        placeholders: dict[str, Any] = {}
        wanted: list[tuple[Any, str, int | None, type]] = []
        for (name, kind), length in zip(self._kinds.items(), shape, strict=True):
            if kind is Fixed:
                placeholders[name] = length  # the value itself, written into the SQL
            elif isinstance(kind, list):
                items = [_placeholder(kind[0], len(wanted) + item) for item in range(length)]
                wanted += [(value, name, item, kind[0]) for item, value in enumerate(items)]
                placeholders[name] = items
            else:
                placeholders[name] = _placeholder(kind, len(wanted))
                wanted.append((placeholders[name], name, None, kind))
        select = compile_select(self._build(**placeholders))
        adapt_datetime = connections[select.db].ops.adapt_datetimefield_value
        slots: dict[int, _Slot] = {}
        for value, name, item, kind in wanted:
            found = 0
            for position, param in enumerate(select.params):
                convert: Callable[[Any], Any] | None = None
                if kind is UUID and param == value.hex:  # SQLite keeps UUIDs as hex text
                    convert = lambda v: _as_uuid(v).hex  # noqa: E731
                elif kind is UUID and param == value:
                    convert = _as_uuid
                elif kind is datetime and param == adapt_datetime(value):
                    convert = lambda v: adapt_datetime(_DATETIME_FIELD.get_prep_value(v))  # noqa: E731
                elif kind not in (UUID, datetime) and param == value:
                    convert = kind
                if convert is not None:
                    slots[position] = _Slot(name, item, convert)
                    found += 1
            if not found:
                raise ValueError(f"the compiled query does not use its value {name!r}")
        return select, slots
