"""Value encryption (AES-256-GCM with a key ring) and blind indexes.

Why this module exists
----------------------
Health data stored by CPTS Liaison (patient identities, free-text notes) must be
unreadable from a database dump or a backup alone. Values are therefore encrypted by the
application before they reach the database, with keys that live only in the environment
(``ENCRYPTION_KEYS``). Searching on encrypted columns is made possible by *blind indexes*:
a keyed HMAC of a normalised form of the value, stored next to the ciphertext.

Design decisions
----------------
* AES-256-GCM from ``cryptography`` only; no home-made construction.
* Every token is self-describing (format version, key id, nonce), so keys can be rotated:
  the first key of the ring encrypts, every key of the ring decrypts, and
  ``key_id_of()`` tells a rotation job which values are not yet under the primary key.
* Each ciphertext is bound to its location (table, column, row) through AES-GCM
  associated data, so a ciphertext copied to another row or column fails to decrypt
  instead of silently showing someone else's data.
* Every failure raises an explicit :class:`CryptoError` subclass; nothing ever returns
  garbage, and no message contains plaintext or key material.
* Nonces are random (96 bits). NIST SP 800-38D caps random-nonce usage at 2**32
  invocations per key; a :class:`UsageCounter` enforces a budget (see
  :data:`DEFAULT_MAX_ENCRYPTIONS_PER_KEY`).

Django is only imported lazily (in the ``*_from_settings`` helpers) so that this module
can be used and tested without configured settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
import struct
import threading
import unicodedata
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = [
    "DEFAULT_MAX_ENCRYPTIONS_PER_KEY",
    "DEFAULT_RESERVATION_BLOCK",
    "KEY_ID_PATTERN",
    "KEY_SIZE",
    "NONCE_SIZE",
    "TAG_SIZE",
    "TOKEN_VERSION",
    "CryptoError",
    "DecryptionError",
    "ImproperlyConfiguredKeys",
    "InMemoryUsageCounter",
    "Key",
    "KeyExhausted",
    "Keyring",
    "UnknownKey",
    "UsageCounter",
    "associated_data",
    "blind_index",
    "blind_index_key_from_settings",
    "decrypt",
    "encrypt",
    "generate_key_spec",
    "key_id_of",
    "keyring_from_settings",
    "normalise_identifier",
    "parse_keyring",
    "reset_keyring_cache",
]

KEY_SIZE = 32
"""AES-256 key length in bytes."""

NONCE_SIZE = 12
"""96-bit nonces: the only size for which GCM does not need to hash the nonce (SP 800-38D)."""

TAG_SIZE = 16
"""Full 128-bit GCM tag; truncated tags weaken forgery resistance for no real gain."""

TOKEN_VERSION = 0x01
"""First byte of every value token, so the format can evolve without ambiguity."""

KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
"""Key ids are short ASCII labels: they are stored in every token and in error messages."""

DEFAULT_MAX_ENCRYPTIONS_PER_KEY = 2**30
"""Encryptions allowed under one key before :class:`KeyExhausted` is raised.

NIST SP 800-38D (section 8.3) limits a key used with random 96-bit nonces to 2**32
invocations, which keeps the probability of a nonce collision (catastrophic for GCM: it
leaks the XOR of plaintexts and allows forgeries) below 2**-32. We stop at a quarter of
that, far below the cap, because the count is only as good as its bookkeeping: a usage
counter restored from an old backup, a key copied between environments that count
separately, or encryptions made by scripts outside the application all make the real usage
higher than the recorded one.
At 2**30 random nonces the collision probability is about 2**-37, and rotating a key is
cheap compared with the consequences of a collision.
"""

DEFAULT_RESERVATION_BLOCK = 1024
"""Encryptions reserved from the shared counter at once, so most encryptions cost no write.

