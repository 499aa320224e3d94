"""PostgreSQL for the test suite: Django's backend with a flush that deletes rows.

After each transactional test (the live server's browser tests, the real worker's, the PSC
provider's), Django empties every table with one TRUNCATE. On PostgreSQL a TRUNCATE gives each
table and each index a new file, a few hundred files for this schema: about 0.6 s a test on a
quiet machine and 2-3 s on a loaded one, whatever the test wrote. A DELETE of the few rows a
test leaves costs tens of milliseconds. Sequences are not reset by either (Django's flush
resets them only when a test asks), and Django's foreign keys are checked at commit, so the
order of the DELETEs does not matter. A table guarded by a trigger against DELETE (the audit
trail, append-only) is still truncated.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if not tables or reset_sequences or allow_cascade:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        guarded = self._tables_guarded_against_delete()
        truncated = ", ".join(self.quote_name(table) for table in tables if table in guarded)
        statements = [f"TRUNCATE {truncated};"] if truncated else []
        # Table names from Django's introspection, quoted: no outside input.
        return statements + [
            f"DELETE FROM {self.quote_name(table)};"  # noqa: S608
            for table in tables
            if table not in guarded
        ]

    def _tables_guarded_against_delete(self) -> set[str]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
            )
            return {name.strip('"') for (name,) in cursor.fetchall()}


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
