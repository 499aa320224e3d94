"""The audit trail: `record()` appends one entry to a hash chain, `verify_chain()` checks it.

Invariants this module owns:

- **Same transaction.** An entry is written in the caller's transaction, so a change and its
  audit entry commit together or not at all (Zulip's RealmAuditLog). A rolled-back change
  leaves no entry and does not move the chain.
- **One chain.** Each entry stores the hash of the previous one, and its own hash covers that
  link and its content. Editing, removing or inserting a row behind the application's back
  breaks the chain, and `manage.py verify_audit` says where.
- **No health data.** Entries hold codes (UUIDs), action names, the request's IP and user
  agent, and a small `extra` dict of codes, counts and short labels. Never clinical content,
  never a patient's identity (INS, name, birth date): the trail is read by the coordination
  and kept for years, long after the clinical data it points at is purged. `record()` refuses
  `extra` keys that look like such data; that is a tripwire, not a guarantee, so reviewers
  check every `extra=` too.

The trade-off: appending locks the chain head row until the caller's transaction ends
(SELECT ... FOR UPDATE on PostgreSQL; on SQLite the database-wide write lock does the same),
so audited writes are serialised. That is what keeps the chain a single line, and it is cheap
while transactions are short; `bench/audit.py` measures it (docs/benchmarks.md). Callers keep
it cheap by calling `record()` last in their transaction, after slow work (file encryption,
e-mail rendering) and after taking their own row locks, which also keeps the lock order the
same everywhere (no deadlocks). On SQLite, transactions must begin IMMEDIATE for a second
writer to wait its turn; with SQLite's default (DEFERRED) it fails at once with "database is
locked" (the chain stays intact either way).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from typing import Any
from uuid import UUID

from django.db import connection, transaction
from django.db.models import F, Model
from django.utils.timezone import now

from directory.models import Member
from security.models import AuditChainHead, AuditEntry
from security.request_context import current_request_context

GENESIS_HASH = "0" * 64  # the prev_hash of the first entry
HEAD_PK = 1  # the chain head is a singleton row with a fixed key (see _locked_head)
ACTION_PATTERN = re.compile(r"[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*")
MAX_ACTION_LENGTH = 64
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
    actor: Member | None,
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
    rolls the caller's change back rather than recording something we must not keep.
    """
    if len(action) > MAX_ACTION_LENGTH or not ACTION_PATTERN.fullmatch(action):
        raise ValueError(f"audit action {action!r} is not shaped '<model>.<verb>'")
    target_type, target_code = _describe(target)
    checked_extra = _checked_value(dict(extra or {}), "extra")
    context = current_request_context()

    # savepoint=False: inside the caller's transaction this adds no query, and a failure
    # here dooms the caller's transaction, which is what "commit together" means.
    with transaction.atomic(savepoint=False):
        head = _locked_head()
        entry = AuditEntry(
            created_at=now(),  # taken under the lock: times follow the chain order
            actor=actor,
            actor_code=actor.code if actor is not None else None,
            action=action,
            target_type=target_type,
            target_code=target_code,
            ip=_clean(context.ip, 45),
            user_agent=_clean(context.user_agent, 300),
            extra=checked_extra,
            prev_hash=head.last_hash or GENESIS_HASH,
        )
        entry.hash = entry_hash(entry)
        entry.save()
        AuditChainHead.objects.filter(pk=head.pk).update(
            last_entry_id=entry.pk, last_hash=entry.hash
        )
    return entry


def entry_hash(entry: AuditEntry) -> str:
    """sha256 of the previous entry's hash followed by this entry's content, canonically.

    The database id is left out: it is only known after the INSERT, and the chain (each
    entry naming its predecessor's hash) already fixes the order. The actor's member id
    is left out too; actor_code stands for it, and verify_chain checks the two agree.
    """
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


@dataclass(frozen=True)
class ChainVerification:
    """The outcome of walking the chain: how many entries, and the first problem if any."""

    entries: int
    problem: str = ""
    entry_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain() -> ChainVerification:
    """Walk the trail in id order, recompute every hash, check every link and the head.

    Stops at the first broken link. The walk reads one consistent snapshot (REPEATABLE READ
    on PostgreSQL, without blocking writers), so entries appended meanwhile are not mistaken
    for tampering. On SQLite the read transaction holds off writers until the walk ends,
    which is acceptable at demo scale.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql" and _is_outermost_atomic_block():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        head = AuditChainHead.objects.filter(pk=HEAD_PK).first()
        return _walk(head)


def _walk(head: AuditChainHead | None) -> ChainVerification:
    count = 0
    previous: AuditEntry | None = None
    entries = AuditEntry.objects.order_by("id").annotate(member_code=F("actor__code"))
    for entry in entries.iterator(chunk_size=2000):
        count += 1
        if previous is None and entry.prev_hash != GENESIS_HASH:
            return ChainVerification(
                count,
                f"entry #{entry.pk} opens the trail but does not start the chain: "
                "earlier entries were removed",
                entry.pk,
            )
        if previous is not None and entry.prev_hash != previous.hash:
            return ChainVerification(
                count,
                f"entry #{entry.pk} does not link to entry #{previous.pk}: entries between "
                f"them were removed, or the hash of #{previous.pk} was rewritten",
                entry.pk,
            )
        if entry_hash(entry) != entry.hash:
            return ChainVerification(
                count, f"entry #{entry.pk} does not match its hash: the row was altered", entry.pk
            )
        if entry.member_code != entry.actor_code:  # type: ignore[attr-defined]
            return ChainVerification(
                count,
                f"entry #{entry.pk} points at another member than its actor_code: "
                "the row was altered",
                entry.pk,
            )
        previous = entry
    return _check_head(head, previous, count)


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
        )
    if head_id is None:
        return ChainVerification(
            count,
            f"the trail ends at entry #{last.pk} but the chain head is missing or empty: "
            "the head row was removed or reset",
            last.pk,
        )
    if head is not None and head_id == last.pk and head.last_hash != last.hash:
        return ChainVerification(
            count,
            f"the chain head's hash differs from entry #{last.pk}'s: the head or the entry "
            "was rewritten",
            last.pk,
        )
    if head is None or head_id != last.pk:
        return ChainVerification(
            count,
            f"the chain head points at entry #{head_id} but the chain ends at entry "
            f"#{last.pk}: entries at the end were removed, or added outside record()",
            head_id,
        )
    return ChainVerification(count)


def _locked_head() -> AuditChainHead:
    """The chain head, locked until the caller's transaction ends; created on first use.

    Created lazily rather than by a data migration because test databases are flushed
    between transactional tests. The fixed primary key makes the first creation race-safe:
    a concurrent creator fails on the key and get_or_create falls back to reading (and
    locking) the winner's row.
    """
    head, _created = AuditChainHead.objects.select_for_update().get_or_create(pk=HEAD_PK)
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