At most ``block - 1`` reserved-but-unused encryptions are lost per process restart, which
only makes the count err on the safe side (over-counting).
"""

_LENGTH = struct.Struct(">I")


# --------------------------------------------------------------------------- exceptions


class CryptoError(Exception):
    """Base class of every error raised by the encryption layer.

    Messages never contain plaintext or key material, so they are safe to log.
    """


class ImproperlyConfiguredKeys(CryptoError, ValueError):
    """The key configuration (``ENCRYPTION_KEYS``, ``BLIND_INDEX_KEY``...) is invalid."""


class DecryptionError(CryptoError):
    """A token or file could not be authenticated or parsed.

    Raised on tag mismatch (tampering, wrong key material, wrong associated data, i.e. a
    ciphertext moved to another row), truncation or an unknown format version. Callers
    should treat it as a data-integrity incident, not as a missing value.
    """


class UnknownKey(DecryptionError):
    """The key id named in a token is not in the key ring.

    It subclasses :class:`DecryptionError` so that ``except DecryptionError`` covers every
    way a token can fail to decrypt; catch it first to distinguish the operational cause
    (an old key removed from ``ENCRYPTION_KEYS`` before ``rotate_keys`` finished).
    """

    def __init__(self, key_id: str) -> None:
        self.key_id = key_id
        super().__init__(
            f"Key id {key_id!r} is not in the key ring (was it removed from "
            "ENCRYPTION_KEYS before `python manage.py rotate_keys` re-encrypted its data?)"
        )


class KeyExhausted(CryptoError):
    """The primary key reached its encryption budget; a new key must be introduced."""

    def __init__(self, key_id: str, limit: int) -> None:
        self.key_id = key_id
        self.limit = limit
        super().__init__(
            f"Encryption key {key_id!r} has reached its limit of {limit} encryptions "
            "(AES-GCM random nonce budget, NIST SP 800-38D). Generate a new key, add it "
            "FIRST in ENCRYPTION_KEYS (keep the old one after it), restart the application, "
            "then run `python manage.py rotate_keys`."
        )


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class Key:
    """One AES-256 key and the id stored in every token it produces.

    ``material`` is excluded from ``repr`` so that a key never ends up in a log or a
    traceback by accident.
    """

    id: str
    material: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not KEY_ID_PATTERN.fullmatch(self.id):
            # The invalid id is deliberately not echoed: a swapped "base64key:id" entry
            # would put key material in this position.
            raise ImproperlyConfiguredKeys(
                f"Invalid key id: it must match {KEY_ID_PATTERN.pattern}"
            )
        if not isinstance(self.material, bytes) or len(self.material) != KEY_SIZE:
            size = len(self.material) if isinstance(self.material, bytes) else "non-bytes"
            raise ImproperlyConfiguredKeys(
                f"Key {self.id!r} must be exactly {KEY_SIZE} bytes (AES-256), got {size}"
            )


@runtime_checkable
class UsageCounter(Protocol):
    """Shared count of encryptions made under each key (across processes and hosts).

    Implementations must make ``reserve`` atomic (e.g. ``UPDATE ... SET n = n + %s
    RETURNING n``) because several processes reserve concurrently.
    """

    def reserve(self, key_id: str, n: int) -> int:
        """Atomically add ``n`` to the count of ``key_id`` and return the new total."""
        ...


class InMemoryUsageCounter:
    """Process-local :class:`UsageCounter`, for tests and single-process tools.

    It does not survive restarts nor see other processes, so production should plug a
    persistent counter (see ``ENCRYPTION_USAGE_COUNTER`` in :func:`keyring_from_settings`).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._totals: dict[str, int] = {}

    def reserve(self, key_id: str, n: int) -> int:
        """Add ``n`` to the total of ``key_id`` and return the new total."""
        if n < 1:
            raise ValueError("n must be a positive number of encryptions")
        with self._lock:
            total = self._totals.get(key_id, 0) + n
            self._totals[key_id] = total
            return total

    def total(self, key_id: str) -> int:
        """Return the amount reserved so far for ``key_id`` (0 if never used)."""
        with self._lock:
            return self._totals.get(key_id, 0)


_LIVE_KEYRINGS: weakref.WeakSet[Keyring] = weakref.WeakSet()


