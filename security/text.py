"""Text folding shared by the searches and imports that compare what people type.

Not for blind indexes: those normalise with `security.crypto.normalise_identifier`, whose
every change invalidates the stored indexes.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import CharField, Func


def fold(text: str) -> str:
    """Lower case without accents or ligatures: "Cœur ÉPUISÉ" -> "coeur epuise"."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


SQLITE_FOLD = "cpts_fold"


class Fold(Func):
    """`fold` in SQL, for accent- and case-blind searches on any database.

    PostgreSQL: `lower(unaccent(...))` (the extension protocols' migration 0004 creates).
    SQLite: the same Python `fold`, registered on each connection (`register_sqlite_fold`).
    Not indexable: for the small tables people search by name (the directory), not for
    clinical ones.
    """

    function = SQLITE_FOLD
    output_field = CharField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="LOWER(UNACCENT(%(expressions)s))", **extra
        )


def register_sqlite_fold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver: gives SQLite connections the `cpts_fold` function."""
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SQLITE_FOLD,
            1,
            lambda value: fold(value) if value is not None else None,
            deterministic=True,
        )
