"""The audit trail split into chains (AUDIT_SHARDS): each chain is sealed and verified on its
own, checkpoints cover every chain, and tampering in any chain is named with its chain.

Appends are steered to a chain the way a busy service spreads them: other chains' heads
exist and this thread last used the chosen one (see security.audit._locked_head). The
tampering is raw SQL, as in test_verify_audit. The last tests check how writers get chains
of their own: each starts from its home chain (`_home_shard`, the real one here; the other
tests append from chain 0, tests/conftest.py), created at its first append.
"""

from __future__ import annotations

import json
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from directory.models import Member
from security import audit
from security.audit import (
    GENESIS_HASH,
    HEAD_PK,
    ChainVerification,
    entry_hash,
    genesis_hash,
    latest_checkpoint_status,
    read_checkpoints,
    record,
    verify_chain,
)
from security.models import AuditChainHead, AuditEntry
from tests.conftest import HOME_SHARD
from tests.factories import MemberFactory
from tests.security.test_verify_audit import execute, verify

pytestmark = pytest.mark.django_db


def record_in(shard: int, member: Member, step: int) -> AuditEntry:
    AuditChainHead.objects.get_or_create(pk=HEAD_PK + shard)
    audit._affinity.shard = shard
    try:
        return record(actor=member, action="member.read", target=member, extra={"step": step})
    finally:
        del audit._affinity.shard


@pytest.fixture
def member() -> Member:
    return MemberFactory()


@pytest.fixture
def chains(member: Member) -> dict[int, list[AuditEntry]]:
    """Three chains (0, 2 and 5) of three entries each, appended in turns."""
    entries: dict[int, list[AuditEntry]] = {0: [], 2: [], 5: []}
    for step in range(3):
        for shard, chain in entries.items():
            chain.append(record_in(shard, member, step))
    return entries


def checkpoint(directory: Path) -> Path:
    before = set(directory.glob("*.json"))
    call_command("audit_checkpoint", "--dir", str(directory), stdout=StringIO())
    (written,) = set(directory.glob("*.json")) - before
    return written


def test_each_chain_counts_and_links_on_its_own(chains: dict[int, list[AuditEntry]]) -> None:
    for shard, chain in chains.items():
        assert [entry.shard for entry in chain] == [shard] * 3
        assert [entry.sequence for entry in chain] == [1, 2, 3]
        assert chain[0].prev_hash == genesis_hash(shard)
        assert [entry.prev_hash for entry in chain[1:]] == [entry.hash for entry in chain[:-1]]
        head = AuditChainHead.objects.get(pk=HEAD_PK + shard)
        assert (head.last_entry_id, head.last_sequence) == (chain[-1].pk, 3)

    assert genesis_hash(0) == GENESIS_HASH
    assert len({genesis_hash(shard) for shard in range(16)}) == 16
    assert verify_chain() == ChainVerification(entries=9)
    assert verify().strip() == "OK: 9 audit entries, chain intact."


def test_a_chain_beyond_the_setting_stays_verified_but_stops_growing(
    chains: dict[int, list[AuditEntry]], member: Member, settings
) -> None:
    settings.AUDIT_SHARDS = 4

    entry = record_in(5, member, 9)  # its usual chain is out of range now: another is taken

    assert entry.shard < 4
    assert verify_chain().ok


def test_a_shard_seals_its_number_so_an_entry_cannot_change_chain(
    chains: dict[int, list[AuditEntry]],
) -> None:
    entry = chains[2][0]
    moved = AuditEntry.objects.get(pk=entry.pk)
    moved.shard = 0

    assert entry_hash(moved) != entry.hash
    assert entry_hash(entry) == entry.hash


def test_it_names_the_chain_of_an_edited_entry(chains: dict[int, list[AuditEntry]]) -> None:
    edited = chains[5][1]
    execute("UPDATE security_auditentry SET action = 'member.update' WHERE id = %s", [edited.pk])

    result = verify_chain()

    assert (result.shard, result.sequence, result.entry_id) == (5, 2, edited.pk)
    with pytest.raises(CommandError) as error:
        verify()
    assert str(error.value).startswith(
        f"Audit trail broken at shard 5, sequence 2 (entry #{edited.pk}): shard 5: entry "
        f"#{edited.pk} does not match its seal"
    )