class Keyring:
    """Ordered set of keys: the first (primary) encrypts, all of them decrypt.

    The ring also enforces the per-key encryption budget. Rather than writing to the
    shared counter on every encryption, it reserves ``reservation_block`` encryptions at
    a time and hands them out locally under a lock (thread-safe). Reservations are
    per process: after ``fork()`` the child starts with an empty allowance, so two
    workers never share a block.
    """

    def __init__(
        self,
        keys: Sequence[Key],
        *,
        counter: UsageCounter | None = None,
        max_encryptions_per_key: int = DEFAULT_MAX_ENCRYPTIONS_PER_KEY,
        reservation_block: int = DEFAULT_RESERVATION_BLOCK,
    ) -> None:
        keys = tuple(keys)
        if not keys:
            raise ImproperlyConfiguredKeys("The key ring is empty: at least one key is needed")
        seen: set[str] = set()
        for key in keys:
            if not isinstance(key, Key):
                raise ImproperlyConfiguredKeys("Key ring entries must be Key instances")
            if key.id in seen:
                raise ImproperlyConfiguredKeys(f"Duplicate key id {key.id!r} in the key ring")
            seen.add(key.id)
        if not 1 <= max_encryptions_per_key <= 2**32:
            raise ImproperlyConfiguredKeys(
                "max_encryptions_per_key must be between 1 and 2**32 (NIST SP 800-38D cap)"
            )
        if reservation_block < 1:
            raise ImproperlyConfiguredKeys("reservation_block must be at least 1")
        self._keys = keys
        self._by_id = {key.id: key for key in keys}
        self._aead = {key.id: AESGCM(key.material) for key in keys}
        self._counter: UsageCounter = counter if counter is not None else InMemoryUsageCounter()
        self._max = max_encryptions_per_key
        self._block = reservation_block
        self._lock = threading.Lock()
        self._allowance = 0
        self._counter_exhausted = False
        _LIVE_KEYRINGS.add(self)

    def __repr__(self) -> str:
        return f"Keyring(ids={list(self._by_id)!r}, primary={self.primary.id!r})"

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._by_id

    @property
    def primary(self) -> Key:
        """The key used for every new encryption (first of the ring)."""
        return self._keys[0]

    @property
    def keys(self) -> tuple[Key, ...]:
        """All keys, primary first."""
        return self._keys

    @property
    def max_encryptions_per_key(self) -> int:
        """Budget of encryptions per key (see :data:`DEFAULT_MAX_ENCRYPTIONS_PER_KEY`)."""
        return self._max

    def get(self, key_id: str) -> Key:
        """Return the key named ``key_id`` or raise :class:`UnknownKey`."""
        try:
            return self._by_id[key_id]
        except KeyError:
            raise UnknownKey(key_id) from None

    def aead(self, key_id: str) -> AESGCM:
        """Return a cached AES-GCM instance for ``key_id`` (raises :class:`UnknownKey`)."""
        try:
            return self._aead[key_id]
        except KeyError:
            raise UnknownKey(key_id) from None

    def reserve(self, n: int = 1) -> Key:
        """Account for ``n`` encryptions under the primary key and return that key.

        Every encryption made with ring keys (values and file chunks) goes through this
        method so that the nonce budget is enforced in one place. Raises
        :class:`KeyExhausted` when the shared total would exceed the budget.
        """
        if n < 1:
            raise ValueError("n must be a positive number of encryptions")
        key = self._keys[0]
        with self._lock:
            if self._allowance < n and not self._counter_exhausted:
                need = n - self._allowance
                request = max(self._block, need)
                total = self._counter.reserve(key.id, request)
                # Only the part of this block that fits under the budget is usable; the
                # counter may overshoot, which merely keeps it on the safe side.
                grantable = max(0, min(request, self._max - (total - request)))
                self._allowance += grantable
                if total >= self._max:
                    # Counters only grow: never ask again for this key in this process.
                    self._counter_exhausted = True
            if self._allowance < n:
                raise KeyExhausted(key.id, self._max)
            self._allowance -= n
            return key

    def _reset_after_fork(self) -> None:
        """Drop the inherited allowance (it belongs to the parent) and any held lock."""
        self._lock = threading.Lock()
        self._allowance = 0


