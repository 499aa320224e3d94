"""Querysets compiled to SQL once per thread, then run with new values: for the hottest reads.

Django compiles a queryset to SQL each time it is evaluated: it walks the joins of
`select_related`, lists every column, resolves the annotations and looks up the converters
of each column. For the read behind every API call (the token, with its user, member and
memberships) that compiling cost more than running the query: about a quarter of the CPU of
an API request under the profiler (docs/benchmarks.md). The shape of such a query never
changes, only a value in its WHERE clause, so it is compiled once per thread and run again
with the new value, and its rows become model instances the way Django's own iterator makes
them (the same converters, `from_db`, the `select_related` populators and the annotations).

Per thread, because a compiler belongs to its thread's database connection (the live
server of the browser tests answers on threads of its own). The statement goes through the
connection's cursor, so query counts and logs see it like any other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

M = TypeVar("M", bound=Model)

# Stand for the value while the query is compiled, found again among the compiled parameters:
# a string for text columns, an improbable number for integer keys (the field prepares it).
TEXT_PLACEHOLDER = "\x00compiled-query-value\x00"
NUMBER_PLACEHOLDER = -7_305_318_594_218


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


class CompiledQuery(Generic[M]):
    """`CompiledQuery(lambda value: Model.objects.filter(key=value)...)`, then `.fetch(value)`.

    The builder must make the same SQL for every value: one value, compared for equality
    (no `IN` list, whose length changes the SQL). It is compiled with `placeholder` for the
    value: NUMBER_PLACEHOLDER for an integer column.
    """

    def __init__(
        self, build: Callable[[Any], QuerySet[M]], *, placeholder: Any = TEXT_PLACEHOLDER
    ) -> None:
        self._build = build
        self._placeholder = placeholder
        self._local = threading.local()

    def fetch(self, value: Any) -> list[M]:
        compiled, slot = self._compiled()
        params = list(compiled.params)
        params[slot] = value
        with connections[compiled.db].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return cast(list[M], compiled.instances(rows))

    def _compiled(self) -> tuple[CompiledSelect, int]:
        compiled: tuple[CompiledSelect, int] | None = getattr(self._local, "compiled", None)
        if compiled is None:
            select = compile_select(self._build(self._placeholder))
            slots = [
                index for index, param in enumerate(select.params) if param == self._placeholder
            ]
            if len(slots) != 1:
                raise ValueError(f"a compiled query takes its value once, not {len(slots)} times")
            compiled = self._local.compiled = (select, slots[0])
        return compiled
