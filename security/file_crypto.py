"""Streaming file encryption: AES-GCM-HKDF STREAM, modelled on Tink's streaming AEAD.

Why streaming
-------------
Attachments (letters, scans) can be large; encrypting them as one AES-GCM message would
need the whole file in memory and would only authenticate it at the very end. Here the
file is cut into fixed-size chunks, each its own AES-GCM message, so memory stays at a
couple of chunks whatever the file size, and every chunk is authenticated before any of
its plaintext is released.

Format
------
Header (authenticated as associated data of every chunk)::

    b"CPTSF1" | key id length (1 byte) | key id (ASCII) | salt (32 random bytes)
             | nonce prefix (7 random bytes) | chunk size (4 bytes, big endian)

followed by the chunks: each is ``AES-GCM(file_key, nonce_i, plaintext_i, header)``, i.e.
``chunk size + 16`` bytes except the final one, which may be shorter (possibly just the
16-byte tag for an empty file).

* ``file_key = HKDF-SHA256(ring key, salt, info=b"cpts-file" + aad)``: a fresh key per
  file, so random per-chunk nonces are not needed and the caller's ``aad`` (e.g. the
  attachment's table/column/row) is bound to every chunk.
* ``nonce_i = prefix (7) | i (4 bytes big endian) | last flag (1 byte: 0x01 final)``:
  the counter detects reordered, duplicated or dropped chunks, the flag detects a file
  truncated at a chunk boundary or extended past its end.
* A chunk spliced from another file fails: that file has another salt, hence another key.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from security.crypto import KEY_ID_PATTERN, TAG_SIZE, DecryptionError, Keyring

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAGIC",
    "MAX_CHUNK_SIZE",
    "Sink",
    "Source",
    "decrypt_stream",
    "decrypt_to",
    "encrypt_stream",
    "file_key_id",
]


class Source(Protocol):
    """What the streams read from: an upload, a spool, a stored file, a raw reader.

    Only ``read(n)`` is used; a raw stream may return fewer bytes, or None, without being
    at its end (see ``_read_exact``).
    """

    def read(self, size: int = -1, /) -> bytes | None: ...


class Sink(Protocol):
    """What the streams write to."""

    def write(self, data: bytes, /) -> int | None: ...


MAGIC = b"CPTSF1"
SALT_SIZE = 32
NONCE_PREFIX_SIZE = 7
DEFAULT_CHUNK_SIZE = 64 * 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024
"""Upper bound accepted on decryption, so a forged header cannot make us allocate gigabytes."""

_MAX_CHUNKS = 2**32
_CHUNK_SIZE = struct.Struct(">I")
_COUNTER = struct.Struct(">I")
_LAST = b"\x01"
_NOT_LAST = b"\x00"


def _read_exact(src: Source, size: int) -> bytes:
    """Read ``size`` bytes, or fewer only at end of stream.

    Raw streams and sockets may return short reads; a short read must not be mistaken for
    the end of the file, or a valid file would look truncated.
    """
    data = src.read(size)
    if data is None:
        data = b""
    if len(data) == size or not data:
        return bytes(data)
    parts = [data]
    missing = size - len(data)
    while missing:
        more = src.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def _file_key(master: bytes, salt: bytes, aad: bytes) -> AESGCM:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"cpts-file" + aad)
    return AESGCM(derived.derive(master))


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    if index >= _MAX_CHUNKS:
        raise ValueError("File too large: more than 2**32 chunks")
    return prefix + _COUNTER.pack(index) + (_LAST if last else _NOT_LAST)


def encrypt_stream(
    src: Source,
    dst: Sink,
    *,
    keyring: Keyring,
    aad: bytes,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> int:
    """Encrypt ``src`` into ``dst`` under the ring's primary key; return plaintext size.

    Reads one chunk ahead to know which chunk is the last. Each chunk counts as one
    encryption against the key's budget (may raise ``KeyExhausted`` midway: ``dst`` then
    holds an unfinished file that will never decrypt, and must be discarded).
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be between 1 and {MAX_CHUNK_SIZE}")
    key = keyring.reserve(1)  # chunk 0, reserved before anything is written
    raw_id = key.id.encode("ascii")
    salt = os.urandom(SALT_SIZE)
    prefix = os.urandom(NONCE_PREFIX_SIZE)
    header = b"".join(
        (MAGIC, bytes((len(raw_id),)), raw_id, salt, prefix, _CHUNK_SIZE.pack(chunk_size))
    )
    aead = _file_key(key.material, salt, aad)
    dst.write(header)

    total = 0
    index = 0
    current = _read_exact(src, chunk_size)
    while True:
        following = _read_exact(src, chunk_size) if len(current) == chunk_size else b""
        last = not following
        if index:
            keyring.reserve(1)
        dst.write(aead.encrypt(_nonce(prefix, index, last), current, header))
        total += len(current)
        if last:
            return total
        index += 1
        current = following