def _reset_keyrings_after_fork() -> None:
    for keyring in list(_LIVE_KEYRINGS):
        keyring._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_keyrings_after_fork)


def _decode_key_material(encoded: str) -> bytes:
    """Decode standard or URL-safe base64, strictly (no silently ignored characters)."""
    if "-" in encoded or "_" in encoded:
        encoded = encoded.replace("-", "+").replace("_", "/")
    padded = encoded + "=" * (-len(encoded) % 4)
    return base64.b64decode(padded, validate=True)


def parse_keyring(spec: str) -> list[Key]:
    """Parse ``ENCRYPTION_KEYS``: comma-separated ``id:base64key`` entries, newest first.

    Whitespace around entries and empty entries (trailing comma) are ignored. Errors name
    the faulty entry by position (and by id once the id is known to be valid) but never
    echo key material: an invalid "id" may actually be a key pasted in the wrong place.
    """
    if not isinstance(spec, str):
        raise ImproperlyConfiguredKeys("ENCRYPTION_KEYS must be a string of id:base64 entries")
    keys: list[Key] = []
    positions: dict[str, int] = {}
    entries = [entry.strip() for entry in spec.split(",")]
    for position, entry in enumerate(entries, start=1):
        if not entry:
            continue
        where = f"ENCRYPTION_KEYS entry #{position}"
        key_id, sep, encoded = entry.partition(":")
        key_id, encoded = key_id.strip(), encoded.strip()
        if not sep:
            raise ImproperlyConfiguredKeys(f"{where}: expected 'id:base64key' (no ':' found)")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise ImproperlyConfiguredKeys(
                f"{where}: invalid key id, it must match {KEY_ID_PATTERN.pattern}"
            )
        where = f"{where} (id {key_id!r})"
        if key_id in positions:
            raise ImproperlyConfiguredKeys(
                f"{where}: duplicate key id, already used by entry #{positions[key_id]}"
            )
        try:
            material = _decode_key_material(encoded)
        except (binascii.Error, ValueError):
            raise ImproperlyConfiguredKeys(f"{where}: key is not valid base64") from None
        if len(material) != KEY_SIZE:
            raise ImproperlyConfiguredKeys(
                f"{where}: key must decode to {KEY_SIZE} bytes (AES-256), got {len(material)}"
            )
        positions[key_id] = position
        keys.append(Key(id=key_id, material=material))
    if not keys:
        raise ImproperlyConfiguredKeys("ENCRYPTION_KEYS is empty: at least one key is needed")
    return keys


def generate_key_spec(key_id: str) -> str:
    """Return a fresh ``id:base64key`` entry to prepend to ``ENCRYPTION_KEYS``."""
    if not isinstance(key_id, str) or not KEY_ID_PATTERN.fullmatch(key_id):
        raise ImproperlyConfiguredKeys(f"Invalid key id: it must match {KEY_ID_PATTERN.pattern}")
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode('ascii')}"


# --------------------------------------------------------------------------- values


def associated_data(table: str, column: str, row_id: str) -> bytes:
    """Encode where a ciphertext lives, to bind it there as AES-GCM associated data.

    Each part is UTF-8 encoded and prefixed by its 4-byte big-endian length, so that
    ``("a", "bc", ...)`` and ``("ab", "c", ...)`` can never produce the same bytes.
    ``row_id`` must be known before the value is encrypted and must never change (use a
    client-generated UUID primary key, not an auto-increment one).
    """
    parts = [b"cpts-value-v1", table.encode(), column.encode(), str(row_id).encode()]
    return b"".join(_LENGTH.pack(len(part)) + part for part in parts)


def _token_header(key_id: str) -> bytes:
    raw_id = key_id.encode("ascii")
    return bytes((TOKEN_VERSION, len(raw_id))) + raw_id


