"""Full-text search in French over protocol titles and content.

On PostgreSQL the head version of each protocol is indexed as a weighted tsvector with the
`french_unaccent` configuration (title A, content B) in `Protocol.search_vector`, under a GIN
index (migration 0002), and queried with websearch syntax and ranked: French stemming makes
"chute" find "chutes" and "chuter". `french_unaccent` (migration 0004) is `french` with the
`unaccent` dictionary before `french_stem`, so "hematome" finds "hématome" as on SQLite.
The vector is a stored column computed by the services on each write, never an index
expression: `unaccent` is not IMMUTABLE, which an expression index would require.

SQLite has no French stemmer, so the fallback stores `Protocol.search_folded`: the same text
with accents and case folded and each word cut by a small French suffix stripper; a query is
folded and stemmed the same way and every word must appear in it. It is cruder (substring
matches, no ranking) and only meant for the demo and the tests; both paths are tested on the
"chute" / "chutes" case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection
from django.db.models import F, QuerySet, Value

from security.text import fold

CONFIG = "french_unaccent"  # created by migration 0004
MAX_QUERY_WORDS = 8
_WORD = re.compile(r"[a-z0-9]+")
# Longest first; only cut when at least three letters remain, so short words stay whole.
_SUFFIXES = (
    "issements",
    "issement",
    "ations",
    "ation",
    "ements",
    "ement",
    "euses",
    "euse",
    "ances",
    "ance",
    "ences",
    "ence",
    "ites",
    "ite",
    "ives",
    "ive",
    "ifs",
    "if",
    "eaux",
    "eau",
    "aux",
    "ees",
    "ee",
    "es",
    "er",
    "ez",
    "e",
    "s",
    "x",
)
_MIN_STEM = 3


def stem(word: str) -> str:
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            return word[: -len(suffix)]
    return word


def stems(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(fold(text))]


def folded_document(parts: Iterable[str]) -> str:
    """The SQLite search document: every stem, space-separated and space-framed."""
    return " " + " ".join(stem_ for part in parts for stem_ in stems(part)) + " "


def uses_postgres_search() -> bool:
    return connection.vendor == "postgresql"


def vector_expression(title: str, body: str) -> object:
    """The weighted tsvector of a head version, for an UPDATE (PostgreSQL only)."""
    return SearchVector(Value(title), weight="A", config=CONFIG) + SearchVector(
        Value(body), weight="B", config=CONFIG
    )


def apply_search(queryset: QuerySet, text: str) -> QuerySet:
    """Protocols matching `text`, best first on PostgreSQL (empty text: unchanged)."""
    words = text.split()[:MAX_QUERY_WORDS]
    if not words:
        return queryset
    if uses_postgres_search():
        query = SearchQuery(" ".join(words), config=CONFIG, search_type="websearch")
        return (
            queryset.filter(search_vector=query)
            .annotate(search_rank=SearchRank(F("search_vector"), query))
            .order_by("-search_rank", "title", "pk")
        )
    for word_stem in stems(" ".join(words)):
        queryset = queryset.filter(search_folded__contains=word_stem)
    return queryset