def test_it_names_an_entry_removed_from_a_chain(chains: dict[int, list[AuditEntry]]) -> None:
    execute("DELETE FROM security_auditentry WHERE id = %s", [chains[2][1].pk])

    result = verify_chain()

    assert (result.shard, result.sequence, result.entry_id) == (2, 2, chains[2][2].pk)
    assert f"does not link to entry #{chains[2][0].pk}" in result.problem


def test_it_names_an_entry_moved_to_another_chain(chains: dict[int, list[AuditEntry]]) -> None:
    moved = chains[5][2]
    # Appended to chain 2 at its next position; its link and seal still say chain 5.
    execute("UPDATE security_auditentry SET shard = 2, sequence = 4 WHERE id = %s", [moved.pk])

    result = verify_chain()

    assert (result.shard, result.sequence, result.entry_id) == (2, 4, moved.pk)
    assert f"does not link to entry #{chains[2][2].pk}" in result.problem


def test_it_names_entries_reordered_within_a_chain(chains: dict[int, list[AuditEntry]]) -> None:
    first, second = chains[2][0], chains[2][1]
    # Swap the two rows' contents by swapping their ids, as a superuser could.
    execute(
        "UPDATE security_auditentry SET id = CASE id WHEN %s THEN -1 ELSE id END WHERE id = %s",
        [first.pk, first.pk],
    )
    execute("UPDATE security_auditentry SET id = %s WHERE id = %s", [first.pk, second.pk])
    execute("UPDATE security_auditentry SET id = %s WHERE id = -1", [second.pk])

    result = verify_chain()

    assert (result.shard, result.sequence) == (2, 1)
    assert not result.ok


def test_a_checkpoint_covers_every_chain(
    chains: dict[int, list[AuditEntry]], tmp_path: Path
) -> None:
    saved = checkpoint(tmp_path)

    (read,) = read_checkpoints([saved])
    assert json.loads(saved.read_text())["version"] == 2
    assert [(head.shard, head.sequence, head.entry_id, head.head) for head in read.heads()] == [
        (shard, 3, chain[-1].pk, chain[-1].hash) for shard, chain in sorted(chains.items())
    ]
    assert (read.sequence, read.entry_id) == (9, max(c[-1].pk for c in chains.values()))
    assert verify_chain([read]) == ChainVerification(entries=9, checkpoints=1)
    status = latest_checkpoint_status(tmp_path)
    assert (status.ok, status.entries_since) == (True, 0)


def test_it_names_a_chain_cut_back_after_a_checkpoint(
    chains: dict[int, list[AuditEntry]], tmp_path: Path
) -> None:
    saved = checkpoint(tmp_path)
    kept = chains[2][0]
    execute("DELETE FROM security_auditentry WHERE shard = 2 AND id > %s", [kept.pk])
    AuditChainHead.objects.filter(pk=HEAD_PK + 2).update(
        last_entry_id=kept.pk, last_hash=kept.hash, last_sequence=1
    )
    assert verify_chain().ok  # a genuine earlier state of chain 2: only the checkpoint knows

    with pytest.raises(CommandError) as error:
        verify("--checkpoint", str(saved))

    assert str(error.value).startswith(
        "Audit trail broken at shard 2, sequence 2 (missing row): shard 2: the trail ends at "
        f"sequence 1 (entry #{kept.pk}) but {saved} recorded sequence 3"
    )
    status = latest_checkpoint_status(tmp_path)
    assert status.problem.startswith("shard 2: the entry checkpointed at sequence 3 is no longer")


def test_it_names_a_whole_chain_removed_after_a_checkpoint(
    chains: dict[int, list[AuditEntry]], tmp_path: Path
) -> None:
    saved = checkpoint(tmp_path)
    execute("DELETE FROM security_auditentry WHERE shard = 5", [])
    AuditChainHead.objects.filter(pk=HEAD_PK + 5).delete()
    assert verify_chain().ok

    result = verify_chain(read_checkpoints([saved]))

    assert (result.shard, result.sequence, result.entry_id) == (5, 1, None)
    assert "an empty trail" in result.problem


def test_it_refuses_to_checkpoint_a_rewritten_chain_head(
    chains: dict[int, list[AuditEntry]], tmp_path: Path
) -> None:
    AuditChainHead.objects.filter(pk=HEAD_PK + 2).update(last_hash="f" * 64)

    with pytest.raises(CommandError, match="no checkpoint taken: shard 2: the chain head's hash"):
        checkpoint(tmp_path)


