"""`manage.py verify_audit`: a clean chain passes; an edit or a removal is named, exit 1.

The tampering is done with raw SQL, the way someone with database access would do it; on
PostgreSQL the test first disables the append-only trigger, as such a person would have to.
The database superuser of the last tests goes further: they recompute every hash after
the row they changed, and the head, the way the unkeyed chain used to allow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from importlib import import_module
from io import StringIO
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from directory.models import Member
from security.audit import GENESIS_HASH, HEAD_PK, entry_hash, legacy_entry_hash, record
from security.models import AuditChainHead, AuditEntry
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

TABLE = "security_auditentry"
TRIGGER = "security_auditentry_append_only"


@contextmanager
def tampering() -> Iterator[None]:
    """Raw SQL access to the audit table, past the PostgreSQL trigger (inside the test's
    transaction, so the trigger is back for the next test whatever happens)."""
    postgresql = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgresql:
            # ALTER TABLE refuses to run while deferred foreign-key checks are pending.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
        yield
        if postgresql:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")  # Django's foreign keys' default


def execute(sql: str, params: list[object]) -> None:
    with tampering(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def verify(*args: str) -> str:
    out = StringIO()
    call_command("verify_audit", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def member() -> Member:
    return MemberFactory()


@pytest.fixture
def chain(member: Member) -> list[AuditEntry]:
    return [
        record(actor=member, action="member.read", target=member, extra={"step": step})
        for step in range(4)
    ]


def test_it_passes_an_empty_trail() -> None:
    assert verify().strip() == "OK: 0 audit entries, chain intact."


def test_it_passes_a_clean_chain(chain: list[AuditEntry]) -> None:
    assert verify().strip() == "OK: 4 audit entries, chain intact."


def test_it_reports_an_edited_row(chain: list[AuditEntry]) -> None:
    edited = chain[1]
    execute(
        "UPDATE security_auditentry SET action = %s WHERE id = %s", ["member.update", edited.pk]
    )

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value) == (
        f"Audit trail broken at sequence 2 (entry #{edited.pk}): entry #{edited.pk} does not "
        "match its seal under key 'testaudit1': the row was altered (or AUDIT_KEYS holds "
        "another key under that id) (2 entries read)."
    )
    assert error.value.returncode == 1


def test_it_reports_an_edited_extra(chain: list[AuditEntry]) -> None:
    execute("UPDATE security_auditentry SET extra = %s WHERE id = %s", ['{"step": 9}', chain[2].pk])

    with pytest.raises(CommandError, match=f"#{chain[2].pk} does not match its seal"):
        verify()


def test_it_reports_a_row_rewritten_with_a_matching_hash(chain: list[AuditEntry]) -> None:
    """Even with the key, resealing the edited row only moves the break to the next link."""
    edited, following = chain[1], chain[2]
    edited.action = "member.update"
    execute(
        "UPDATE security_auditentry SET action = %s, hash = %s WHERE id = %s",
        [edited.action, entry_hash(edited), edited.pk],
    )

    with pytest.raises(CommandError) as error:
        verify()

    assert f"entry #{following.pk} does not link to entry #{edited.pk}" in str(error.value)


def test_it_reports_a_row_pointing_at_another_member(chain: list[AuditEntry]) -> None:
    someone_else = MemberFactory()
    execute(
        "UPDATE security_auditentry SET actor_id = %s WHERE id = %s", [someone_else.pk, chain[0].pk]
    )

    with pytest.raises(CommandError, match=f"#{chain[0].pk} points at another member"):
        verify()


def test_it_reports_a_deleted_row_in_the_middle(chain: list[AuditEntry]) -> None:
    execute("DELETE FROM security_auditentry WHERE id = %s", [chain[1].pk])

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 2 (entry #{chain[2].pk}): entry #{chain[2].pk} does "
        f"not link to entry #{chain[0].pk}: entries between them were removed"
    )


def test_it_reports_a_deleted_first_row(chain: list[AuditEntry]) -> None:
    execute("DELETE FROM security_auditentry WHERE id = %s", [chain[0].pk])

    with pytest.raises(CommandError, match=f"#{chain[1].pk} opens the trail"):
        verify()


def test_it_reports_a_deleted_last_row(chain: list[AuditEntry]) -> None:
    execute("DELETE FROM security_auditentry WHERE id = %s", [chain[3].pk])

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value) == (
        f"Audit trail broken at sequence 4 (entry #{chain[3].pk}): the chain head points at "
        f"entry #{chain[3].pk} but the chain ends at entry #{chain[2].pk}: entries at the end "
        "were removed, or added outside record() (3 entries read)."
    )


def test_it_reports_an_emptied_trail(chain: list[AuditEntry]) -> None:
    execute("DELETE FROM security_auditentry WHERE id >= %s", [chain[0].pk])

    with pytest.raises(CommandError, match="the trail is empty: every entry was removed"):
        verify()


def test_it_reports_a_row_appended_outside_record(chain: list[AuditEntry]) -> None:
    """Even a well-forged row (right link, right hash) is caught: the head did not move."""
    forged = AuditEntry(
        action="member.read", prev_hash=chain[3].hash, sequence=5, key_id="testaudit1"
    )
    forged.hash = entry_hash(forged)
    forged.save()

    with pytest.raises(CommandError, match="added outside record"):
        verify()


def test_it_reports_a_removed_chain_head(chain: list[AuditEntry]) -> None:
    AuditChainHead.objects.all().delete()

    with pytest.raises(CommandError, match="the chain head is missing or empty"):
        verify()


def test_it_reports_a_rewritten_chain_head(chain: list[AuditEntry]) -> None:
    AuditChainHead.objects.update(last_hash="f" * 64)

    with pytest.raises(CommandError, match="the chain head's hash or count differs"):
        verify()


# --------------------------------------------------------------------------- a database superuser


def unkeyed_hash(entry: AuditEntry) -> str:
    """What anyone reading the code can compute: the chain's hash before AUDIT_KEYS existed."""
    content = {
        "created_at": entry.created_at.astimezone(UTC).isoformat(),
        "actor_code": str(entry.actor_code) if entry.actor_code is not None else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_code": str(entry.target_code) if entry.target_code is not None else None,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "extra": entry.extra,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256((entry.prev_hash + canonical).encode("ascii")).hexdigest()


def rechain_as_superuser(
    rows: list[AuditEntry], *, after: AuditEntry | None = None, unseal: bool = False
) -> None:
    """Rewrite `rows` (their action included) with every later link and hash, then the head.

    Exactly what someone with superuser access to PostgreSQL can do: no key is needed to
    recompute an unkeyed hash. `rows` follow `after` (default: where the first one links).
    With `unseal`, the rows also pose as written before the keys.
    """
    previous_hash = after.hash if after is not None else rows[0].prev_hash
    for row in rows:
        row.prev_hash = previous_hash
        row.hash = unkeyed_hash(row)
        previous_hash = row.hash
    with tampering(), connection.cursor() as cursor:
        for row in rows:  # placeholders first: links and hashes are unique
            cursor.execute(
                "UPDATE security_auditentry SET prev_hash = %s, hash = %s WHERE id = %s",
                [f"p{row.pk:063d}", f"h{row.pk:063d}", row.pk],
            )
        for row in rows:
            cursor.execute(
                "UPDATE security_auditentry SET action = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                [row.action, row.prev_hash, row.hash, row.pk],
            )
            if unseal:
                cursor.execute(
                    "UPDATE security_auditentry SET key_id = '', sequence = NULL WHERE id = %s",
                    [row.pk],
                )
        cursor.execute("UPDATE security_auditchainhead SET last_hash = %s", [previous_hash])


@pytest.mark.parametrize("unseal", [False, True], ids=["keeping-the-key-id", "unsealed"])
def test_a_superuser_rewriting_a_row_and_every_later_hash_is_caught(
    chain: list[AuditEntry], unseal: bool
) -> None:
    """The unkeyed chain said "chain intact" here: every link and the head agreed."""
    edited = chain[1]
    edited.action = "member.delete"
    rechain_as_superuser(chain[1:], unseal=unseal)

    with pytest.raises(CommandError) as error:
        verify()

    message = str(error.value)
    assert message.startswith(f"Audit trail broken at sequence 2 (entry #{edited.pk}): ")
    assert ("is not sealed with an audit key" if unseal else "does not match its seal") in message
    assert error.value.returncode == 1


def test_a_superuser_reordering_rows_and_rechaining_them_is_caught(
    chain: list[AuditEntry],
) -> None:
    second, third = chain[1], chain[2]
    with tampering(), connection.cursor() as cursor:
        for old, new in ((second.pk, -1), (third.pk, second.pk), (-1, third.pk)):
            cursor.execute("UPDATE security_auditentry SET id = %s WHERE id = %s", [new, old])
    reordered = list(AuditEntry.objects.order_by("id"))
    assert [entry.action for entry in reordered] == ["member.read"] * 4
    assert [entry.extra["step"] for entry in reordered] == [0, 2, 1, 3]
    rechain_as_superuser(reordered[1:], after=reordered[0])

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 2 (entry #{second.pk}): entry #{second.pk} was sealed "
        "at sequence 3 but sits at 2: entries were removed, inserted or reordered"
    )


def test_a_plain_reordering_is_caught(chain: list[AuditEntry]) -> None:
    second, third = chain[1], chain[2]
    with tampering(), connection.cursor() as cursor:
        for old, new in ((second.pk, -1), (third.pk, second.pk), (-1, third.pk)):
            cursor.execute("UPDATE security_auditentry SET id = %s WHERE id = %s", [new, old])

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(f"Audit trail broken at sequence 2 (entry #{second.pk})")


# --------------------------------------------------------------------------- keys

OTHER_KEY = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
TEST_KEY = "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8="
# The public half of tests/settings.py's AUDIT_CHECKPOINT_SIGNING_KEY.
TEST_CHECKPOINT_PUBLIC_KEY = "zRSzf5VulTGU/3+3Oz2B3MVh1hp1OAlLfD4aZD7l86o="


def test_it_reports_a_chain_checked_with_the_wrong_key(chain: list[AuditEntry], settings) -> None:
    settings.AUDIT_KEYS = f"testaudit1:{OTHER_KEY}"

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 1 (entry #{chain[0].pk}): entry #{chain[0].pk} does "
        "not match its seal under key 'testaudit1'"
    )


def test_entries_sealed_before_a_rotation_still_verify(member: Member, settings) -> None:
    before = [record(actor=member, action="member.read", target=member) for _ in range(2)]
    settings.AUDIT_KEYS = f"testaudit2:{OTHER_KEY},testaudit1:{TEST_KEY}"
    after = [record(actor=member, action="member.read", target=member) for _ in range(2)]

    assert [entry.key_id for entry in before + after] == ["testaudit1"] * 2 + ["testaudit2"] * 2
    assert [entry.sequence for entry in before + after] == [1, 2, 3, 4]
    assert verify().strip() == "OK: 4 audit entries, chain intact."

    settings.AUDIT_KEYS = f"testaudit2:{OTHER_KEY}"  # the old key dropped too early
    with pytest.raises(CommandError) as error:
        verify()
    assert str(error.value).startswith(
        f"Audit trail broken at sequence 1 (entry #{before[0].pk}): entry #{before[0].pk} is "
        "sealed with key 'testaudit1', which is not in AUDIT_KEYS"
    )


# --------------------------------------------------------------------------- checkpoints


def checkpoint(directory: Path) -> Path:
    """Run `audit_checkpoint` into `directory` and return the file it wrote."""
    before = set(directory.glob("*.json"))
    call_command("audit_checkpoint", "--dir", str(directory), stdout=StringIO())
    (written,) = set(directory.glob("*.json")) - before
    return written


def roll_back_the_head_to(entry: AuditEntry) -> None:
    """The superuser's cut: drop every entry after `entry`, point the head back at it."""
    execute("DELETE FROM security_auditentry WHERE id > %s", [entry.pk])
    AuditChainHead.objects.update(
        last_entry_id=entry.pk, last_hash=entry.hash, last_sequence=entry.sequence
    )


def test_it_passes_a_chain_that_still_holds_its_checkpoints(
    member: Member, chain: list[AuditEntry], tmp_path: Path
) -> None:
    first = checkpoint(tmp_path)
    record(actor=member, action="member.read", target=member)
    second = checkpoint(tmp_path)
    record(actor=member, action="member.read", target=member)

    output = verify("--checkpoint", str(first), "--checkpoint", str(second))

    assert output.strip() == (
        "OK: 6 audit entries, chain intact (2 checkpoint(s) found in the chain, the latest at "
        "sequence 5)."
    )
    assert "2 checkpoint(s)" in verify("--checkpoint", str(tmp_path))  # a directory of them


def test_it_reports_entries_cut_after_a_checkpoint(chain: list[AuditEntry], tmp_path: Path) -> None:
    saved = checkpoint(tmp_path)
    roll_back_the_head_to(chain[1])
    # The seals alone cannot tell: what is left is a genuine, earlier state of the chain.
    assert verify().strip() == "OK: 2 audit entries, chain intact."

    with pytest.raises(CommandError) as error:
        verify("--checkpoint", str(saved))

    assert str(error.value) == (
        f"Audit trail broken at sequence 3 (missing row): the trail ends at sequence 2 (entry "
        f"#{chain[1].pk}) but {saved} recorded sequence 4 (entry #{chain[3].pk}) at "
        f"{json.loads(saved.read_text())['checkpointed_at']}: entries after sequence 2 were "
        "removed (2 entries read)."
    )


def test_it_reports_a_chain_cut_back_and_grown_again(
    member: Member, chain: list[AuditEntry], tmp_path: Path
) -> None:
    saved = checkpoint(tmp_path)
    roll_back_the_head_to(chain[1])
    regrown = [record(actor=member, action="member.read", target=member) for _ in range(3)]
    assert verify().strip() == "OK: 5 audit entries, chain intact."

    with pytest.raises(CommandError) as error:
        verify("--checkpoint", str(saved))

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 4 (entry #{regrown[1].pk}): entry #{regrown[1].pk} at "
        f"sequence 4 is not the one checkpointed in {saved}"
    )


def test_it_refuses_an_edited_checkpoint(chain: list[AuditEntry], tmp_path: Path) -> None:
    saved = checkpoint(tmp_path)
    document = json.loads(saved.read_text())
    document.update(sequence=2, entry_id=chain[1].pk, head=chain[1].hash)
    saved.write_text(json.dumps(document))

    with pytest.raises(CommandError, match=r"Untrusted checkpoint: .*signature does not match"):
        verify("--checkpoint", str(saved))


def test_checkpoints_signed_before_a_rotation_verify_with_their_public_key(
    chain: list[AuditEntry], tmp_path: Path, settings
) -> None:
    saved = checkpoint(tmp_path)
    settings.AUDIT_CHECKPOINT_SIGNING_KEY = f"testcp2:{OTHER_KEY}"

    with pytest.raises(CommandError, match="signed with key 'testcp1', which is neither"):
        verify("--checkpoint", str(saved))

    # The public half of the former signing key is enough to verify what it signed.
    settings.AUDIT_CHECKPOINT_PUBLIC_KEYS = f"testcp1:{TEST_CHECKPOINT_PUBLIC_KEY}"
    assert "1 checkpoint(s) found" in verify("--checkpoint", str(saved))


# --------------------------------------------------------------------------- before the keys


def legacy_trail(count: int) -> list[AuditEntry]:
    """Entries as an installation upgraded from the unkeyed chain holds them, and its head
    as migration 0003 leaves it."""
    migration = import_module("security.migrations.0003_audit_keyed_entries")
    entries, previous = [], GENESIS_HASH
    for step in range(count):
        entry = AuditEntry(action="member.read", extra={"step": step}, prev_hash=previous)
        entry.hash = legacy_entry_hash(entry)
        entry.save()
        entries.append(entry)
        previous = entry.hash
    AuditChainHead.objects.create(pk=HEAD_PK, last_entry_id=entries[-1].pk, last_hash=previous)
    migration.count_existing_entries(django_apps, None)
    return entries


def test_entries_written_before_the_keys_need_their_count_from_outside_the_database() -> None:
    legacy = legacy_trail(3)

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 1 (entry #{legacy[0].pk}): entry #{legacy[0].pk} is "
        "not sealed with an audit key: it was written or rewritten outside record(); if the "
        "trail was upgraded from unkeyed entries, set AUDIT_LEGACY_ENTRIES to the number of "
        "entries it held then (3 are unsealed now"
    )


def test_entries_written_before_the_keys_verify_the_old_way(member: Member, settings) -> None:
    legacy_trail(3)
    settings.AUDIT_LEGACY_ENTRIES = 3

    sealed = record(actor=member, action="member.read", target=member)

    assert (sealed.sequence, sealed.key_id) == (4, "testaudit1")
    assert verify().strip() == (
        "OK: 4 audit entries, chain intact (3 written before the audit keys, checked unkeyed)."
    )


def test_the_first_sealed_entry_pins_the_entries_before_the_keys(member: Member, settings) -> None:
    legacy = legacy_trail(3)
    settings.AUDIT_LEGACY_ENTRIES = 3
    sealed = record(actor=member, action="member.read", target=member)
    legacy[0].action = "member.delete"
    rechain_as_superuser(legacy)  # the head still names the sealed entry

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 4 (entry #{sealed.pk}): entry #{sealed.pk} does not "
        f"link to entry #{legacy[2].pk}"
    )


def test_sealed_entries_cannot_pose_as_written_before_the_keys(chain: list[AuditEntry]) -> None:
    """Unsealing the whole trail does not help: AUDIT_LEGACY_ENTRIES (0 here) is not in the
    database."""
    chain[0].action = "member.delete"
    rechain_as_superuser(chain, unseal=True)

    with pytest.raises(CommandError, match=r"at sequence 1 .* is not sealed with an audit key"):
        verify()


def test_removing_the_first_entry_written_before_the_keys_is_caught(settings) -> None:
    legacy = legacy_trail(3)
    settings.AUDIT_LEGACY_ENTRIES = 3
    execute("DELETE FROM security_auditentry WHERE id = %s", [legacy[0].pk])

    with pytest.raises(CommandError) as error:
        verify()

    assert str(error.value).startswith(
        f"Audit trail broken at sequence 1 (entry #{legacy[1].pk}): entry #{legacy[1].pk} "
        "opens the trail but does not start the chain"
    )


def test_it_lists_the_declared_actions_and_the_undeclared_ones_in_the_trail(
    member: Member, settings
) -> None:
    record(actor=member, action="member.read", target=member)
    settings.AUDIT_STRICT_ACTIONS = False  # an older version wrote a name nobody declares now
    record(actor=member, action="member.archive", target=member)

    output = verify("--list-actions")

    lines = output.splitlines()
    assert any(
        line.split(None, 1) == ["liaison_sheet.read", "Consultation d'une fiche de liaison"]
        for line in lines
    )
    declared, undeclared = output.split("In the trail but declared by no app (1):")
    assert "member.read" in declared
    assert "member.archive" not in declared
    assert undeclared.split() == ["member.archive", "?"]