def _parse_token(token: bytes) -> tuple[str, int]:
    """Return ``(key_id, offset of the nonce)`` or raise :class:`DecryptionError`."""
    if len(token) < 2:
        raise DecryptionError("Token is truncated (no header)")
    if token[0] != TOKEN_VERSION:
        raise DecryptionError(f"Unsupported token version {token[0]:#04x}")
    id_length = token[1]
    if not 1 <= id_length <= 32:
        raise DecryptionError("Token header has an invalid key id length")
    nonce_at = 2 + id_length
    if len(token) < nonce_at + NONCE_SIZE + TAG_SIZE:
        raise DecryptionError("Token is truncated")
    try:
        key_id = token[2:nonce_at].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError("Token header has a non-ASCII key id") from None
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionError("Token header has an invalid key id")
    return key_id, nonce_at


def encrypt(plaintext: bytes, *, aad: bytes, keyring: Keyring) -> bytes:
    """Encrypt ``plaintext`` under the primary key with a fresh random nonce.

    Token layout: version (1 byte, 0x01) | key id length (1 byte) | key id (ASCII) |
    nonce (12 bytes) | ciphertext + tag (16 bytes). The version/key-id header is
    authenticated together with ``aad`` (build it with :func:`associated_data`).
    Raises :class:`KeyExhausted` when the primary key's budget is spent.
    """
    key = keyring.reserve(1)
    header = _token_header(key.id)
    nonce = os.urandom(NONCE_SIZE)
    ciphertext = keyring.aead(key.id).encrypt(nonce, plaintext, header + aad)
    return b"".join((header, nonce, ciphertext))


def decrypt(token: bytes | bytearray | memoryview, *, aad: bytes, keyring: Keyring) -> bytes:
    """Authenticate and decrypt a token made by :func:`encrypt`.

    ``memoryview`` is accepted because that is what PostgreSQL drivers return for
    ``bytea``. Raises :class:`UnknownKey` if the key id is not in the ring and
    :class:`DecryptionError` for anything else (tampering, truncation, wrong ``aad``).
    """
    token = bytes(token)
    key_id, nonce_at = _parse_token(token)
    aead = keyring.aead(key_id)
    nonce = token[nonce_at : nonce_at + NONCE_SIZE]
    try:
        return aead.decrypt(nonce, token[nonce_at + NONCE_SIZE :], token[:nonce_at] + aad)
    except InvalidTag:
        raise DecryptionError(
            f"Authentication failed for a token under key {key_id!r} (tampered, wrong key "
            "material or associated data, e.g. a value copied from another row)"
        ) from None


def key_id_of(token: bytes | bytearray | memoryview) -> str:
    """Return the id of the key that encrypted ``token`` (without decrypting it).

    Used by key rotation to find values not yet under the primary key. Raises
    :class:`DecryptionError` if the header is malformed.
    """
    return _parse_token(bytes(token))[0]


# --------------------------------------------------------------------------- blind indexes

_APOSTROPHES = dict.fromkeys(map(ord, "\u2018\u2019\u02bc\u2032\uff07"), "'")
_HYPHENS = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2212\ufe63\uff0d"), "-")
_LIGATURES = {ord("Œ"): "OE", ord("Æ"): "AE"}


def normalise_identifier(value: str) -> str:
    """Normalise a name-like identifier so that trivially different spellings match.

    Steps: upper case (``ß`` becomes ``SS``); NFKD decomposition with combining marks
    dropped (accents: ``Éloïse`` -> ``ELOISE``; compatibility forms such as ``ﬁ`` are
    expanded); the French ligatures ``Œ``/``Æ`` (not decomposed by NFKD) become ``OE`` /
    ``AE``, as in the RNIV identity rules; typographic apostrophes and hyphen variants
    become ASCII ``'`` and ``-``; every run of whitespace becomes a single space and the
    result is trimmed.

    Hyphens and apostrophes are kept, and whitespace next to them is only collapsed, not
    removed: ``"  Lefèvre-  Dupont "`` -> ``"LEFEVRE- DUPONT"``. Removing it would be a
    guess about what the user meant; forms should trim such spaces at entry time if
    needed. Any change to this function invalidates every stored blind index.
    """
    text = value.upper()
    text = unicodedata.normalize("NFKD", text)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.translate(_LIGATURES).translate(_APOSTROPHES).translate(_HYPHENS)
    return " ".join(text.split())


