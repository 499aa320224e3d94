"""What an audit entry costs in the pinned query counts (`tests/*/test_queries.py`).

An entry appended by a thread that wrote its chain's last entry (every pinned request: the
test's setup has audited already, see security.audit) inserts the entry and moves the head
in one guarded statement on PostgreSQL, two on SQLite. A thread's first entry reads the head
first (one statement more; three when its chain does not exist yet: the locking read, the
plain read that finds it missing, its creation), and so does a test's first:
tests/conftest.py forgets the head.
"""

from __future__ import annotations

from django.db import connection

AUDIT_ENTRY = 1 if connection.vendor == "postgresql" else 2
