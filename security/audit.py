"""The audit trail: `record()` appends one sealed entry to a chain, `verify_chain()` checks it.

Invariants this module owns:

- **Same transaction.** An entry is written in the caller's transaction, so a change and its
  audit entry commit together or not at all (Zulip's RealmAuditLog). A rolled-back change
  leaves no entry and does not move the chain.
- **One chain, sealed with a key.** Each entry stores the hash of the previous one, its own
  position (`sequence`) and an HMAC-SHA256 over all of it under an AUDIT_KEYS key
  (security.audit_keys), which never lives in the database. Editing, removing, inserting or
  reordering rows behind the application's back breaks a seal or a link, even for a
  database superuser who recomputes every hash after the row they changed: without the key
  they cannot recompute the seals. `manage.py verify_audit` says where.
- **Checkpoints outside the database.** Seals do not stop someone from cutting the chain
  short (removing the last entries and resetting the head to an earlier, genuine state).
  `take_checkpoint()` signs where the chain stands (security.audit_checkpoints); the files
  are kept away from the database, and `verify_chain(checkpoints=...)` insists that each
  checkpointed entry is still in the chain. docs/security.md gives the threat model.
- **No health data.** Entries hold codes (UUIDs), action names, the request's IP and user
  agent, and a small `extra` dict of codes, counts and short labels. Never clinical content,
  never a patient's identity (INS, name, birth date): the trail is read by the coordination
  and kept for years, long after the clinical data it points at is purged. `record()` refuses
  `extra` keys that look like such data; that is a tripwire, not a guarantee, so reviewers
  check every `extra=` too.

Entries written before the audit keys existed (an upgraded installation) have no key id and
no stored sequence. They are checked the old way, by their unkeyed SHA-256 chain, and only
as the first AUDIT_LEGACY_ENTRIES entries, a count kept outside the database; the first
sealed entry's HMAC covers the last of their hashes, which pins them from then on.

**Several chains (shards).** Appending locks a chain's head row until the caller's
transaction ends: that is what keeps a chain a single line. With one chain every audited
write in the service would queue on that one row, so the trail is split into AUDIT_SHARDS
chains, each with its own head (primary key `shard + 1`), its own positions from 1 and its
own genesis hash. Each writer (thread) has a chain of its own: the one it used last, else
its home chain (`_home_shard`, distinct for consecutive processes), created by its first
append, so a transaction that appends twice stays on one chain and writers do not share.
Only when its chain is held by another transaction does an append take the first head
nobody else holds (SELECT ... FOR UPDATE SKIP LOCKED), and it waits only when every chain
is held. A thread that wrote its chain's last entry remembers it, and its next append is one
guarded statement that does all of that at once if the head still ends there (`_append`;
docs/security.md, "An append in one statement"): with a chain per writer, every append but
a writer's first. Entries from shard 1 on seal their shard too, so an entry cannot be moved
between chains; shard 0 seals exactly as before sharding, so an upgraded trail verifies
unchanged. Heads are created on demand: about one chain per process that appended (at most
AUDIT_SHARDS). `verify_chain` walks every chain, and a checkpoint covers every chain's head.
What is lost is one total order across chains: entries of different chains are ordered by
their time and id only, which the database assigns and a tamperer controls; within a chain
the order is sealed.

Callers keep appends cheap by calling `record()` last in their transaction, after slow work
(file encryption, e-mail rendering) and after taking their own row locks, which also keeps
the lock order the same everywhere (no deadlocks: a transaction waits for a head only when
it holds none). On SQLite the database-wide write lock serialises writers anyway;
transactions must begin IMMEDIATE for a second writer to wait its turn; with SQLite's
default (DEFERRED) it fails at once with "database is locked" (the chain stays intact either
way). `bench/audit.py` measures audited against plain writes at 4, 16 and 64 writers, the
minimal write and a message post through its service (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import itertools
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Model
from django.db.models.functions import Mod
from django.utils.timezone import now

from security.actions import ACTION_PATTERN, MAX_ACTION_LENGTH, is_declared
from security.audit_checkpoints import (
    Checkpoint,
    CheckpointError,
    ShardHead,
    read_checkpoint,
    sign_checkpoint,
    sign_sharded_checkpoint,
    write_checkpoint_file,
)
from security.audit_keys import AuditKeys, audit_keys_from_settings, checkpoint_keys_from_settings
from security.models import AuditChainHead, AuditEntry
from security.principals import Actor
from security.request_context import current_request_context

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64  # the prev_hash of the first entry of shard 0
HEAD_PK = 1  # shard 0's head; the head of shard s has the key HEAD_PK + s (see _locked_head)
# Domain separation: an entry's seal can never be mistaken for another HMAC under the key.
SEAL_PREFIX = b"cpts-liaison-audit-entry/v1\n"
MAX_EXTRA_STRING = 200

# Words that, as part of an `extra` key, announce clinical content, identity or a secret.
# Keys are split into words (snake_case, camelCase, dots, dashes), so "patient_ins",
# "birthDate" and "body_ciphertext" are refused while "instance_count" is not.
FORBIDDEN_EXTRA_WORDS = frozenset(
    {
        # patient identity
        "ins", "nir", "name", "names", "nom", "prenom", "surname", "firstname", "lastname",
        "birth", "birthdate", "dob", "naissance", "address", "adresse", "phone", "telephone",
        "email",
        # clinical content
        "body", "content", "text", "note", "notes", "comment", "comments", "diagnosis",
        "diagnostic", "summary", "observation", "plaintext", "ciphertext",
        # secrets
        "password", "secret", "token",
    }
)  # fmt: skip
_WORD_BOUNDARY = re.compile(r"[^a-z0-9]+")
_CAMEL_HUMP = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def record(
    *,
    actor: Actor | None,
    action: str,
    target: Model | None = None,
    extra: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Append an entry saying that `actor` did `action` to `target`, and return it.

    Call it inside the transaction that makes the change, so that both commit or roll back
    together; outside a transaction (an audited read in a selector) it commits on its own.
    `actor` is None for the system (a worker, a command). `target` is identified by its
    public `code`; `extra` holds codes, counts and short labels only (see the module
    docstring). The IP and user agent come from the current request, if any.

    Raises ValueError for an action not shaped `<model>.<verb>`, a target without a public
    code, or an `extra` that looks like health data: these are bugs, and failing loudly
    rolls the caller's change back rather than recording something we must not keep. An
    action no app declared (security.actions) raises too when AUDIT_STRICT_ACTIONS is on
    (DEBUG, tests); in production it is logged and recorded, never lost.
    """
    if len(action) > MAX_ACTION_LENGTH or not ACTION_PATTERN.fullmatch(action):
        raise ValueError(f"audit action {action!r} is not shaped '<model>.<verb>'")
    if not is_declared(action):
        if settings.AUDIT_STRICT_ACTIONS:
            raise ValueError(
                f"audit action {action!r} is not declared: register_action() it in the "
                "actions.py of its app"
            )
        logger.error("audit action %r is not declared; recorded all the same", action)
    target_type, target_code = _describe(target)
    checked_extra = _checked_value(dict(extra or {}), "extra")
    context = current_request_context()
    keys = audit_keys_from_settings()  # before the lock: a configuration error fails early

    fields = {
        "actor_id": actor.pk if actor is not None else None,
        "actor_code": actor.code if actor is not None else None,
        "action": action,
        "target_type": target_type,
        "target_code": target_code,
        "ip": _clean(context.ip, 45),
        "user_agent": _clean(context.user_agent, 300),
        "extra": checked_extra,
        "key_id": keys.current_id,
    }
    # savepoint=False: inside the caller's transaction this adds no query, and a failure
    # here dooms the caller's transaction, which is what "commit together" means.
    with transaction.atomic(savepoint=False):
        known = _known_head()
        if known is not None:
            # The fast path: this thread wrote the head's last entry, so it knows the link
            # and the position without reading them; the statement checks that the head is
            # still there (and free) and appends in one round trip, or does nothing.
            entry = _sealed(fields, known, keys)
            if _append(entry, after=known.prev_hash):
                return entry
            # Another writer appended to that chain or holds it. This transaction holds no
            # head (it would have found its own there), so it may start again from its
            # thread's home chain: from the chain it lost, it would take the next one in
            # turn, that writer's, which displaces that writer in turn, and so on, until
            # every append costs three statements instead of one.
            _affinity.shard = _home_shard(settings.AUDIT_SHARDS)
        head = _locked_head()
        shard = head.pk - HEAD_PK
        # created_at is taken under the lock: times follow the chain order.
        position = _Position(shard, head.last_sequence, head.last_hash or genesis_hash(shard))
        entry = _sealed(fields, position, keys)
        if not _append(entry, after=head.last_hash):
            raise AuditTrailBroken(
                f"the head of chain {shard} moved while this transaction held it"
            )
    return entry