def blind_index(value: str, *, key: bytes, purpose: str) -> str:
    """Return a keyed, deterministic fingerprint of ``value`` for equality search.

    HMAC-SHA256 over ``len(purpose) || purpose || normalise_identifier(value)``. The
    length-prefixed ``purpose`` (e.g. ``"patient.last_name"``) separates domains, so equal
    values in different columns give unrelated indexes and cannot be correlated. The key
    must be distinct from the encryption keys; changing it means recomputing every index.
    Returns 64 lowercase hex characters.
    """
    if not isinstance(key, bytes) or len(key) < 16:
        raise ImproperlyConfiguredKeys("Blind index key must be bytes of at least 16 bytes")
    if not purpose:
        raise ValueError("purpose must be a non-empty string")
    raw_purpose = purpose.encode()
    message = _LENGTH.pack(len(raw_purpose)) + raw_purpose + normalise_identifier(value).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- settings

_cache_lock = threading.Lock()
_cached_keyring: tuple[bytes, Keyring] | None = None


def blind_index_key_from_settings() -> bytes:
    """Return ``settings.BLIND_INDEX_KEY`` (bytes, at least 32 bytes), validated."""
    from django.conf import settings  # noqa: PLC0415 (lazy: keep the module Django-free)

    key = getattr(settings, "BLIND_INDEX_KEY", None)
    if not isinstance(key, bytes) or len(key) < KEY_SIZE:
        raise ImproperlyConfiguredKeys(
            f"settings.BLIND_INDEX_KEY must be bytes of at least {KEY_SIZE} bytes "
            "(decode it from the environment in settings)"
        )
    return key


def keyring_from_settings() -> Keyring:
    """Return the process-wide :class:`Keyring` built from Django settings.

    Reads ``ENCRYPTION_KEYS`` (list of ``id:base64`` strings, or one comma-separated
    string), optional ``ENCRYPTION_MAX_PER_KEY`` and optional ``ENCRYPTION_USAGE_COUNTER``
    (dotted path to a zero-argument callable returning a :class:`UsageCounter`; defaults
    to an in-memory counter). The ring is cached so that block reservations are reused;
    the cache is keyed on a digest of those settings, so ``override_settings`` in tests
    gets a fresh ring automatically. :func:`reset_keyring_cache` forces a rebuild.
    """
    global _cached_keyring
    from django.conf import settings  # noqa: PLC0415 (lazy: keep the module Django-free)

    configured = getattr(settings, "ENCRYPTION_KEYS", None)
    if isinstance(configured, str):
        spec = configured
    elif isinstance(configured, list | tuple) and all(isinstance(e, str) for e in configured):
        spec = ",".join(configured)
    else:
        raise ImproperlyConfiguredKeys(
            "settings.ENCRYPTION_KEYS must be a list of 'id:base64key' strings"
        )
    limit = getattr(settings, "ENCRYPTION_MAX_PER_KEY", DEFAULT_MAX_ENCRYPTIONS_PER_KEY)
    counter_path = getattr(settings, "ENCRYPTION_USAGE_COUNTER", None)
    fingerprint = hashlib.sha256(repr((spec, limit, counter_path)).encode()).digest()
    with _cache_lock:
        if _cached_keyring is not None and _cached_keyring[0] == fingerprint:
            return _cached_keyring[1]
        counter: UsageCounter | None = None
        if counter_path:
            from django.utils.module_loading import import_string  # noqa: PLC0415

            counter = import_string(counter_path)()
        keyring = Keyring(parse_keyring(spec), counter=counter, max_encryptions_per_key=limit)
        _cached_keyring = (fingerprint, keyring)
        return keyring


def reset_keyring_cache() -> None:
    """Forget the cached settings key ring (tests, or after changing settings at runtime)."""
    global _cached_keyring
    with _cache_lock:
        _cached_keyring = None


if __name__ == "__main__":  # `python -m security.crypto`: fresh keys for .env
    import base64
    import secrets
    import sys

    sys.stdout.write(f"ENCRYPTION_KEYS={generate_key_spec('k1')}\n")
    sys.stdout.write(f"BLIND_INDEX_KEY={base64.b64encode(secrets.token_bytes(32)).decode()}\n")