def _read_header(src: Source) -> tuple[bytes, str, bytes, bytes, int]:
    """Parse the header; return ``(header bytes, key id, salt, nonce prefix, chunk size)``."""
    start = _read_exact(src, len(MAGIC) + 1)
    if len(start) < len(MAGIC) + 1 or start[: len(MAGIC)] != MAGIC:
        raise DecryptionError("Not an encrypted CPTS file (bad magic or truncated header)")
    id_length = start[-1]
    rest_size = id_length + SALT_SIZE + NONCE_PREFIX_SIZE + _CHUNK_SIZE.size
    rest = _read_exact(src, rest_size)
    if not 1 <= id_length <= 32 or len(rest) < rest_size:
        raise DecryptionError("Encrypted file header is malformed or truncated")
    try:
        key_id = rest[:id_length].decode("ascii")
    except UnicodeDecodeError:
        raise DecryptionError("Encrypted file header has a non-ASCII key id") from None
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise DecryptionError("Encrypted file header has an invalid key id")
    salt = rest[id_length : id_length + SALT_SIZE]
    prefix = rest[id_length + SALT_SIZE : id_length + SALT_SIZE + NONCE_PREFIX_SIZE]
    (chunk_size,) = _CHUNK_SIZE.unpack(rest[-_CHUNK_SIZE.size :])
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("Encrypted file header has an invalid chunk size")
    return start + rest, key_id, salt, prefix, chunk_size


def file_key_id(src: Source) -> str:
    """Return the key id of an encrypted file (reads only the header), for key rotation."""
    return _read_header(src)[1]


def _open_chunk(
    aead: AESGCM, header: bytes, prefix: bytes, index: int, last: bool, data: bytes
) -> bytes:
    try:
        return aead.decrypt(_nonce(prefix, index, last), data, header)
    except InvalidTag:
        where = "final chunk" if last else f"chunk #{index}"
        raise DecryptionError(
            f"Authentication failed on {where} of an encrypted file (tampered, truncated, "
            "reordered, wrong key or wrong associated data)"
        ) from None


def _chunks(
    src: Source,
    aead: AESGCM,
    header: bytes,
    prefix: bytes,
    chunk_size: int,
    first: bytes,
    first_is_last: bool,
    following: bytes,
) -> Iterator[bytes]:
    """Yield verified plaintext; ``first`` was already verified by :func:`decrypt_stream`."""
    if first:
        yield first
    if first_is_last:
        return
    segment_size = chunk_size + TAG_SIZE
    index = 1
    current = following
    while True:
        following = _read_exact(src, segment_size) if len(current) == segment_size else b""
        last = not following
        if len(current) < TAG_SIZE:
            raise DecryptionError("Encrypted file is truncated (incomplete chunk)")
        plaintext = _open_chunk(aead, header, prefix, index, last, current)
        if plaintext:
            yield plaintext
        if last:
            return
        index += 1
        current = following


def decrypt_stream(src: Source, *, keyring: Keyring, aad: bytes) -> Iterator[bytes]:
    """Return an iterator of verified plaintext chunks of an encrypted file.

    The header and the first chunk are read and authenticated *before* this function
    returns, so a wrong ``aad``, a wrong or unknown key (``UnknownKey``) or a modified
    header raises here, before e.g. a ``StreamingHttpResponse`` has sent its status line.
    Later chunks are authenticated one by one before being yielded; damage further in
    the file (including a missing final chunk) raises :class:`DecryptionError` during
    iteration, after earlier, genuine chunks were delivered. Callers that need
    all-or-nothing delivery should ``decrypt_to`` a temporary file first.
    """
    header, key_id, salt, prefix, chunk_size = _read_header(src)
    key = keyring.get(key_id)
    aead = _file_key(key.material, salt, aad)
    segment_size = chunk_size + TAG_SIZE
    current = _read_exact(src, segment_size)
    if len(current) < TAG_SIZE:
        raise DecryptionError("Encrypted file is truncated (no final chunk)")
    following = _read_exact(src, segment_size) if len(current) == segment_size else b""
    first_is_last = not following
    first = _open_chunk(aead, header, prefix, 0, first_is_last, current)
    return _chunks(src, aead, header, prefix, chunk_size, first, first_is_last, following)


def decrypt_to(src: Source, dst: Sink, *, keyring: Keyring, aad: bytes) -> int:
    """Decrypt ``src`` into ``dst``; return the number of plaintext bytes written.

    On :class:`DecryptionError`, ``dst`` may already hold the genuine leading part of the
    file and must be discarded by the caller.
    """
    total = 0
    for chunk in decrypt_stream(src, keyring=keyring, aad=aad):
        dst.write(chunk)
        total += len(chunk)
    return total