@dataclass(frozen=True)
class _Position:
    """Where a chain stands: its shard, the sequence and the hash of its last entry (the
    genesis hash for an empty chain), i.e. the next entry's `prev_hash`."""

    shard: int
    last_sequence: int
    prev_hash: str


def _sealed(fields: Mapping[str, Any], position: _Position, keys: AuditKeys) -> AuditEntry:
    """The entry that follows `position`, sealed, not yet saved."""
    entry = AuditEntry(
        created_at=now(),
        sequence=position.last_sequence + 1,
        shard=position.shard,
        prev_hash=position.prev_hash,
        **fields,
    )
    entry.hash = entry_hash(entry, keys)
    return entry


_ENTRY_FIELDS = [field for field in AuditEntry._meta.concrete_fields if not field.primary_key]


def _append(entry: AuditEntry, *, after: str) -> bool:
    """Insert `entry` and move its chain's head onto it, if the head still ends with `after`
    (its `last_hash`; "" for a chain without entries) and no other transaction holds it.

    On PostgreSQL one statement: the head is locked (SKIP LOCKED: a head held by another
    transaction is not waited for, the caller takes another), moved, and the entry inserted
    with the id the head now names. On SQLite two, the insert guarded by the head's hash
    then the head's move: its database-wide write lock keeps them together. Returns False
    when the head was not where `after` says (nothing written); remembers the new position
    for this thread's next append otherwise.
    """
    db = connections[DEFAULT_DB_ALIAS]  # the proxy `connection` costs a lookup per use
    values = [field.get_db_prep_save(getattr(entry, field.attname), db) for field in _ENTRY_FIELDS]
    append, move = _append_statements(db.vendor)
    head_pk = entry.shard + HEAD_PK
    with _append_cursor(db) as cursor:
        if move is None:
            cursor.execute(append, [entry.hash, entry.sequence, head_pk, after, *values])
            row = cursor.fetchone()
        else:
            cursor.execute(append, [*values, head_pk, after])
            row = cursor.fetchone()
            if row is not None:
                cursor.execute(move, [row[0], entry.hash, entry.sequence, head_pk])
    if row is None:
        _forget_head()
        return False
    entry.pk = row[0]
    entry._state.adding = False
    entry._state.db = db.alias
    _affinity.shard = entry.shard
    _affinity.head = _Position(entry.shard, entry.sequence or 0, entry.hash)  # never None here
    return True


