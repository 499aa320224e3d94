"""The keys of the audit trail: HMAC keys that seal entries, an Ed25519 key that signs checkpoints.

Why keys at all: the chain of hashes alone is checkable by anyone, hence forgeable by anyone
who can write to the database (a PostgreSQL superuser rewrites a row, then every later hash
and the head). Sealing each entry with a key that lives only in the application's
environment, never in the database, makes a rewrite detectable by whoever holds the key.

- ``AUDIT_KEYS``: comma-separated ``id:base64key`` (at least 32 bytes each), the same shape
  as ``ENCRYPTION_KEYS``. The first seals new entries; every listed key verifies, so after a
  rotation the old key stays listed for as long as the entries it sealed are kept (entries
  are append-only: they are never re-sealed).
- ``AUDIT_CHECKPOINT_SIGNING_KEY``: ``id:base64`` Ed25519 private key (the 32-byte seed)
  signing the checkpoints written outside the database. A signature, not an HMAC, so that an
  auditor can check a checkpoint with the public key alone (printed by
  ``python -m security.audit_keys``) without being able to forge one.
- ``AUDIT_CHECKPOINT_PUBLIC_KEYS``: optional ``id:base64`` Ed25519 public keys that verify
  older checkpoints after the signing key was rotated.

Like security.crypto, Django is imported lazily so the parsing is testable without settings,
and errors never echo key material.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import threading
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from security.crypto import KEY_ID_PATTERN, ImproperlyConfiguredKeys

MIN_HMAC_KEY_SIZE = 32
"""HMAC-SHA256 keys shorter than the hash output would be the weak link."""

ED25519_KEY_SIZE = 32


class UnknownAuditKey(ImproperlyConfiguredKeys):
    """An entry or a checkpoint names a key id that is not configured."""

    def __init__(self, key_id: str, setting: str) -> None:
        self.key_id = key_id
        super().__init__(f"audit key id {key_id!r} is not in {setting}")


@dataclass(frozen=True)
class AuditKeys:
    """The HMAC keys of the audit trail: the first seals, all verify."""

    keys: tuple[tuple[str, bytes], ...] = field(repr=False)

    def __post_init__(self) -> None:
        if not self.keys:
            raise ImproperlyConfiguredKeys("AUDIT_KEYS is empty: at least one key is needed")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key_id for key_id, _material in self.keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.ids

    def get(self, key_id: str) -> bytes:
        for known_id, material in self.keys:
            if known_id == key_id:
                return material
        raise UnknownAuditKey(key_id, "AUDIT_KEYS")


@dataclass(frozen=True)
class CheckpointKeys:
    """The key that signs checkpoints, and every public key that verifies them."""

    signing_id: str
    signing_key: Ed25519PrivateKey = field(repr=False)
    public_keys: dict[str, Ed25519PublicKey] = field(repr=False)

    def sign(self, message: bytes) -> bytes:
        return self.signing_key.sign(message)

    def verify(self, key_id: str, signature: bytes, message: bytes) -> bool:
        """True if `signature` is `key_id`'s over `message`; UnknownAuditKey for an unknown id."""
        try:
            public_key = self.public_keys[key_id]
        except KeyError:
            raise UnknownAuditKey(key_id, "AUDIT_CHECKPOINT_PUBLIC_KEYS") from None
        try:
            public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def _decode(encoded: str) -> bytes:
    """Standard or URL-safe base64, strictly."""
    encoded = encoded.replace("-", "+").replace("_", "/")
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)


def _entries(spec: str, setting: str) -> list[tuple[str, bytes]]:
    """Parse `id:base64` entries; errors name the entry by position, never its material."""
    parsed: list[tuple[str, bytes]] = []
    for position, entry in enumerate((part.strip() for part in spec.split(",")), start=1):
        if not entry:
            continue
        where = f"{setting} entry #{position}"
        key_id, sep, encoded = (part.strip() for part in entry.partition(":"))
        if not sep:
            raise ImproperlyConfiguredKeys(f"{where}: expected 'id:base64key' (no ':' found)")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise ImproperlyConfiguredKeys(
                f"{where}: invalid key id, it must match {KEY_ID_PATTERN.pattern}"
            )
        if key_id in (known for known, _material in parsed):
            raise ImproperlyConfiguredKeys(f"{where}: duplicate key id {key_id!r}")
        try:
            material = _decode(encoded)
        except (binascii.Error, ValueError):
            raise ImproperlyConfiguredKeys(f"{where} (id {key_id!r}): not valid base64") from None
        parsed.append((key_id, material))
    return parsed


def parse_audit_keys(spec: str) -> AuditKeys:
    """Parse ``AUDIT_KEYS``: ``id:base64key`` entries, the sealing key first."""
    keys = _entries(spec, "AUDIT_KEYS")
    for key_id, material in keys:
        if len(material) < MIN_HMAC_KEY_SIZE:
            raise ImproperlyConfiguredKeys(
                f"AUDIT_KEYS (id {key_id!r}): a key must decode to at least "
                f"{MIN_HMAC_KEY_SIZE} bytes"
            )
    return AuditKeys(tuple(keys))


