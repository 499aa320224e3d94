"""security.compiled: a queryset compiled once per thread answers like the queryset itself."""

from __future__ import annotations

import threading
from unittest import mock

import pytest
from django.db.models import F, QuerySet
from django.db.models.sql.compiler import SQLCompiler

from directory.models import Member
from security.compiled import NUMBER_PLACEHOLDER, CompiledQuery
from tests.factories import MemberFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def members_with_organisations(username: str) -> QuerySet[Member]:
    return (
        Member.objects.filter(user__username=username)
        .select_related("user")
        .annotate(organisation=F("memberships__organisation_id"))
        .order_by("memberships__organisation_id")
    )


QUERY = CompiledQuery(members_with_organisations)


def test_it_returns_what_the_queryset_returns_with_its_joins_and_annotations(
    django_assert_num_queries,
) -> None:
    member = MemberFactory(user__username="ide.durand")
    first, second = MembershipFactory(member=member), MembershipFactory(member=member)
    MemberFactory(user__username="someone.else")

    with django_assert_num_queries(1):
        rows = QUERY.fetch("ide.durand")
        assert [row.user.username for row in rows] == ["ide.durand", "ide.durand"]

    expected = list(members_with_organisations("ide.durand"))
    assert [(row.pk, row.organisation) for row in rows] == [
        (row.pk, row.organisation) for row in expected
    ]
    assert {row.organisation for row in rows} == {first.organisation_id, second.organisation_id}
    assert rows[0].code == member.code  # a converted column (a UUID on SQLite)
    assert rows[0].created_at == member.created_at
    assert QUERY.fetch("nobody") == []


def test_it_compiles_once_per_thread() -> None:
    MemberFactory(user__username="dr.a")
    MemberFactory(user__username="dr.b")
    query = CompiledQuery(members_with_organisations)
    compiling = mock.patch.object(
        SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql
    )
    with compiling as as_sql:
        assert [row.user.username for row in query.fetch("dr.a")] == ["dr.a"]
        assert [row.user.username for row in query.fetch("dr.b")] == ["dr.b"]
        assert as_sql.call_count == 1

        # Another thread (another connection) compiles its own, once.
        thread = threading.Thread(target=lambda: [query._compiled() for _ in range(2)])
        thread.start()
        thread.join()
        assert as_sql.call_count == 2


def test_a_value_used_twice_is_refused() -> None:
    query = CompiledQuery(lambda value: Member.objects.filter(user__username=value, rpps=value))

    with pytest.raises(ValueError, match="once"):
        query.fetch("x")


def test_an_integer_key_is_compiled_with_a_number_placeholder() -> None:
    first, second = MemberFactory(), MemberFactory()
    query = CompiledQuery(
        lambda user_id: Member.objects.filter(user_id=user_id).order_by(),
        placeholder=NUMBER_PLACEHOLDER,
    )

    assert [row.pk for row in query.fetch(first.user_id)] == [first.pk]
    assert [row.pk for row in query.fetch(second.user_id)] == [second.pk]