def _append_cursor(db: BaseDatabaseWrapper) -> Any:
    """A cursor for the append. On PostgreSQL one that binds its parameters on the server
    (the extended protocol, no prepared statement: poolers are fine with it), where Django's
    quotes each of the seventeen values into the SQL text: that quoting was a quarter of an
    append's client CPU. Wrapped as `db.cursor()` wraps, so query logging, counting and
    execute wrappers see the append like any other statement."""
    if db.vendor != "postgresql":
        return db.cursor()
    import psycopg  # noqa: PLC0415  (PostgreSQL only)

    db.validate_thread_sharing()
    db.ensure_connection()
    raw: Any = psycopg.Cursor(db.connection)  # the stubs want a wrapper: it is what we make
    return db.make_debug_cursor(raw) if db.queries_logged else db.make_cursor(raw)


@functools.cache
def _append_statements(vendor: str) -> tuple[str, str | None]:
    """The SQL of `_append` for `vendor`: the guarded append, and the head's move when it
    takes a second statement. Built once per process: building it cost more than running
    it (names quoted, column types looked up for every append)."""
    db = connections[DEFAULT_DB_ALIAS]
    quote = db.ops.quote_name
    entry_table = quote(AuditEntry._meta.db_table)
    head_table = quote(AuditChainHead._meta.db_table)
    columns = ", ".join(quote(field.column) for field in _ENTRY_FIELDS)
    if vendor == "postgresql":
        casts = ", ".join(f"%s::{field.cast_db_type(db)}" for field in _ENTRY_FIELDS)  # type: ignore[attr-defined]
        return (
            f"WITH head AS (UPDATE {head_table} SET "  # noqa: S608  names from the models
            f"last_entry_id = nextval(pg_get_serial_sequence('{entry_table}', 'id')), "
            "last_hash = %s, last_sequence = %s "
            f"WHERE id = (SELECT id FROM {head_table} WHERE id = %s AND last_hash = %s "
            "FOR UPDATE SKIP LOCKED) RETURNING last_entry_id) "
            f"INSERT INTO {entry_table} (id, {columns}) "
            f"SELECT last_entry_id, {casts} FROM head RETURNING id"
        ), None
    placeholders = ", ".join(["%s"] * len(_ENTRY_FIELDS))
    return (
        f"INSERT INTO {entry_table} ({columns}) SELECT {placeholders} "  # noqa: S608
        f"WHERE EXISTS (SELECT 1 FROM {head_table} WHERE id = %s AND last_hash = %s) "
        "RETURNING id"
    ), (
        f"UPDATE {head_table} SET last_entry_id = %s, last_hash = %s, "  # noqa: S608
        "last_sequence = %s WHERE id = %s"
    )


def _known_head() -> _Position | None:
    """The position this thread last appended at, if it still wants that chain.

    It may be stale (the transaction rolled back, another thread took the chain since, the
    test database was emptied): `_append` checks it against the head and falls back to
    reading the head, so staleness costs one statement, never a wrong link.
    """
    known: _Position | None = getattr(_affinity, "head", None)
    if known is None or known.shard >= settings.AUDIT_SHARDS:
        return None
    if getattr(_affinity, "shard", None) != known.shard:
        return None  # steered to another chain since (tests do it)
    return known


def _forget_head() -> None:
    """Drop what this thread knows of its chain's head (a forked process: its parent's)."""
    _affinity.__dict__.pop("head", None)


def _forget_chain_after_fork() -> None:
    """A forked process starts from its own home chain, not from its parent's chain, which
    every sibling would otherwise share (gunicorn forks its workers from one master)."""
    _affinity.__dict__.pop("head", None)
    _affinity.__dict__.pop("shard", None)


_thread_numbers = itertools.count()