def parse_checkpoint_keys(signing_spec: str, public_spec: str = "") -> CheckpointKeys:
    """Parse the checkpoint signing key and the extra public keys that verify old checkpoints."""
    signing = _entries(signing_spec, "AUDIT_CHECKPOINT_SIGNING_KEY")
    if len(signing) != 1:
        raise ImproperlyConfiguredKeys(
            "AUDIT_CHECKPOINT_SIGNING_KEY must hold exactly one 'id:base64' Ed25519 key"
        )
    signing_id, seed = signing[0]
    if len(seed) != ED25519_KEY_SIZE:
        raise ImproperlyConfiguredKeys(
            f"AUDIT_CHECKPOINT_SIGNING_KEY (id {signing_id!r}): an Ed25519 private key is "
            f"{ED25519_KEY_SIZE} bytes"
        )
    signing_key = Ed25519PrivateKey.from_private_bytes(seed)
    public_keys = {signing_id: signing_key.public_key()}
    for key_id, raw in _entries(public_spec, "AUDIT_CHECKPOINT_PUBLIC_KEYS"):
        if len(raw) != ED25519_KEY_SIZE:
            raise ImproperlyConfiguredKeys(
                f"AUDIT_CHECKPOINT_PUBLIC_KEYS (id {key_id!r}): an Ed25519 public key is "
                f"{ED25519_KEY_SIZE} bytes"
            )
        if key_id == signing_id and raw != public_key_bytes(signing_key):
            raise ImproperlyConfiguredKeys(
                f"AUDIT_CHECKPOINT_PUBLIC_KEYS (id {key_id!r}): the id of the signing key "
                "with another public key"
            )
        public_keys[key_id] = Ed25519PublicKey.from_public_bytes(raw)
    return CheckpointKeys(signing_id, signing_key, public_keys)


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def generate_audit_key_spec(key_id: str) -> str:
    """A fresh ``id:base64key`` entry to put first in ``AUDIT_KEYS``."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(MIN_HMAC_KEY_SIZE)).decode()}"


def generate_checkpoint_key_spec(key_id: str) -> tuple[str, str]:
    """A fresh Ed25519 key: (``id:base64`` private seed, ``id:base64`` public key)."""
    seed = secrets.token_bytes(ED25519_KEY_SIZE)
    public = public_key_bytes(Ed25519PrivateKey.from_private_bytes(seed))
    return (
        f"{key_id}:{base64.b64encode(seed).decode()}",
        f"{key_id}:{base64.b64encode(public).decode()}",
    )


# --------------------------------------------------------------------------- from settings

_cache_lock = threading.Lock()
_cached: dict[str, tuple[bytes, object]] = {}


def _spec(value: object, setting: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return ",".join(value)
    raise ImproperlyConfiguredKeys(f"settings.{setting} must be 'id:base64' strings")


def _cached_parse(name: str, specs: tuple[str, ...], parse: object) -> object:
    """Parse once per distinct configuration: override_settings in tests gets fresh keys."""
    fingerprint = hashlib.sha256(repr(specs).encode()).digest()
    with _cache_lock:
        hit = _cached.get(name)
        if hit is not None and hit[0] == fingerprint:
            return hit[1]
        parsed = parse(*specs)  # type: ignore[operator]
        _cached[name] = (fingerprint, parsed)
        return parsed


def audit_keys_from_settings() -> AuditKeys:
    from django.conf import settings  # noqa: PLC0415 (lazy: keep the module Django-free)

    spec = _spec(getattr(settings, "AUDIT_KEYS", None), "AUDIT_KEYS")
    keys = _cached_parse("audit", (spec,), parse_audit_keys)
    assert isinstance(keys, AuditKeys)
    return keys


def checkpoint_keys_from_settings() -> CheckpointKeys:
    from django.conf import settings  # noqa: PLC0415

    signing = _spec(
        getattr(settings, "AUDIT_CHECKPOINT_SIGNING_KEY", None), "AUDIT_CHECKPOINT_SIGNING_KEY"
    )
    public = _spec(
        getattr(settings, "AUDIT_CHECKPOINT_PUBLIC_KEYS", ""), "AUDIT_CHECKPOINT_PUBLIC_KEYS"
    )
    keys = _cached_parse("checkpoint", (signing, public), parse_checkpoint_keys)
    assert isinstance(keys, CheckpointKeys)
    return keys


if __name__ == "__main__":  # `python -m security.audit_keys`: fresh keys for .env
    import sys

    private, public = generate_checkpoint_key_spec("cp1")
    sys.stdout.write(f"AUDIT_KEYS={generate_audit_key_spec('a1')}\n")
    sys.stdout.write(f"AUDIT_CHECKPOINT_SIGNING_KEY={private}\n")
    sys.stdout.write(f"# Public key, for the auditor who keeps the checkpoints: {public}\n")
