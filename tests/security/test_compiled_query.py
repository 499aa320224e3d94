"""security.compiled: a queryset compiled once per thread answers like the queryset itself."""

from __future__ import annotations

import threading
import uuid
import zoneinfo
from datetime import datetime, timedelta
from unittest import mock

import pytest
from django.db.models import F, Q, QuerySet
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

from directory.models import Member
from security.compiled import CompiledQuery, Fixed
from security.exceptions import NotFound
from tests.factories import MemberFactory, MembershipFactory

pytestmark = pytest.mark.django_db


def members_with_organisations(username: str) -> QuerySet[Member]:
    return (
        Member.objects.filter(user__username=username)
        .select_related("user")
        .annotate(organisation=F("memberships__organisation_id"))
        .order_by("memberships__organisation_id")
    )


QUERY = CompiledQuery(members_with_organisations, username=str)


def counting_compilations() -> mock._patch[mock.MagicMock]:
    return mock.patch.object(SQLCompiler, "as_sql", autospec=True, side_effect=SQLCompiler.as_sql)


def test_it_returns_what_the_queryset_returns_with_its_joins_and_annotations(
    django_assert_num_queries,
) -> None:
    member = MemberFactory(user__username="ide.durand")
    first, second = MembershipFactory(member=member), MembershipFactory(member=member)
    MemberFactory(user__username="someone.else")

    with django_assert_num_queries(1):
        rows = QUERY.fetch(username="ide.durand")
        assert [row.user.username for row in rows] == ["ide.durand", "ide.durand"]

    expected = list(members_with_organisations("ide.durand"))
    assert [(row.pk, row.organisation) for row in rows] == [
        (row.pk, row.organisation) for row in expected
    ]
    assert {row.organisation for row in rows} == {first.organisation_id, second.organisation_id}
    assert rows[0].code == member.code  # a converted column (a UUID on SQLite)
    assert rows[0].created_at == member.created_at
    assert QUERY.fetch(username="nobody") == []


def test_it_compiles_once_per_thread() -> None:
    MemberFactory(user__username="dr.a")
    MemberFactory(user__username="dr.b")
    query = CompiledQuery(members_with_organisations, username=str)
    with counting_compilations() as as_sql:
        assert [row.user.username for row in query.fetch(username="dr.a")] == ["dr.a"]
        assert [row.user.username for row in query.fetch(username="dr.b")] == ["dr.b"]
        assert as_sql.call_count == 1

        # Another thread (another connection) compiles its own, once.
        thread = threading.Thread(target=lambda: [query._compiled((-1,)) for _ in range(2)])
        thread.start()
        thread.join()
        assert as_sql.call_count == 2


def by_key_code_or_rpps(member_id: int, codes: list[uuid.UUID], rpps: str) -> QuerySet[Member]:
    """A value used twice, a list of UUIDs, a text: the shapes of the access reads."""
    return Member.objects.filter(
        Q(pk=member_id) | Q(code__in=codes) | Q(rpps=rpps) | Q(user__member__pk=member_id)
    ).order_by("pk")


def test_values_of_every_kind_go_where_their_placeholders_were() -> None:
    first, second, third = MemberFactory(), MemberFactory(), MemberFactory(rpps="10003123456")
    MemberFactory()
    query = CompiledQuery(by_key_code_or_rpps, member_id=int, codes=[uuid.UUID], rpps=str)

    cases = [
        ({"member_id": first.pk, "codes": [], "rpps": ""}, [first.pk]),
        ({"member_id": first.pk, "codes": [second.code], "rpps": ""}, [first.pk, second.pk]),
        ({"member_id": 0, "codes": [str(second.code)], "rpps": third.rpps}, [second.pk, third.pk]),
        ({"member_id": 0, "codes": [first.code, third.code], "rpps": ""}, [first.pk, third.pk]),
    ]
    for values, expected in cases:  # what Django's own evaluation gives
        assert [row.pk for row in by_key_code_or_rpps(**values)] == expected  # type: ignore[arg-type]

    with counting_compilations() as as_sql:
        for values, expected in cases:
            assert [row.pk for row in query.fetch(**values)] == expected
        assert as_sql.call_count == 3  # once per length of the list: 0, 1 and 2 codes

    with pytest.raises(ValueError, match="UUID"):  # a miss for the caller, as with Django
        query.fetch(member_id=0, codes=["not-a-code"], rpps="")


