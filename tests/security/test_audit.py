"""security.audit.record: one hash-chained entry per action, in the caller's transaction."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import IntegrityError, OperationalError, connection, transaction

from directory.models import Member, Membership
from security import audit
from security.audit import GENESIS_HASH, HEAD_PK, entry_hash, record, verify_chain
from security.models import AuditChainHead, AuditEntry
from security.models.audit import AppendOnlyViolation
from security.request_context import RequestContext, reset_request_context, set_request_context
from tests.factories import MemberFactory, MembershipFactory, OrganisationFactory

pytestmark = pytest.mark.django_db

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL row locks and triggers"
)


@pytest.fixture
def member() -> Member:
    return MemberFactory()


@pytest.fixture
def request_context() -> Iterator[RequestContext]:
    context = RequestContext(ip="192.0.2.7", user_agent="Mozilla/5.0 (test)")
    token = set_request_context(context)
    yield context
    reset_request_context(token)


def test_it_records_who_did_what_to_which_object_from_where(
    member: Member, request_context: RequestContext
) -> None:
    organisation = OrganisationFactory()

    entry = record(
        actor=member, action="organisation.update", target=organisation, extra={"fields": 2}
    )

    entry.refresh_from_db()
    assert entry.actor == member
    assert entry.actor_code == member.code
    assert entry.action == "organisation.update"
    assert entry.target_type == "directory.organisation"
    assert entry.target_code == organisation.code
    assert (entry.ip, entry.user_agent) == ("192.0.2.7", "Mozilla/5.0 (test)")
    assert entry.extra == {"fields": 2}
    assert entry.prev_hash == GENESIS_HASH
    assert entry.hash == entry_hash(entry)


def test_it_records_system_actions_without_actor_or_request() -> None:
    entry = record(actor=None, action="outbox.sweep")

    assert (entry.actor, entry.actor_code, entry.target_code) == (None, None, None)
    assert (entry.target_type, entry.ip, entry.user_agent) == ("", "", "")
    assert verify_chain().ok


def test_it_creates_the_chain_head_on_first_use(member: Member) -> None:
    assert not AuditChainHead.objects.exists()

    entry = record(actor=member, action="member.read", target=member)

    head = AuditChainHead.objects.get()
    assert (head.pk, head.last_entry_id, head.last_hash) == (audit.HEAD_PK, entry.pk, entry.hash)


def test_it_links_two_records_in_sequence(member: Member) -> None:
    first = record(actor=member, action="member.read", target=member)
    second = record(actor=member, action="member.update", target=member)

    assert second.prev_hash == first.hash
    assert second.pk > first.pk
    assert AuditChainHead.objects.get().last_entry_id == second.pk
    assert verify_chain() == audit.ChainVerification(entries=2)


def test_it_commits_or_rolls_back_with_the_callers_change(member: Member) -> None:
    before = record(actor=member, action="member.read", target=member)

    @transaction.atomic
    def a_service_that_fails_after_recording() -> None:
        member.phone = "06 99 99 99 99"
        member.save(update_fields=["phone"])
        record(actor=member, action="member.update", target=member)
        raise RuntimeError("a later step of the service fails")

    with pytest.raises(RuntimeError):
        a_service_that_fails_after_recording()

    member.refresh_from_db()
    assert member.phone != "06 99 99 99 99"
    assert list(AuditEntry.objects.values_list("pk", flat=True)) == [before.pk]
    assert AuditChainHead.objects.get().last_hash == before.hash
    after = record(actor=member, action="member.update", target=member)
    assert after.prev_hash == before.hash
    assert verify_chain().ok


def appends(count: int) -> int:
    """Statements of `count` appends to a chain whose head is known: the insert and the
    head's move are one statement on PostgreSQL, two on SQLite."""
    return count * (1 if connection.vendor == "postgresql" else 2)


def test_an_append_after_the_threads_own_is_one_statement(
    member: Member, django_assert_num_queries
) -> None:
    record(actor=member, action="member.read", target=member)  # the head exists from now on

    # the thread wrote the head's last entry: insert and move the head, checked in one go
    with django_assert_num_queries(appends(1)):
        record(actor=member, action="member.read", target=member, extra={"page": 1})
    assert verify_chain().ok


def test_a_first_append_reads_the_head(member: Member, django_assert_num_queries) -> None:
    record(actor=member, action="member.read", target=member)
    audit._forget_head()  # a new process

    # lock the head, then insert the entry and move the head
    with django_assert_num_queries(1 + appends(1)):
        record(actor=member, action="member.read", target=member, extra={"page": 1})
    assert verify_chain().ok


