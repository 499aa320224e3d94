"""Signed checkpoints of the audit chain: (sequence, head hash, time), kept outside the database.

Why: the entries' HMACs stop a database superuser from rewriting entries, but not from
cutting the chain short. Removing the last entries and resetting the head row to an earlier
(genuine) state leaves a chain that verifies. A checkpoint written elsewhere (a file the
auditor keeps, the logs) remembers how far the chain went; `verify_audit --checkpoint FILE`
then insists that the checkpointed entry is still there, at the same position, with the
same hash.

A checkpoint is a small JSON document signed with Ed25519 (AUDIT_CHECKPOINT_SIGNING_KEY):
anyone with the public key can check that it is genuine, nobody without the private key can
make one. This module only builds, signs, writes and reads checkpoints; taking one from the
database and checking it against the chain is security.audit's job.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from security.audit_keys import CheckpointKeys, UnknownAuditKey

FORMAT = "cpts-liaison-audit-checkpoint"
VERSION = 1
_SIGNED_PREFIX = f"{FORMAT}/v{VERSION}\n".encode("ascii")
_HEX64 = frozenset("0123456789abcdef")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted: unreadable, malformed or badly signed."""


@dataclass(frozen=True)
class Checkpoint:
    """Where the chain stood when the checkpoint was taken.

    `sequence` is the number of entries at that time (0 for an empty chain), `head` the hash
    of the entry at that position (the genesis hash for an empty chain), `entry_id` its row id,
    for the humans reading a report.
    """

    sequence: int
    entry_id: int | None
    head: str
    checkpointed_at: str  # ISO 8601, UTC
    key_id: str
    signature: str = ""  # base64 Ed25519 signature of everything else
    source: str = ""  # the file it was read from, for reports; not signed, not written

    def signed_bytes(self) -> bytes:
        content = {
            "format": FORMAT,
            "version": VERSION,
            "sequence": self.sequence,
            "entry_id": self.entry_id,
            "head": self.head,
            "checkpointed_at": self.checkpointed_at,
            "key_id": self.key_id,
        }
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return _SIGNED_PREFIX + canonical.encode("ascii")

    def to_json(self) -> str:
        document = {"format": FORMAT, "version": VERSION, **asdict(self)}
        document.pop("source")
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @property
    def name(self) -> str:
        return self.source or f"checkpoint at sequence {self.sequence}"


def sign_checkpoint(
    *, sequence: int, entry_id: int | None, head: str, at: datetime, keys: CheckpointKeys
) -> Checkpoint:
    unsigned = Checkpoint(
        sequence=sequence,
        entry_id=entry_id,
        head=head,
        checkpointed_at=at.isoformat(),
        key_id=keys.signing_id,
    )
    signature = base64.b64encode(keys.sign(unsigned.signed_bytes())).decode("ascii")
    return Checkpoint(**{**asdict(unsigned), "signature": signature})


def parse_checkpoint(text: str, *, keys: CheckpointKeys, source: str = "") -> Checkpoint:
    """The checkpoint in `text`, its signature checked; CheckpointError if it cannot be trusted."""
    where = source or "checkpoint"
    try:
        document = json.loads(text)
    except ValueError:
        raise CheckpointError(f"{where}: not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"{where}: not an audit checkpoint")
    if document.get("version") != VERSION:
        raise CheckpointError(f"{where}: unknown checkpoint version {document.get('version')!r}")
    checkpoint = Checkpoint(
        sequence=_field(document, "sequence", int, where),
        entry_id=_field(document, "entry_id", int | None, where),
        head=_field(document, "head", str, where),
        checkpointed_at=_field(document, "checkpointed_at", str, where),
        key_id=_field(document, "key_id", str, where),
        signature=_field(document, "signature", str, where),
        source=source,
    )
    if checkpoint.sequence < 0 or len(checkpoint.head) != 64 or set(checkpoint.head) - _HEX64:
        raise CheckpointError(f"{where}: malformed sequence or head")
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        genuine = keys.verify(checkpoint.key_id, signature, checkpoint.signed_bytes())
    except binascii.Error:
        genuine = False
    except UnknownAuditKey:
        raise CheckpointError(
            f"{where}: signed with key {checkpoint.key_id!r}, which is neither "
            "AUDIT_CHECKPOINT_SIGNING_KEY nor listed in AUDIT_CHECKPOINT_PUBLIC_KEYS"
        ) from None
    if not genuine:
        raise CheckpointError(
            f"{where}: the signature does not match (the file was edited, or signed by another key)"
        )
    return checkpoint


def read_checkpoint(path: Path, *, keys: CheckpointKeys) -> Checkpoint:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot be read ({error.__class__.__name__})") from None
    return parse_checkpoint(text, keys=keys, source=str(path))


def write_checkpoint_file(checkpoint: Checkpoint, directory: Path) -> Path:
    """Write `checkpoint` to a new file of `directory`, atomically, and return its path.

    Named by sequence then time, so a directory listing is in chain order. Written to a
    temporary file then renamed: a crash never leaves half a checkpoint to alarm an auditor.
    """
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(checkpoint.checkpointed_at).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"audit-checkpoint-{checkpoint.sequence:012d}-{stamp}.json"
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".checkpoint-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(checkpoint.to_json())
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _field(document: dict[str, Any], name: str, kind: Any, where: str) -> Any:
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise CheckpointError(f"{where}: missing or malformed {name!r}")
    return value
