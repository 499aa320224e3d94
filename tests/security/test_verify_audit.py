"""`manage.py verify_audit`: a clean chain passes; an edit or a removal is named, exit 1.

The tampering is done with raw SQL, the way someone with database access would do it; on
PostgreSQL the test first disables the append-only trigger, as such a person would have to.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from directory.models import Member
from security.audit import entry_hash, record
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


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
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
        f"Audit trail broken at entry #{edited.pk}: entry #{edited.pk} does not match its "
        "hash: the row was altered (2 entries read)."
    )
    assert error.value.returncode == 1


def test_it_reports_an_edited_extra(chain: list[AuditEntry]) -> None:
    execute("UPDATE security_auditentry SET extra = %s WHERE id = %s", ['{"step": 9}', chain[2].pk])

    with pytest.raises(CommandError, match=f"#{chain[2].pk} does not match its hash"):
        verify()


def test_it_reports_a_row_rewritten_with_a_matching_hash(chain: list[AuditEntry]) -> None:
    """Recomputing the edited row's hash only moves the break to the next link."""
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
        f"Audit trail broken at entry #{chain[2].pk}: entry #{chain[2].pk} does not link to "
        f"entry #{chain[0].pk}: entries between them were removed"
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
        f"Audit trail broken at entry #{chain[3].pk}: the chain head points at entry "
        f"#{chain[3].pk} but the chain ends at entry #{chain[2].pk}: entries at the end were "
        "removed, or added outside record() (3 entries read)."
    )


def test_it_reports_an_emptied_trail(chain: list[AuditEntry]) -> None:
    execute("DELETE FROM security_auditentry WHERE id >= %s", [chain[0].pk])

    with pytest.raises(CommandError, match="the trail is empty: every entry was removed"):
        verify()


def test_it_reports_a_row_appended_outside_record(chain: list[AuditEntry]) -> None:
    """Even a well-forged row (right link, right hash) is caught: the head did not move."""
    forged = AuditEntry(action="member.read", prev_hash=chain[3].hash)
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

    with pytest.raises(CommandError, match="the chain head's hash differs"):
        verify()