def test_a_head_moved_by_another_thread_is_read_again(
    member: Member, django_assert_num_queries
) -> None:
    first = record(actor=member, action="member.read", target=member)
    known = audit._affinity.head
    record(actor=member, action="member.read", target=member)
    audit._affinity.head = known  # as if another thread had appended since our entry

    # the guarded append finds another head and writes nothing; then the head is read
    with django_assert_num_queries(1 + 1 + appends(1)):
        entry = record(actor=member, action="member.read", target=member, extra={"page": 1})
    assert (entry.sequence, AuditEntry.objects.count()) == (first.sequence + 2, 3)
    assert verify_chain().ok


def test_a_rolled_back_append_leaves_the_next_one_linked(member: Member) -> None:
    record(actor=member, action="member.read", target=member)

    def failing_change() -> None:
        with transaction.atomic():
            record(actor=member, action="member.read", target=member, extra={"page": 1})
            raise RuntimeError  # the caller's change fails after its entry

    with pytest.raises(RuntimeError):
        failing_change()

    entry = record(actor=member, action="member.read", target=member, extra={"page": 2})
    assert entry.sequence == 2
    assert verify_chain().ok


def test_it_normalises_codes_in_extra(member: Member) -> None:
    sheet_code = uuid.uuid4()

    entry = record(
        actor=member,
        action="member.read",
        extra={"sheet_code": sheet_code, "recipients": [1, 2], "status": "sent", "ok": True},
    )

    entry.refresh_from_db()
    assert entry.extra == {
        "sheet_code": str(sheet_code),
        "recipients": [1, 2],
        "status": "sent",
        "ok": True,
    }
    assert entry_hash(entry) == entry.hash


@pytest.mark.parametrize(
    "extra",
    [
        {"ins": "1 84 12 75 123 456 78"},
        {"family_name": "Dupont"},
        {"birth_date": "1984-12-01"},
        {"body": "Douleur thoracique"},
        {"content": "..."},
        {"patientINS": "..."},
        {"body_ciphertext": "..."},
        {"sheet": {"birthDate": "1984-12-01"}},
        {"changes": [{"diagnosis": "..."}]},
        {"status": "x" * 201},
        {"ratio": 0.5},
        {"when": object()},
        {1: "not a string key"},
    ],
    ids=lambda extra: "-".join(map(str, extra)),
)
def test_it_refuses_an_extra_that_could_hold_health_data(member: Member, extra: dict) -> None:
    with pytest.raises(ValueError, match="audit extra"):
        record(actor=member, action="member.read", target=member, extra=extra)

    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("action", ["read", "Member.Read", "member.read.twice", "member. read"])
def test_it_refuses_an_action_not_shaped_model_dot_verb(member: Member, action: str) -> None:
    with pytest.raises(ValueError, match=r"<model>\.<verb>"):
        record(actor=member, action=action)


def test_it_refuses_a_target_without_public_code(member: Member) -> None:
    membership = MembershipFactory(member=member)
    assert isinstance(membership, Membership)

    with pytest.raises(ValueError, match="no public code"):
        record(actor=member, action="membership.update", target=membership)


class TestAppendOnly:
    @pytest.fixture
    def entry(self, member: Member) -> AuditEntry:
        return record(actor=member, action="member.read", target=member)

    @pytest.mark.parametrize(
        "change",
        [
            lambda entry: entry.save(),
            lambda entry: entry.save(update_fields=["action"]),
            lambda entry: entry.delete(),
            lambda entry: AuditEntry.objects.filter(pk=entry.pk).update(action="member.update"),
            lambda entry: AuditEntry.objects.filter(pk=entry.pk).delete(),
            lambda entry: AuditEntry.objects.all().delete(),
            lambda entry: AuditEntry.objects.bulk_update([entry], ["action"]),
            lambda entry: AuditEntry.objects.bulk_create([AuditEntry(action="member.read")]),
        ],
        ids=[
            "save",
            "save-fields",
            "delete",
            "qs-update",
            "qs-delete",
            "all-delete",
            "bulk-update",
            "bulk-create",
        ],
    )
    def test_it_refuses_changes_through_the_application(
        self, entry: AuditEntry, change: Callable[[AuditEntry], object]
    ) -> None:
        with pytest.raises(AppendOnlyViolation):
            change(entry)

        assert AuditEntry.objects.get(pk=entry.pk).hash == entry.hash

    def test_it_refuses_to_overwrite_an_entry_with_a_new_object(self, entry: AuditEntry) -> None:
        clone = AuditEntry(pk=entry.pk, action="member.update", prev_hash="f" * 64, hash="e" * 64)

        with pytest.raises(IntegrityError), transaction.atomic():
            clone.save()

    def test_it_refuses_a_second_entry_claiming_the_same_predecessor(
        self, entry: AuditEntry
    ) -> None:
        fork = AuditEntry(action="member.update", prev_hash=entry.prev_hash, hash="e" * 64)

        with pytest.raises(IntegrityError), transaction.atomic():
            fork.save()

    @on_postgresql
    @pytest.mark.parametrize(
        "sql",
        [
            "UPDATE security_auditentry SET action = 'member.update' WHERE id = %s",
            "DELETE FROM security_auditentry WHERE id = %s",
        ],
        ids=["update", "delete"],
    )
    def test_it_refuses_raw_sql_changes_on_postgresql(self, entry: AuditEntry, sql: str) -> None:
        with (
            pytest.raises(IntegrityError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])

        assert AuditEntry.objects.get(pk=entry.pk).action == "member.read"