def _home_shard(shards: int) -> int:
    """The chain this thread starts from, and creates if it does not exist: its process id
    modulo the chains, so that the workers a server forks one after the other (consecutive
    ids) have distinct chains while there are no more of them than AUDIT_SHARDS; a
    process's further threads are spread from there (7919 is a prime, so AUDIT_SHARDS
    threads of one process get AUDIT_SHARDS distinct chains). A hash of the ids instead
    sent a quarter of 16 writers onto a chain another already had, and each such pair kept
    displacing each other."""
    number = getattr(_affinity, "number", None)
    if number is None:
        number = _affinity.number = next(_thread_numbers)
    return (os.getpid() + 7919 * number) % shards


def genesis_hash(shard: int) -> str:
    """The prev_hash of a chain's first entry: distinct per shard, so that no two chains can
    share a link (prev_hash is unique across the trail) and a chain's first entry cannot be
    moved to another chain's start. Shard 0 keeps the genesis of the unsharded trail."""
    if shard == 0:
        return GENESIS_HASH
    return hashlib.sha256(f"cpts-liaison-audit-genesis/shard/{shard}".encode("ascii")).hexdigest()


def entry_hash(entry: AuditEntry, keys: AuditKeys | None = None) -> str:
    """The entry's seal: HMAC-SHA256, under its `key_id`'s key, of its link and content.

    The seal covers the previous entry's hash (the chain), the entry's position and chain
    (so it cannot be moved; shard 0 leaves its shard out, as before sharding, which no
    other shard can mimic) and its key id (so it cannot claim another key). The database id is
    left out: it is only known after the INSERT, and the sequence fixes the order. The
    actor's member id is left out too; actor_code stands for it, and verify_chain checks
    the two agree. Raises UnknownAuditKey if the key id is not in AUDIT_KEYS.
    """
    key = (keys or audit_keys_from_settings()).get(entry.key_id)
    sealed = {
        **_content(entry),
        "sequence": entry.sequence,
        "key_id": entry.key_id,
        "prev_hash": entry.prev_hash,
    }
    if entry.shard:
        sealed["shard"] = entry.shard
    # hmac.digest: OpenSSL's one-shot HMAC, a third of the cost of an hmac.new object.
    return hmac.digest(key, SEAL_PREFIX + _canonical(sealed), "sha256").hex()


def legacy_entry_hash(entry: AuditEntry) -> str:
    """The unkeyed hash of the entries written before the audit keys existed.

    sha256 of the previous hash followed by the content, canonically: anyone can compute
    it, which is why it is only accepted for the first AUDIT_LEGACY_ENTRIES entries.
    """
    return hashlib.sha256(entry.prev_hash.encode("ascii") + _canonical(_content(entry))).hexdigest()


def _content(entry: AuditEntry) -> dict[str, Any]:
    return {
        "created_at": entry.created_at.astimezone(UTC).isoformat(),
        "actor_code": str(entry.actor_code) if entry.actor_code is not None else None,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_code": str(entry.target_code) if entry.target_code is not None else None,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "extra": entry.extra,
    }


