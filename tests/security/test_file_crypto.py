"""Tests of streaming file encryption (no database)."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time
import tracemalloc

import pytest

from security.crypto import (
    DecryptionError,
    InMemoryUsageCounter,
    Key,
    KeyExhausted,
    Keyring,
    UnknownKey,
    associated_data,
)
from security.file_crypto import (
    MAGIC,
    decrypt_stream,
    decrypt_to,
    encrypt_stream,
    file_key_id,
)

CHUNK = 1024
TAG = 16
K1 = Key("k1", b"\x01" * 32)
K2 = Key("k2", b"\x02" * 32)
AAD = associated_data("messaging_attachment", "content", "0b6f5c3e-0000-4000-8000-000000000001")
OTHER_AAD = associated_data(
    "messaging_attachment", "content", "0b6f5c3e-0000-4000-8000-000000000002"
)
HEADER_SIZE = len(MAGIC) + 1 + 2 + 32 + 7 + 4  # with the two-character key id "k1"


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([K1])


def payload(size: int, seed: int = 0) -> bytes:
    """Distinct, non-repeating content so that misplaced chunks could not go unnoticed."""
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:size])


def encrypt_bytes(
    data: bytes, keyring: Keyring, *, aad: bytes = AAD, chunk_size: int = CHUNK
) -> bytes:
    dst = io.BytesIO()
    written = encrypt_stream(io.BytesIO(data), dst, keyring=keyring, aad=aad, chunk_size=chunk_size)
    assert written == len(data)
    return dst.getvalue()


def split(token: bytes, chunk_size: int = CHUNK) -> tuple[bytes, list[bytes]]:
    """Cut an encrypted file into its header and its encrypted chunks."""
    header, body = token[:HEADER_SIZE], token[HEADER_SIZE:]
    segment = chunk_size + TAG
    return header, [body[i : i + segment] for i in range(0, len(body), segment)]


def drain(token: bytes, keyring: Keyring, *, aad: bytes = AAD) -> tuple[bytes, Exception | None]:
    """Decrypt as a streaming consumer would; return what was yielded and the error."""
    received = bytearray()
    try:
        for chunk in decrypt_stream(io.BytesIO(token), keyring=keyring, aad=aad):
            received += chunk
    except DecryptionError as error:
        return bytes(received), error
    return bytes(received), None


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, CHUNK * 7 // 2])
def test_it_round_trips_files_of_every_boundary_size(keyring: Keyring, size: int) -> None:
    data = payload(size)
    token = encrypt_bytes(data, keyring)
    chunks = max(1, -(-size // CHUNK))
    assert len(token) == HEADER_SIZE + size + chunks * TAG
    assert token.startswith(MAGIC)
    received, error = drain(token, keyring)
    assert error is None
    assert received == data
    sink = io.BytesIO()
    assert decrypt_to(io.BytesIO(token), sink, keyring=keyring, aad=AAD) == size
    assert sink.getvalue() == data


def test_it_yields_no_chunk_for_an_empty_file(keyring: Keyring) -> None:
    token = encrypt_bytes(b"", keyring)
    assert len(token) == HEADER_SIZE + TAG
    assert list(decrypt_stream(io.BytesIO(token), keyring=keyring, aad=AAD)) == []


def test_it_yields_one_verified_chunk_at_a_time(keyring: Keyring) -> None:
    data = payload(CHUNK * 7 // 2)
    chunks = list(
        decrypt_stream(io.BytesIO(encrypt_bytes(data, keyring)), keyring=keyring, aad=AAD)
    )
    assert [len(chunk) for chunk in chunks] == [CHUNK, CHUNK, CHUNK, CHUNK // 2]


def test_it_uses_fresh_randomness_per_file(keyring: Keyring) -> None:
    data = payload(3000)
    first, second = encrypt_bytes(data, keyring), encrypt_bytes(data, keyring)
    assert first[:9] == second[:9]  # magic, id length, key id
    assert first[9:48] != second[9:48]  # salt and nonce prefix
    assert first[HEADER_SIZE:] != second[HEADER_SIZE:]


class TrickleStream(io.RawIOBase):
    """Raw stream returning at most a few bytes per read, like a slow socket."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data = memoryview(data)
        self._position = 0
        self._step = step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._step, len(self._data) - self._position)
        buffer[:size] = self._data[self._position : self._position + size]
        self._position += size
        return size


def test_it_survives_short_reads(keyring: Keyring) -> None:
    data = payload(CHUNK * 3)
    dst = io.BytesIO()
    encrypt_stream(TrickleStream(data), dst, keyring=keyring, aad=AAD, chunk_size=CHUNK)
    assert dst.getvalue()[HEADER_SIZE:] != b""
    plain = b"".join(decrypt_stream(TrickleStream(dst.getvalue()), keyring=keyring, aad=AAD))
    assert plain == data


