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

The trail is split into chains (shards, AUDIT_SHARDS). A checkpoint of a trail with only
shard 0 is written in version 1, exactly as before sharding. Once other shards exist it is
written in version 2, which lists every shard's head (`shards`) under the same signature;
its top-level `sequence` is then the number of entries it covers (the sum), `entry_id` the
newest head entry and `head` a digest of the list, so that file names still sort by age.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from security.audit_keys import CheckpointKeys, UnknownAuditKey

FORMAT = "cpts-liaison-audit-checkpoint"
VERSION = 1  # shard 0 only
SHARDED_VERSION = 2  # with the list of every shard's head
_HEX64 = frozenset("0123456789abcdef")


class CheckpointError(ValueError):
    """A checkpoint file that cannot be trusted: unreadable, malformed or badly signed."""


@dataclass(frozen=True)
class ShardHead:
    """Where one chain stood: its number of entries, its last entry's id and hash."""

    shard: int
    sequence: int
    entry_id: int | None
    head: str


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
    shards: tuple[ShardHead, ...] = ()  # every shard's head (version 2); empty in version 1

    @property
    def version(self) -> int:
        return SHARDED_VERSION if self.shards else VERSION

    def heads(self) -> tuple[ShardHead, ...]:
        """Every chain's head as checkpointed: shard 0's alone for a version 1 checkpoint."""
        if self.shards:
            return self.shards
        return (ShardHead(0, self.sequence, self.entry_id, self.head),)

    def signed_bytes(self) -> bytes:
        content: dict[str, Any] = {
            "format": FORMAT,
            "version": self.version,
            "sequence": self.sequence,
            "entry_id": self.entry_id,
            "head": self.head,
            "checkpointed_at": self.checkpointed_at,
            "key_id": self.key_id,
        }
        if self.shards:
            content["shards"] = [asdict(shard) for shard in self.shards]
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return f"{FORMAT}/v{self.version}\n".encode("ascii") + canonical.encode("ascii")

    def to_json(self) -> str:
        document = {"format": FORMAT, "version": self.version, **asdict(self)}
        document.pop("source")
        if not self.shards:
            document.pop("shards")
        return json.dumps(document, indent=2, sort_keys=True) + "\n"

    @property
    def name(self) -> str:
        return self.source or f"checkpoint at sequence {self.sequence}"


def sign_checkpoint(
    *, sequence: int, entry_id: int | None, head: str, at: datetime, keys: CheckpointKeys
) -> Checkpoint:
    """A version 1 checkpoint: the trail has shard 0 only."""
    unsigned = Checkpoint(
        sequence=sequence,
        entry_id=entry_id,
        head=head,
        checkpointed_at=at.isoformat(),
        key_id=keys.signing_id,
    )
    return _signed(unsigned, keys)


def sign_sharded_checkpoint(
    heads: list[ShardHead], *, at: datetime, keys: CheckpointKeys
) -> Checkpoint:
    """A version 2 checkpoint covering every shard's head in `heads`."""
    shards = tuple(sorted(heads, key=lambda head: head.shard))
    entry_ids = [head.entry_id for head in shards if head.entry_id is not None]
    unsigned = Checkpoint(
        sequence=sum(head.sequence for head in shards),
        entry_id=max(entry_ids, default=None),
        head=_digest(shards),
        checkpointed_at=at.isoformat(),
        key_id=keys.signing_id,
        shards=shards,
    )
    return _signed(unsigned, keys)


def _signed(unsigned: Checkpoint, keys: CheckpointKeys) -> Checkpoint:
    signature = base64.b64encode(keys.sign(unsigned.signed_bytes())).decode("ascii")
    return replace(unsigned, signature=signature)


def _digest(shards: tuple[ShardHead, ...]) -> str:
    canonical = json.dumps([asdict(shard) for shard in shards], sort_keys=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def parse_checkpoint(text: str, *, keys: CheckpointKeys, source: str = "") -> Checkpoint:
    """The checkpoint in `text`, its signature checked; CheckpointError if it cannot be trusted."""
    where = source or "checkpoint"
    try:
        document = json.loads(text)
    except ValueError:
        raise CheckpointError(f"{where}: not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CheckpointError(f"{where}: not an audit checkpoint")
    version = document.get("version")
    if version not in (VERSION, SHARDED_VERSION) or isinstance(version, bool):
        raise CheckpointError(f"{where}: unknown checkpoint version {version!r}")
    shards = _shards(document, where) if version == SHARDED_VERSION else ()
    checkpoint = Checkpoint(
        sequence=_field(document, "sequence", int, where),
        entry_id=_field(document, "entry_id", int | None, where),
        head=_field(document, "head", str, where),
        checkpointed_at=_field(document, "checkpointed_at", str, where),
        key_id=_field(document, "key_id", str, where),
        signature=_field(document, "signature", str, where),
        source=source,
        shards=shards,
    )
    heads: tuple[Checkpoint | ShardHead, ...] = (checkpoint, *shards)
    if any(_malformed(head) for head in heads):
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


def _shards(document: dict[str, Any], where: str) -> tuple[ShardHead, ...]:
    items = document.get("shards")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise CheckpointError(f"{where}: missing or malformed 'shards'")
    shards = tuple(
        ShardHead(
            shard=_field(item, "shard", int, where),
            sequence=_field(item, "sequence", int, where),
            entry_id=_field(item, "entry_id", int | None, where),
            head=_field(item, "head", str, where),
        )
        for item in items
    )
    if len({head.shard for head in shards}) != len(shards) or min(h.shard for h in shards) < 0:
        raise CheckpointError(f"{where}: malformed 'shards'")
    return shards


def _malformed(head: Checkpoint | ShardHead) -> bool:
    return head.sequence < 0 or len(head.head) != 64 or bool(set(head.head) - _HEX64)


def _field(document: dict[str, Any], name: str, kind: Any, where: str) -> Any:
    value = document.get(name)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise CheckpointError(f"{where}: missing or malformed {name!r}")
    return value