# What json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True) builds
# on each call, built once: the same bytes, without an encoder per seal.
_CANONICAL_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _canonical(content: Mapping[str, Any]) -> bytes:
    return _CANONICAL_ENCODER.encode(content).encode("ascii")


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking the chains: how many entries, and the first problem if any.

    `shard`, `sequence` and `entry_id` name the first bad row: its chain, its position in
    that chain and its database id (None when the row is missing, e.g. entries cut after a
    checkpoint). `entries` counts the entries read in every chain, `legacy_entries` those
    checked the unkeyed way, `checkpoints` the checkpoints found whole in the chains.
    """

    entries: int
    problem: str = ""
    entry_id: int | None = None
    sequence: int | None = None
    legacy_entries: int = 0
    checkpoints: int = 0
    shard: int = 0

    @property
    def ok(self) -> bool:
        return not self.problem


class AuditTrailBroken(RuntimeError):
    """The chain does not verify where it had to (taking a checkpoint of a broken head)."""


def verify_chain(checkpoints: Iterable[Checkpoint] = ()) -> ChainVerification:
    """Walk every chain in id order, check every seal, link and position, the heads and the
    checkpoints.

    Chains are walked one after the other, shard 0 first, and the walk stops at the first
    problem. `checkpoints` (signatures already checked, see `read_checkpoints`) must each
    still be in the chains: for every shard it covers, the entry at its sequence with its
    hash. The walk reads one consistent snapshot (REPEATABLE READ on PostgreSQL, without
    blocking writers), so entries appended meanwhile are not mistaken for tampering. On
    SQLite the read transaction holds off writers until the walk ends, which is acceptable
    at demo scale.
    """
    keys = audit_keys_from_settings()
    checkpoints = list(checkpoints)
    with transaction.atomic():
        if connection.vendor == "postgresql" and _is_outermost_atomic_block():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        heads = {head.pk - HEAD_PK: head for head in AuditChainHead.objects.all()}
        shards = set(heads) | set(
            AuditEntry.objects.order_by().values_list("shard", flat=True).distinct()
        )
        expected: dict[int, list[tuple[ShardHead, Checkpoint]]] = {}
        for checkpoint in checkpoints:
            for part in checkpoint.heads():
                expected.setdefault(part.shard, []).append((part, checkpoint))
        shards |= set(expected)
        total = legacy = 0
        for shard in sorted(shards | {0}):
            result = _walk(
                shard,
                heads.get(shard),
                keys,
                settings.AUDIT_LEGACY_ENTRIES if shard == 0 else 0,
                expected.get(shard, []),
            )
            total += result.entries
            legacy += result.legacy_entries
            if not result.ok:
                return replace(result, entries=total, legacy_entries=legacy)
    return ChainVerification(total, legacy_entries=legacy, checkpoints=len(checkpoints))


def read_checkpoints(paths: Iterable[Path]) -> list[Checkpoint]:
    """The checkpoints in these files (a directory stands for its checkpoint files).

    Raises CheckpointError for a file that cannot be trusted (unreadable, malformed, bad
    signature or unknown signing key): a forged checkpoint must not be silently skipped.
    """
    keys = checkpoint_keys_from_settings()
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(path.glob("audit-checkpoint-*.json"))
        else:
            files.append(path)
    return [read_checkpoint(file, keys=keys) for file in files]


def take_checkpoint(at: datetime | None = None) -> Checkpoint:
    """Sign where every chain stands now: (sequence, head hash) per shard and the time, for
    keeping elsewhere.

    Each head entry is checked first (present, sealed, at its position): signing a head
    that does not verify would bless tampering. The rest of the chains is not walked here,
    that is `verify_chain`'s job (run it regularly); a head that verifies is either genuine
    or a genuine earlier state, which the previous checkpoints then catch. The heads are
    read in one query, so the checkpoint is one consistent cut of every chain. A trail with
    shard 0 only gets a version 1 checkpoint, as before sharding.
    Raises AuditTrailBroken when a head does not verify.
    """
    keys = audit_keys_from_settings()
    signer = checkpoint_keys_from_settings()
    at = (at or now()).astimezone(UTC)
    with transaction.atomic():
        heads = [head for head in AuditChainHead.objects.order_by("pk") if head.last_entry_id]
        headless = AuditEntry.objects.exclude(shard__in=[head.pk - HEAD_PK for head in heads])
        if headless.exists():
            raise AuditTrailBroken("the audit trail has entries but no chain head")
        entries = AuditEntry.objects.annotate(member_code=F("actor__code")).in_bulk(
            [head.last_entry_id for head in heads]
        )
        legacy_limit = settings.AUDIT_LEGACY_ENTRIES
        for head in heads:
            entry = entries.get(head.last_entry_id)
            problem = _head_entry_problem(
                head, entry, keys, legacy_limit if head.pk == HEAD_PK else 0
            )
            if problem:
                raise AuditTrailBroken(
                    f"no checkpoint taken: {_in_shard(head.pk - HEAD_PK, problem)}"
                )
    parts = [
        ShardHead(head.pk - HEAD_PK, head.last_sequence, head.last_entry_id, head.last_hash)
        for head in heads
    ]
    if all(part.shard == 0 for part in parts):
        (sequence, entry_id, head_hash) = (
            (parts[0].sequence, parts[0].entry_id, parts[0].head)
            if parts
            else (0, None, GENESIS_HASH)
        )
        return sign_checkpoint(
            sequence=sequence, entry_id=entry_id, head=head_hash, at=at, keys=signer
        )
    return sign_sharded_checkpoint(parts, at=at, keys=signer)


def write_checkpoint(directory: Path | None = None) -> tuple[Checkpoint, Path]:
    """Take a checkpoint and write it to a new file of AUDIT_CHECKPOINT_DIR (or `directory`).

    It is also logged, on one line: logs usually leave the machine, which makes a second
    copy out of the database's reach. A checkpoint holds no health data.
    """
    checkpoint = take_checkpoint()
    path = write_checkpoint_file(checkpoint, directory or Path(settings.AUDIT_CHECKPOINT_DIR))
    logger.info("audit checkpoint %s", checkpoint.to_json().replace("\n", " "))
    return checkpoint, path


@dataclass(frozen=True)
class CheckpointStatus:
    """The newest checkpoint file, and whether its entries are still in the chains, sealed.

    `head_sequence` counts the entries of every chain now, so `entries_since` is the number
    of entries appended since the checkpoint.
    """

    checkpoint: Checkpoint | None
    head_sequence: int
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.checkpoint is not None and not self.problem

    @property
    def entries_since(self) -> int:
        return self.head_sequence - self.checkpoint.sequence if self.checkpoint else 0


def latest_checkpoint_status(directory: Path | None = None) -> CheckpointStatus:
    """A cheap check for monitoring: the newest checkpoint of AUDIT_CHECKPOINT_DIR is genuine,
    and each entry it names (one per chain) is still at its sequence with its hash and a
    valid seal.

    A few rows read (the heads, then one entry per chain), whatever the size of the trail,
    so it can answer an API call; it does not walk the entries before the checkpoint nor
    after it (that is `verify_chain`, run by `verify_audit`). File names sort by sequence
    then time, so the newest is the last one.
    """
    head_sequence = sum(AuditChainHead.objects.values_list("last_sequence", flat=True))
    files = sorted(Path(directory or settings.AUDIT_CHECKPOINT_DIR).glob("audit-checkpoint-*.json"))
    if not files:
        return CheckpointStatus(None, head_sequence, "no checkpoint has been written")
    try:
        (checkpoint,) = read_checkpoints(files[-1:])
    except CheckpointError as error:
        return CheckpointStatus(None, head_sequence, str(error))
    for part in checkpoint.heads():
        if part.sequence == 0:
            continue
        entry = _entry_at(part.shard, part.sequence)
        if entry is None or entry.hash != part.head:
            problem = (
                f"the entry checkpointed at sequence {part.sequence} is no longer in the "
                "chain: entries were removed or replaced"
            )
        elif entry.key_id == "":
            problem = _legacy_problem(entry, None, linked=False)
        else:
            problem = _seal_problem(entry, audit_keys_from_settings())
        if problem:
            return CheckpointStatus(checkpoint, head_sequence, _in_shard(part.shard, problem))
    return CheckpointStatus(checkpoint, head_sequence)


def _in_shard(shard: int, problem: str) -> str:
    # Shard 0 speaks as the single chain did; other chains say which one they are.
    return f"shard {shard}: {problem}" if shard else problem


def _entry_at(shard: int, sequence: int) -> AuditEntry | None:
    entries = AuditEntry.objects.annotate(member_code=F("actor__code")).filter(shard=shard)
    if shard or sequence > settings.AUDIT_LEGACY_ENTRIES:
        return entries.filter(sequence=sequence).first()
    # Entries from before the keys store no sequence: their rank is their position.
    return entries.order_by("id")[sequence - 1 : sequence].first()


def _head_entry_problem(  # noqa: PLR0911  one return per way a head can be wrong
    head: AuditChainHead, entry: AuditEntry | None, keys: AuditKeys, legacy_limit: int
) -> str:
    if entry is None:
        return f"the chain head points at entry #{head.last_entry_id}, which does not exist"
    if entry.hash != head.last_hash:
        return f"the chain head's hash differs from entry #{entry.pk}'s"
    if entry.shard != head.pk - HEAD_PK:
        return f"the chain head points at entry #{entry.pk} of another chain"
    if entry.key_id == "":
        if head.last_sequence > legacy_limit:
            return f"entry #{entry.pk} at the head is not sealed with an audit key"
        return _legacy_problem(entry, None, linked=False)
    if entry.sequence != head.last_sequence:
        return f"the chain head's sequence differs from entry #{entry.pk}'s"
    return _seal_problem(entry, keys)


def _walk(
    shard: int,
    head: AuditChainHead | None,
    keys: AuditKeys,
    legacy_limit: int,
    checkpointed: Sequence[tuple[ShardHead, Checkpoint]],
) -> ChainVerification:
    """Verify one chain (shard) against its head and what the checkpoints say of it."""
    pending = sorted(
        (item for item in checkpointed if item[0].sequence > 0), key=lambda item: item[0].sequence
    )
    count = legacy = 0
    previous: AuditEntry | None = None
    entries = (
        AuditEntry.objects.filter(shard=shard).order_by("id").annotate(member_code=F("actor__code"))
    )

    def broken(problem: str, entry_id: int | None, sequence: int) -> ChainVerification:
        return ChainVerification(
            count, _in_shard(shard, problem), entry_id, sequence, legacy, shard=shard
        )

    for entry in entries.iterator(chunk_size=2000):
        count += 1
        problem = _entry_problem(entry, count, previous, keys, legacy_limit)
        while not problem and pending and pending[0][0].sequence == count:
            part, checkpoint = pending.pop(0)
            if entry.hash != part.head:
                problem = (
                    f"entry #{entry.pk} at sequence {count} is not the one checkpointed in "
                    f"{checkpoint.name} at {checkpoint.checkpointed_at} (entry "
                    f"#{part.entry_id}): the chain was cut back before this point and "
                    "has grown again since"
                )
        if problem:
            return broken(problem, entry.pk, count)
        legacy += entry.key_id == ""
        previous = entry
    last = f"entry #{previous.pk}" if previous is not None else "an empty trail"
    if count < legacy_limit:
        return broken(
            f"the trail ends at sequence {count} ({last}) but AUDIT_LEGACY_ENTRIES says "
            f"{legacy_limit} entries were written before the audit keys: entries were removed",
            None,
            count + 1,
        )
    if pending:
        part, checkpoint = pending[-1]
        return broken(
            f"the trail ends at sequence {count} ({last}) but {checkpoint.name} recorded "
            f"sequence {part.sequence} (entry #{part.entry_id}) at "
            f"{checkpoint.checkpointed_at}: entries after sequence {count} were removed",
            None,
            count + 1,
        )
    result = _check_head(head, previous, count)
    if result.problem:
        return broken(result.problem, result.entry_id, result.sequence or 0)
    return ChainVerification(count, legacy_entries=legacy, shard=shard)


def _entry_problem(
    entry: AuditEntry,
    position: int,
    previous: AuditEntry | None,
    keys: AuditKeys,
    legacy_limit: int,
) -> str:
    """What is wrong with the entry at `position` (from 1) after `previous`, or ""."""
    if entry.key_id == "":
        return _unsealed_problem(entry, position, previous, legacy_limit)
    if position <= legacy_limit:
        return (
            f"entry #{entry.pk} is sealed, but AUDIT_LEGACY_ENTRIES says the first "
            f"{legacy_limit} entries predate the audit keys: some of those were removed "
            "(or the setting is more than their number)"
        )
    if entry.key_id not in keys:
        return (
            f"entry #{entry.pk} is sealed with key {entry.key_id!r}, which is not in "
            "AUDIT_KEYS (an old key removed after a rotation?)"
        )
    link = _link_problem(entry, previous)
    if link:
        return link
    if entry.sequence != position:
        return (
            f"entry #{entry.pk} was sealed at sequence {entry.sequence} but sits at "
            f"{position}: entries were removed, inserted or reordered"
        )
    return _seal_problem(entry, keys)


def _unsealed_problem(
    entry: AuditEntry, position: int, previous: AuditEntry | None, legacy_limit: int
) -> str:
    """An entry without key: fine only among the first AUDIT_LEGACY_ENTRIES, the old way."""
    if position <= legacy_limit:
        return _legacy_problem(entry, previous)
    hint = ""
    if position == 1:
        unsealed = AuditEntry.objects.filter(key_id="").count()
        hint = (
            "; if the trail was upgraded from unkeyed entries, set AUDIT_LEGACY_ENTRIES to the "
            f"number of entries it held then ({unsealed} are unsealed now; see docs/security.md)"
        )
    return (
        f"entry #{entry.pk} is not sealed with an audit key: it was written or rewritten "
        f"outside record(){hint}"
    )


def _legacy_problem(entry: AuditEntry, previous: AuditEntry | None, *, linked: bool = True) -> str:
    """An entry from before the keys, checked the old way; `linked=False` for a lone entry."""
    link = _link_problem(entry, previous) if linked else ""
    if link:
        return link
    if legacy_entry_hash(entry) != entry.hash:
        return f"entry #{entry.pk} does not match its hash: the row was altered"
    return _member_problem(entry)


def _seal_problem(entry: AuditEntry, keys: AuditKeys) -> str:
    if not hmac.compare_digest(entry_hash(entry, keys), entry.hash):
        return (
            f"entry #{entry.pk} does not match its seal under key {entry.key_id!r}: the row "
            "was altered (or AUDIT_KEYS holds another key under that id)"
        )
    return _member_problem(entry)


def _member_problem(entry: AuditEntry) -> str:
    if entry.member_code != entry.actor_code:  # type: ignore[attr-defined]
        return (
            f"entry #{entry.pk} points at another member than its actor_code: the row was altered"
        )
    return ""


def _link_problem(entry: AuditEntry, previous: AuditEntry | None) -> str:
    if previous is None and entry.prev_hash != genesis_hash(entry.shard):
        return (
            f"entry #{entry.pk} opens the trail but does not start the chain: "
            "earlier entries were removed"
        )
    if previous is not None and entry.prev_hash != previous.hash:
        return (
            f"entry #{entry.pk} does not link to entry #{previous.pk}: entries between "
            f"them were removed, or the hash of #{previous.pk} was rewritten"
        )
    return ""


def _check_head(
    head: AuditChainHead | None, last: AuditEntry | None, count: int
) -> ChainVerification:
    head_id = head.last_entry_id if head is not None else None
    if last is None:
        if head_id is None:
            return ChainVerification(0)
        return ChainVerification(
            0,
            f"the chain head points at entry #{head_id} but the trail is empty: "
            "every entry was removed",
            head_id,
            1,
        )
    if head_id is None:
        return ChainVerification(
            count,
            f"the trail ends at entry #{last.pk} but the chain head is missing or empty: "
            "the head row was removed or reset",
            last.pk,
            count,
        )
    if (
        head is not None
        and head_id == last.pk
        and (head.last_hash, head.last_sequence)
        != (
            last.hash,
            count,
        )
    ):
        return ChainVerification(
            count,
            f"the chain head's hash or count differs from entry #{last.pk}'s: the head or the "
            "entry was rewritten",
            last.pk,
            count,
        )
    if head is None or head_id != last.pk:
        return ChainVerification(
            count,
            f"the chain head points at entry #{head_id} but the chain ends at entry "
            f"#{last.pk}: entries at the end were removed, or added outside record()",
            head_id,
            count + 1 if head_id > last.pk else count,
        )
    return ChainVerification(count)


_affinity = threading.local()  # the shard this thread appended to last, and where it stood
os.register_at_fork(after_in_child=_forget_chain_after_fork)  # not its parent's chain


def _locked_head() -> AuditChainHead:
    """A chain head, locked until the caller's transaction ends: this thread's own chain if
    it is free, created on first use; another free one if not.

    One query in the usual case: this thread's chain (the one it used last, else its home
    chain, `_home_shard`), unless another transaction holds it (SKIP LOCKED). A head this
    transaction already holds is not skipped, so a transaction that appends twice stays on
    its chain. A home chain that does not exist yet is created by this append (one statement
    more, once per chain): each writer thus gets a chain of its own, as long as there are
    no more concurrent writers than AUDIT_SHARDS, and its appends take the one-statement
    path (`_append`). Only when its chain is held by another transaction (a second query
    tells held from missing without waiting: inserting a head that another transaction has
    moved would wait for it) does it take the first free head in turn from there, then
    create the next missing head or, when all exist, wait for its own; it then holds no
    other head, so two appenders never wait on each other in a cycle.

    Heads are created lazily rather than by a data migration because test databases are
    flushed between transactional tests. Their fixed primary keys make creation race-safe:
    the insert does nothing if the head exists (a concurrent creator's insert waits for the
    first one's transaction, then does nothing), and get_or_create falls back to reading
    (and locking) the winner's row. On SQLite the lock clauses are ignored: the
    database-wide write lock serialises appenders anyway.
    """
    shards = settings.AUDIT_SHARDS
    preferred = getattr(_affinity, "shard", None)
    if preferred is None or preferred >= shards:
        preferred = _home_shard(shards)
    heads = AuditChainHead.objects.filter(pk__gte=HEAD_PK, pk__lt=HEAD_PK + shards)
    locked = heads.select_for_update(skip_locked=True)
    head = locked.filter(pk=HEAD_PK + preferred).first()
    if head is None and not heads.filter(pk=HEAD_PK + preferred).exists():
        # Not there yet (a plain read: it waits for nobody). Creating it waits only for
        # another transaction creating it at this very moment, which holds no other head.
        head = _created_head(HEAD_PK + preferred)
    if head is None:  # it exists and another transaction holds it
        turn = Mod(F("pk") - HEAD_PK + (shards - preferred), shards)
        head = locked.order_by(turn).first()
    if head is None:
        existing = set(heads.values_list("pk", flat=True))
        missing = [pk for pk in range(HEAD_PK, HEAD_PK + shards) if pk not in existing]
        pk = missing[0] if missing else HEAD_PK + preferred
        head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=pk)
    _affinity.shard = head.pk - HEAD_PK
    return head


def _created_head(pk: int) -> AuditChainHead | None:
    """The head `pk`, inserted empty by this transaction (which holds it until it ends), or
    None if it exists already. One statement on both databases."""
    db = connections[DEFAULT_DB_ALIAS]
    table = db.ops.quote_name(AuditChainHead._meta.db_table)
    with db.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, last_entry_id, last_hash, last_sequence) "  # noqa: S608
            "VALUES (%s, NULL, '', 0) ON CONFLICT (id) DO NOTHING RETURNING id",
            [pk],
        )
        if cursor.fetchone() is None:
            return None
    head = AuditChainHead(pk=pk)
    head._state.adding = False
    head._state.db = db.alias
    return head


def _is_outermost_atomic_block() -> bool:
    # SET TRANSACTION must come first in a transaction; inside a caller's (or a test's)
    # transaction we read that transaction's view instead.
    return len(connection.atomic_blocks) == 1


def _describe(target: Model | None) -> tuple[str, UUID | None]:
    if target is None:
        return "", None
    code = getattr(target, "code", None)
    if not isinstance(code, UUID):
        raise ValueError(f"{target._meta.label} has no public code: it cannot be an audit target")
    return target._meta.label_lower, code


def _clean(value: str, length: int) -> str:
    # PostgreSQL refuses NUL characters in text, and the user agent is the client's choice.
    return value.replace("\x00", "")[:length]


def _looks_sensitive(key: str) -> bool:
    words = _WORD_BOUNDARY.split(_CAMEL_HUMP.sub("_", key).lower())
    return any(word in FORBIDDEN_EXTRA_WORDS for word in words)


def _checked_value(value: object, path: str) -> Any:
    """`value` as stored in `extra`, or ValueError if it does not belong in the audit trail.

    Floats are refused: PostgreSQL's jsonb rewrites some of them (1e100, -0.0), and the
    hash must survive the database's JSON round trip byte for byte.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, str):
        if len(value) > MAX_EXTRA_STRING or "\x00" in value:
            raise ValueError(
                f"audit {path}: strings are short labels (at most {MAX_EXTRA_STRING} "
                "characters, no NUL), never free text"
            )
        return value
    if isinstance(value, list | tuple):
        return [_checked_value(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        checked = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit {path}: keys must be strings")
            if _looks_sensitive(key):
                raise ValueError(
                    f"audit {path}.{key}: the audit trail never holds clinical content, "
                    "patient identity or secrets"
                )
            checked[key] = _checked_value(item, f"{path}.{key}")
        return checked
    raise ValueError(
        f"audit {path}: {type(value).__name__} is not allowed; use str, int, bool, None, "
        "UUID, lists and dicts"
    )
