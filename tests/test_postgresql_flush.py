"""The test suite's flush on PostgreSQL (tests/postgresql/base.py) empties every table.

Transactional tests rely on it: the next test must start from empty tables, the audit trail
included, although a trigger refuses DELETE on it.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection

from directory.actions import MEMBER_UPDATE
from directory.models import Member
from security.audit import record
from security.models import AuditEntry
from tests.factories import MemberFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite's flush deletes already"),
]


def test_the_flush_deletes_the_rows_and_truncates_the_append_only_trail() -> None:
    member = MemberFactory()
    record(actor=member, action=MEMBER_UPDATE, target=member)
    assert Member.objects.exists()
    assert AuditEntry.objects.exists()

    call_command("flush", interactive=False, verbosity=0)

    assert not Member.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_flush_deletes_instead_of_truncating_the_unguarded_tables() -> None:
    statements = connection.ops.sql_flush(None, ["directory_member", "security_auditentry"])

    assert statements == ['TRUNCATE "security_auditentry";', 'DELETE FROM "directory_member";']