def test_a_value_the_query_does_not_use_is_refused() -> None:
    query = CompiledQuery(
        lambda username, rpps: Member.objects.filter(rpps=rpps), username=str, rpps=str
    )

    with pytest.raises(ValueError, match="username"):
        query.fetch(username="x", rpps="y")


def test_get_or_not_found_answers_one_row_or_a_miss_naming_only_what() -> None:
    member = MemberFactory()
    query = CompiledQuery(lambda code: Member.objects.filter(code=code).order_by(), code=uuid.UUID)

    assert query.get_or_not_found("member", code=member.code).pk == member.pk
    for code in (uuid.uuid4(), "not-a-code"):
        with pytest.raises(NotFound) as missed:
            query.get_or_not_found("member", code=code)
        assert str(missed.value) == str(NotFound("member"))


def members_created(after: datetime, before: datetime, limit: int) -> QuerySet[Member]:
    """Datetimes in a range (`>`, `=`, `<=`), and a LIMIT written into the SQL."""
    return Member.objects.filter(
        Q(created_at__gt=after) | Q(created_at=after, pk__gt=0), created_at__lte=before
    ).order_by("-created_at", "-pk")[:limit]


def test_datetime_values_and_a_fixed_limit_answer_like_the_queryset() -> None:
    members = [MemberFactory() for _ in range(4)]
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    for index, member in enumerate(members):  # a second apart, one of them on a microsecond
        member.created_at = start + timedelta(seconds=index, microseconds=7 if index == 2 else 0)
        member.save(update_fields=["created_at"])
    query = CompiledQuery(members_created, after=datetime, before=datetime, limit=Fixed)
    paris = zoneinfo.ZoneInfo("Europe/Paris")  # another zone: the same instants

    cases = [
        (start, start + timedelta(seconds=3), 10),
        (start - timedelta(days=1), start + timedelta(seconds=2), 2),
        ((start + timedelta(seconds=1)).astimezone(paris), start + timedelta(seconds=2), 10),
        (members[2].created_at, timezone.now(), 10),
        (start + timedelta(seconds=2), start + timedelta(seconds=2, microseconds=7), 1),
    ]
    with counting_compilations() as as_sql:
        for after, before, limit in cases:
            expected = [row.pk for row in members_created(after, before, limit)]
            assert expected, (after, before, limit)
            got = query.fetch(after=after, before=before, limit=limit)
            assert [row.pk for row in got] == expected
        # Django's own evaluations (5) and ours: once per limit met (10, 2, 1).
        assert as_sql.call_count == len(cases) + 3
    # A string is parsed as a model's DateTimeField parses it (a cursor's position).
    text = str(start + timedelta(seconds=1))
    assert [row.pk for row in query.fetch(after=text, before=timezone.now(), limit=10)] == [
        row.pk for row in members_created(start + timedelta(seconds=1), timezone.now(), 10)
    ]


@pytest.mark.parametrize("limit", [-1, "3", True, 2.0])
def test_a_fixed_value_is_a_non_negative_int(limit) -> None:
    query = CompiledQuery(members_created, after=datetime, before=datetime, limit=Fixed)
    with pytest.raises(ValueError, match="Fixed"):
        query.fetch(after=timezone.now(), before=timezone.now(), limit=limit)


def test_it_keeps_at_most_max_shapes_compiled_per_thread(monkeypatch) -> None:
    monkeypatch.setattr("security.compiled.MAX_SHAPES", 2)
    members = [MemberFactory() for _ in range(3)]
    query = CompiledQuery(lambda pks: Member.objects.filter(pk__in=pks).order_by("pk"), pks=[int])
    with counting_compilations() as as_sql:
        for length in (1, 2, 3, 3, 1):  # 3 drops 1, then 1 drops 2
            pks = [member.pk for member in members[:length]]
            assert [row.pk for row in query.fetch(pks=pks)] == pks
        assert as_sql.call_count == 4
    assert list(query._local.cache) == [(3,), (1,)]