def test_it_refuses_to_checkpoint_entries_without_a_head(
    chains: dict[int, list[AuditEntry]], tmp_path: Path
) -> None:
    AuditChainHead.objects.filter(pk=HEAD_PK + 5).delete()

    with pytest.raises(CommandError, match="has entries but no chain head"):
        checkpoint(tmp_path)
    assert "chain head is missing" in verify_chain().problem


def test_an_edited_sharded_checkpoint_is_refused(
    chains: dict[int, list[AuditEntry]], tmp_path: Path
) -> None:
    saved = checkpoint(tmp_path)
    document = json.loads(saved.read_text())
    document["shards"] = document["shards"][:-1]  # forget chain 5
    saved.write_text(json.dumps(document))

    with pytest.raises(CommandError, match=r"Untrusted checkpoint: .*signature does not match"):
        verify("--checkpoint", str(saved))


def appends(count: int) -> int:
    """Statements of `count` appends in one statement each (two on SQLite)."""
    return count * (1 if connection.vendor == "postgresql" else 2)


def test_a_new_writer_starts_a_chain_of_its_own_beside_a_free_one(
    member: Member, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries
) -> None:
    first = record(actor=member, action="member.read", target=member)  # chain 0, free again
    audit._forget_head()  # another process, whose home chain is 7
    del audit._affinity.shard
    monkeypatch.setattr(audit, "_home_shard", lambda shards: 7)

    # its chain is not free (not there), nor held (a plain read): created, then appended to
    with django_assert_num_queries(3 + appends(1)):
        entry = record(actor=member, action="member.read", target=member, extra={"page": 1})
    # from then on each of its appends is one guarded statement
    with django_assert_num_queries(appends(1)):
        again = record(actor=member, action="member.read", target=member, extra={"page": 2})

    assert (first.shard, entry.shard, again.shard) == (0, 7, 7)
    assert (entry.sequence, entry.prev_hash, again.prev_hash) == (1, genesis_hash(7), entry.hash)
    assert AuditChainHead.objects.get(pk=HEAD_PK + 7).last_entry_id == again.pk
    assert verify_chain() == ChainVerification(entries=3)


def test_home_chains_differ_for_the_threads_of_a_process_and_consecutive_processes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    homes: list[int] = []

    def home() -> None:
        homes.append(HOME_SHARD(128))

    threads = [threading.Thread(target=home) for _ in range(64)]
    for thread in threads:
        thread.start()
        thread.join()
    assert len(set(homes)) == 64

    def home_of(pid: int) -> int:  # a worker forked by a server, as its first thread
        monkeypatch.setattr(audit.os, "getpid", lambda: pid)
        monkeypatch.setattr(audit._affinity, "number", 0, raising=False)
        return HOME_SHARD(128)

    # workers forked one after the other: consecutive process ids
    assert len({home_of(pid) for pid in range(40_000, 40_064)}) == 64


@pytest.mark.django_db(transaction=True)
def test_writers_in_turn_keep_to_their_own_chains_in_one_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit, "_home_shard", HOME_SHARD)
    writers, steps = 3, 4
    turn = threading.Barrier(writers)
    shards: dict[int, set[int]] = {}
    statements: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def write(number: int) -> None:
        try:
            for step in range(steps):
                for _ in range(number):  # wait for the writers before this one
                    turn.wait()
                with CaptureQueriesContext(connection) as framing, transaction.atomic():
                    pass  # what the transaction itself logs (SQLite's BEGIN, the COMMIT)
                with CaptureQueriesContext(connection) as queries:
                    entry = record(actor=None, action="test.append", extra={"w": number})
                shards.setdefault(number, set()).add(entry.shard)
                statements.setdefault(number, []).append(len(queries) - len(framing))
                for _ in range(writers - number):  # let the next ones append
                    turn.wait()
                del step
        except Exception as error:  # noqa: BLE001  reported by the test thread below
            errors.append(error)
            turn.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert all(len(chain) == 1 for chain in shards.values())
    assert len(set().union(*shards.values())) == writers  # one chain each, none shared
    # the first append looks for its chain, finds it missing and creates it; then one each
    assert statements == {n: [3 + appends(1)] + [appends(1)] * (steps - 1) for n in shards}
    assert verify_chain() == ChainVerification(entries=writers * steps)
