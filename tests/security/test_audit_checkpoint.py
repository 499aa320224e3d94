"""Checkpoints of the audit chain (`audit_checkpoint`, the hourly task) and the audit keys."""

from __future__ import annotations

import json
import logging
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils.module_loading import import_string

from directory.models import Member
from security.audit import GENESIS_HASH, read_checkpoints, record, verify_chain
from security.audit_checkpoints import CheckpointError, parse_checkpoint
from security.audit_keys import (
    checkpoint_keys_from_settings,
    parse_audit_keys,
    parse_checkpoint_keys,
)
from security.crypto import ImproperlyConfiguredKeys
from security.models import AuditChainHead, AuditEntry
from tests.factories import MemberFactory
from worker.schedule import BEAT_SCHEDULE
from worker.tasks import write_audit_checkpoint

pytestmark = pytest.mark.django_db

KEY_A = "YGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6e3x9fn8="
KEY_B = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="


@pytest.fixture
def member() -> Member:
    return MemberFactory()


@pytest.fixture
def chain(member: Member) -> list[AuditEntry]:
    return [record(actor=member, action="member.read", target=member) for _ in range(3)]


def test_it_writes_a_signed_checkpoint_of_the_head(chain: list[AuditEntry], tmp_path: Path) -> None:
    out = StringIO()
    call_command("audit_checkpoint", "--dir", str(tmp_path), stdout=out)

    (path,) = tmp_path.glob("audit-checkpoint-*.json")
    assert path.name.startswith("audit-checkpoint-000000000003-")
    assert out.getvalue().strip() == (
        f"Checkpoint at sequence 3 (entry #{chain[2].pk}) written to {path}."
    )
    checkpoint = parse_checkpoint(path.read_text(), keys=checkpoint_keys_from_settings())
    assert (checkpoint.sequence, checkpoint.entry_id, checkpoint.head) == (
        3,
        chain[2].pk,
        chain[2].hash,
    )
    assert checkpoint.key_id == "testcp1"
    assert not list(tmp_path.glob(".checkpoint-*"))  # no temporary file left behind


def test_it_prints_a_checkpoint_instead(chain: list[AuditEntry], tmp_path: Path) -> None:
    out = StringIO()
    call_command("audit_checkpoint", "--print", "--dir", str(tmp_path), stdout=out)

    document = json.loads(out.getvalue())
    assert (document["sequence"], document["head"]) == (3, chain[2].hash)
    assert not list(tmp_path.iterdir())
    checkpoint = parse_checkpoint(out.getvalue(), keys=checkpoint_keys_from_settings())
    assert verify_chain([checkpoint]).checkpoints == 1


def test_it_checkpoints_an_empty_trail(tmp_path: Path) -> None:
    call_command("audit_checkpoint", "--dir", str(tmp_path), stdout=StringIO())

    (checkpoint,) = read_checkpoints([tmp_path])
    assert (checkpoint.sequence, checkpoint.entry_id, checkpoint.head) == (0, None, GENESIS_HASH)
    assert verify_chain([checkpoint]).ok


def test_it_refuses_to_sign_a_rewritten_head(chain: list[AuditEntry], tmp_path: Path) -> None:
    AuditChainHead.objects.update(last_hash="f" * 64)

    with pytest.raises(CommandError, match="no checkpoint taken: the chain head's hash differs"):
        call_command("audit_checkpoint", "--dir", str(tmp_path), stdout=StringIO())

    assert not list(tmp_path.iterdir())


def test_it_refuses_to_sign_a_head_sealed_under_another_key(
    chain: list[AuditEntry], tmp_path: Path, settings
) -> None:
    settings.AUDIT_KEYS = f"testaudit1:{KEY_B}"

    with pytest.raises(CommandError, match="does not match its seal under key 'testaudit1'"):
        call_command("audit_checkpoint", "--dir", str(tmp_path), stdout=StringIO())


def test_the_hourly_task_writes_and_logs_a_checkpoint(
    chain: list[AuditEntry], tmp_path: Path, settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings.AUDIT_CHECKPOINT_DIR = tmp_path / "checkpoints"

    with caplog.at_level(logging.INFO, logger="security.audit"):
        assert write_audit_checkpoint() == 3

    (checkpoint,) = read_checkpoints([settings.AUDIT_CHECKPOINT_DIR])
    assert checkpoint.head == chain[2].hash
    (message,) = [r.getMessage() for r in caplog.records if r.name == "security.audit"]
    assert message.startswith("audit checkpoint {")
    assert checkpoint.signature in message


def test_beat_runs_the_checkpoint_task() -> None:
    entry = BEAT_SCHEDULE["security-audit-checkpoint"]

    assert import_string(entry["task"]) is write_audit_checkpoint


def test_a_checkpoint_with_a_broken_signature_is_refused(
    chain: list[AuditEntry], tmp_path: Path
) -> None:
    call_command("audit_checkpoint", "--dir", str(tmp_path), stdout=StringIO())
    (path,) = tmp_path.glob("*.json")
    document = json.loads(path.read_text())
    document["signature"] = "not base64!"
    path.write_text(json.dumps(document))

    with pytest.raises(CheckpointError, match="the signature does not match"):
        read_checkpoints([path])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "AUDIT_KEYS is empty"),
        (KEY_A, "expected 'id:base64key'"),
        (f"a1:{KEY_A},a1:{KEY_B}", "duplicate key id 'a1'"),
        ("a1:c2hvcnQ=", "at least 32 bytes"),
        ("a1:not*base64", "not valid base64"),
        (f"bad id:{KEY_A}", "invalid key id"),
    ],
)
def test_it_refuses_malformed_audit_keys_without_echoing_them(spec: str, message: str) -> None:
    with pytest.raises(ImproperlyConfiguredKeys, match=message) as error:
        parse_audit_keys(spec)

    assert KEY_A not in str(error.value)


def test_it_refuses_a_checkpoint_key_of_the_wrong_size() -> None:
    with pytest.raises(ImproperlyConfiguredKeys, match="an Ed25519 private key is 32 bytes"):
        parse_checkpoint_keys("cp1:c2hvcnQ=")


def test_the_first_audit_key_seals(member: Member, settings) -> None:
    settings.AUDIT_KEYS = f"newer:{KEY_B},older:{KEY_A}"

    entry = record(actor=member, action="member.read", target=member)

    assert (entry.key_id, parse_audit_keys(settings.AUDIT_KEYS).ids) == (
        "newer",
        ("newer", "older"),
    )