@on_postgresql
@pytest.mark.django_db(transaction=True)
class TestConcurrentWriters:
    """Real connections in threads: each chain's head lock keeps its appends in one line, and
    a held chain does not hold off appends to the others."""

    def test_it_keeps_one_chain_under_concurrent_appends(self) -> None:
        writers, per_writer = 4, 15
        start = threading.Barrier(writers)
        errors: list[BaseException] = []

        def write(number: int) -> None:
            try:
                start.wait()
                for index in range(per_writer):
                    with transaction.atomic():
                        record(actor=None, action="test.append", extra={"w": number, "i": index})
            except Exception as error:  # noqa: BLE001  reported by the test thread below
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert verify_chain() == audit.ChainVerification(entries=writers * per_writer)

    def hold_a_chain_while(self, appending: Callable[[], None]) -> None:
        """Run `appending` while another connection holds, uncommitted, the chain it used."""
        recorded, release = threading.Event(), threading.Event()

        def hold_the_head() -> None:
            try:
                with transaction.atomic():
                    record(actor=None, action="test.hold")
                    recorded.set()
                    release.wait(timeout=10)
            finally:
                connection.close()

        holder = threading.Thread(target=hold_the_head)
        holder.start()
        try:
            assert recorded.wait(timeout=10)
            appending()
        finally:
            release.set()
            holder.join()

    @staticmethod
    @transaction.atomic
    def record_without_waiting_long() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '200ms'")
        record(actor=None, action="test.wait")
        record(actor=None, action="test.wait")  # the same transaction stays on its chain

    def test_it_appends_beside_a_held_chain_without_waiting(self) -> None:
        record(actor=None, action="test.before")  # shard 0's head exists and is committed

        self.hold_a_chain_while(self.record_without_waiting_long)

        shards = dict(AuditEntry.objects.values_list("action", "shard"))
        waited = set(AuditEntry.objects.filter(action="test.wait").values_list("shard", flat=True))
        assert waited == {shards["test.wait"]}  # both appends of the transaction on one chain
        assert shards["test.wait"] != shards["test.hold"]
        assert AuditChainHead.objects.count() == 2
        assert verify_chain() == audit.ChainVerification(entries=4)

    def test_a_remembered_head_held_by_another_transaction_is_not_waited_for(self) -> None:
        first = record(actor=None, action="test.before")  # this thread now knows its head
        locked, release = threading.Event(), threading.Event()

        def lock_that_head() -> None:  # another appender, between its append and its commit
            try:
                with transaction.atomic():
                    AuditChainHead.objects.select_for_update().get(pk=HEAD_PK + first.shard)
                    locked.set()
                    release.wait(timeout=10)
            finally:
                connection.close()

        holder = threading.Thread(target=lock_that_head)
        holder.start()
        try:
            assert locked.wait(timeout=10)
            self.record_without_waiting_long()  # lock_timeout 200 ms: waiting would fail it
        finally:
            release.set()
            holder.join()

        waited = set(AuditEntry.objects.filter(action="test.wait").values_list("shard", flat=True))
        assert len(waited) == 1
        assert waited != {first.shard}
        assert verify_chain() == audit.ChainVerification(entries=3)

    def test_with_one_shard_it_holds_off_other_appends_until_the_holder_commits(
        self, settings
    ) -> None:
        settings.AUDIT_SHARDS = 1
        record(actor=None, action="test.before")

        def append_and_time_out() -> None:
            with pytest.raises(OperationalError, match="lock timeout"):
                self.record_without_waiting_long()

        self.hold_a_chain_while(append_and_time_out)

        actions = list(AuditEntry.objects.values_list("action", flat=True))
        assert actions == ["test.before", "test.hold"]
        assert verify_chain().ok
