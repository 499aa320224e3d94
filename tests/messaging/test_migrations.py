"""The migration that encrypts the subjects stored in clear before every subject was encrypted."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.timezone import now

from messaging.models import Conversation
from tests.factories import MemberFactory

BEFORE = [("messaging", "0001_initial")]
AFTER = [("messaging", "0002_encrypt_every_conversation_subject")]
SUBJECT = "Passage chez Mme Lefèvre jeudi"


def migrate(targets: list[tuple[str, str]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor


def raw_rows() -> bytes:
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM messaging_conversation")
        rows = cursor.fetchall()
    return b"\x00".join(
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
    )


@pytest.fixture
def back_to_the_latest_schema():
    """Whatever happens in the test, the next tests find the database fully migrated."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_schema")
def test_it_encrypts_the_subjects_kept_in_clear_and_keeps_the_sealed_ones() -> None:
    member = MemberFactory()
    old_state = migrate(BEFORE).loader.project_state(BEFORE).apps
    old_model = old_state.get_model("messaging", "Conversation")
    later = now() + timedelta(days=30)
    plain = old_model.objects.create(
        created_by_id=member.pk, subject=SUBJECT, retention_days=30, retain_until=later
    )
    sealed = old_model.objects.create(
        created_by_id=member.pk,
        sealed_subject="Mme Lefèvre : traitement",
        retention_days=30,
        retain_until=later,
    )
    assert SUBJECT.encode() in raw_rows()  # the state this migration exists to end

    migrate(AFTER)

    assert SUBJECT.encode() not in raw_rows()
    assert "Lefèvre".encode() not in raw_rows()
    assert Conversation.objects.get(code=plain.code).subject == SUBJECT
    assert Conversation.objects.get(code=sealed.code).subject == "Mme Lefèvre : traitement"

    # Backwards, nothing comes back in clear: the old code reads the encrypted column.
    old_state = migrate(BEFORE).loader.project_state(BEFORE).apps
    old_model = old_state.get_model("messaging", "Conversation")
    back = old_model.objects.get(code=plain.code)
    assert (back.subject, back.sealed_subject) == ("", SUBJECT)
    assert SUBJECT.encode() not in raw_rows()