def test_it_reads_the_key_id_and_supports_rotation() -> None:
    old = encrypt_bytes(payload(2000), Keyring([K1]))
    rotated = Keyring([K2, K1])
    assert file_key_id(io.BytesIO(old)) == "k1"
    assert drain(old, rotated) == (payload(2000), None)
    new = encrypt_bytes(payload(2000), rotated)
    assert file_key_id(io.BytesIO(new)) == "k2"


def test_it_counts_one_encryption_per_chunk() -> None:
    counter = InMemoryUsageCounter()
    ring = Keyring([K1], counter=counter, reservation_block=1)
    encrypt_bytes(payload(CHUNK * 7 // 2), ring)
    assert counter.total("k1") == 4
    encrypt_bytes(b"", ring)
    assert counter.total("k1") == 5


def test_it_stops_with_key_exhausted_when_the_budget_runs_out() -> None:
    ring = Keyring([K1], max_encryptions_per_key=3, reservation_block=1)
    with pytest.raises(KeyExhausted):
        encrypt_bytes(payload(CHUNK * 7 // 2), ring)


def test_it_rejects_invalid_chunk_sizes(keyring: Keyring) -> None:
    for chunk_size in (0, -1, 16 * 1024 * 1024 + 1):
        with pytest.raises(ValueError, match="chunk_size"):
            encrypt_stream(
                io.BytesIO(b"x"), io.BytesIO(), keyring=keyring, aad=AAD, chunk_size=chunk_size
            )


# --------------------------------------------------------------------------- attacks


DATA = payload(CHUNK * 7 // 2)  # 4 chunks: 3 full ones and a half one


def test_it_rejects_a_wrong_aad_before_yielding_anything(keyring: Keyring) -> None:
    token = encrypt_bytes(DATA, keyring)
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(token), keyring=keyring, aad=OTHER_AAD)


def test_it_rejects_wrong_key_material_and_unknown_keys(keyring: Keyring) -> None:
    token = encrypt_bytes(DATA, keyring)
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(token), keyring=Keyring([Key("k1", b"\x07" * 32)]), aad=AAD)
    with pytest.raises(UnknownKey):
        decrypt_stream(io.BytesIO(token), keyring=Keyring([K2]), aad=AAD)


def test_it_rejects_a_file_missing_its_last_chunk(keyring: Keyring) -> None:
    header, chunks = split(encrypt_bytes(DATA, keyring))
    assert len(chunks) == 4
    received, error = drain(header + b"".join(chunks[:-1]), keyring)
    assert isinstance(error, DecryptionError)
    assert received == DATA[: 2 * CHUNK]  # the third chunk, now seemingly last, is refused


def test_it_rejects_a_file_missing_its_last_chunk_at_a_chunk_boundary(keyring: Keyring) -> None:
    data = payload(CHUNK * 3)
    header, chunks = split(encrypt_bytes(data, keyring))
    assert len(chunks) == 3
    received, error = drain(header + b"".join(chunks[:-1]), keyring)
    assert isinstance(error, DecryptionError)
    assert received == data[:CHUNK]


def test_it_rejects_a_file_missing_its_last_byte(keyring: Keyring) -> None:
    token = encrypt_bytes(DATA, keyring)
    received, error = drain(token[:-1], keyring)
    assert isinstance(error, DecryptionError)
    assert received == DATA[: 3 * CHUNK]


def test_it_rejects_every_truncation(keyring: Keyring) -> None:
    token = encrypt_bytes(payload(2500), keyring)
    for length in range(len(token)):
        received, error = drain(token[:length], keyring)
        assert isinstance(error, DecryptionError), length
        assert payload(2500).startswith(received)
        assert len(received) % CHUNK == 0


def test_it_rejects_a_file_with_only_a_header(keyring: Keyring) -> None:
    token = encrypt_bytes(DATA, keyring)
    with pytest.raises(DecryptionError, match="truncated"):
        decrypt_stream(io.BytesIO(token[:HEADER_SIZE]), keyring=keyring, aad=AAD)


def test_it_rejects_data_appended_after_the_final_chunk(keyring: Keyring) -> None:
    data = payload(CHUNK * 2)
    header, chunks = split(encrypt_bytes(data, keyring))
    received, error = drain(header + b"".join(chunks) + chunks[-1], keyring)
    assert isinstance(error, DecryptionError)
    assert received == data[:CHUNK]
    received, error = drain(header + b"".join(chunks) + b"\x00", keyring)
    assert isinstance(error, DecryptionError)


def test_it_rejects_reordered_chunks(keyring: Keyring) -> None:
    header, chunks = split(encrypt_bytes(DATA, keyring))
    swapped = [chunks[0], chunks[2], chunks[1], chunks[3]]
    received, error = drain(header + b"".join(swapped), keyring)
    assert isinstance(error, DecryptionError)
    assert received == DATA[:CHUNK]


def test_it_rejects_duplicated_chunks(keyring: Keyring) -> None:
    header, chunks = split(encrypt_bytes(DATA, keyring))
    duplicated = [chunks[0], chunks[1], chunks[1], chunks[2], chunks[3]]
    received, error = drain(header + b"".join(duplicated), keyring)
    assert isinstance(error, DecryptionError)
    assert received == DATA[: 2 * CHUNK]


def test_it_rejects_a_chunk_spliced_from_another_file(keyring: Keyring) -> None:
    header, chunks = split(encrypt_bytes(DATA, keyring))
    _, foreign = split(encrypt_bytes(payload(len(DATA), seed=1), keyring))
    spliced = [chunks[0], foreign[1], chunks[2], chunks[3]]
    received, error = drain(header + b"".join(spliced), keyring)
    assert isinstance(error, DecryptionError)
    assert received == DATA[:CHUNK]


def test_it_rejects_the_body_of_another_file_under_a_copied_header(keyring: Keyring) -> None:
    header, _ = split(encrypt_bytes(DATA, keyring))
    _, foreign = split(encrypt_bytes(DATA, keyring))
    with pytest.raises(DecryptionError):
        decrypt_stream(io.BytesIO(header + b"".join(foreign)), keyring=keyring, aad=AAD)


def test_it_rejects_any_modified_header_byte_before_yielding(keyring: Keyring) -> None:
    token = encrypt_bytes(DATA, keyring)
    for position in range(HEADER_SIZE):
        tampered = bytearray(token)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            decrypt_stream(io.BytesIO(bytes(tampered)), keyring=keyring, aad=AAD)


def test_it_rejects_any_modified_body_byte_without_yielding_it(keyring: Keyring) -> None:
    data = payload(2500)
    token = encrypt_bytes(data, keyring)
    for position in range(HEADER_SIZE, len(token)):
        tampered = bytearray(token)
        tampered[position] ^= 0x80
        received, error = drain(bytes(tampered), keyring)
        assert isinstance(error, DecryptionError), position
        bad_chunk = (position - HEADER_SIZE) // (CHUNK + TAG)
        assert received == data[: bad_chunk * CHUNK]


def test_it_rejects_files_that_are_not_encrypted(keyring: Keyring) -> None:
    for junk in (b"", b"CPTS", b"%PDF-1.7 hello", MAGIC + b"\x00" + b"\x00" * 50):
        with pytest.raises(DecryptionError):
            decrypt_stream(io.BytesIO(junk), keyring=keyring, aad=AAD)


# --------------------------------------------------------------------------- memory


class GeneratedStream(io.RawIOBase):
    """Readable raw stream of ``size`` bytes produced on the fly (never held in memory)."""

    def __init__(self, size: int, pattern: bytes) -> None:
        self._remaining = size
        self._pattern = memoryview(pattern)
        self._period = len(pattern) // 2
        self._offset = 0
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._remaining, self._period)
        start = self._offset % self._period
        view = self._pattern[start : start + size]
        buffer[:size] = view
        self.digest.update(view)
        self._offset += size + 1  # shift the pattern so chunks differ
        self._remaining -= size
        return size


class HashingSink(io.RawIOBase):
    """Writable stream that only hashes what it receives."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.digest.update(data)
        self.size += len(data)
        return len(data)


def test_it_streams_200_mb_in_bounded_memory(keyring: Keyring) -> None:
    size = 200 * 1024 * 1024
    chunk_size = 1024 * 1024
    source = GeneratedStream(size, os.urandom(2 * chunk_size))
    sink = HashingSink()
    started = time.perf_counter()
    with tempfile.TemporaryFile() as encrypted:
        tracemalloc.start()
        try:
            baseline = tracemalloc.get_traced_memory()[0]
            written = encrypt_stream(
                source, encrypted, keyring=keyring, aad=AAD, chunk_size=chunk_size
            )
            encrypted.seek(0)
            decrypted = decrypt_to(encrypted, sink, keyring=keyring, aad=AAD)
            peak = tracemalloc.get_traced_memory()[1] - baseline
        finally:
            tracemalloc.stop()
        assert encrypted.tell() == HEADER_SIZE + size + 200 * TAG
    elapsed = time.perf_counter() - started
    assert written == decrypted == sink.size == size
    assert sink.digest.digest() == source.digest.digest()
    assert peak < 32 * 1024 * 1024, f"peak extra memory {peak / 2**20:.1f} MiB"
    assert elapsed < 30, f"took {elapsed:.1f} s"
