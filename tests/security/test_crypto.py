"""Tests of value encryption, key rings, nonce budget and blind indexes (no database)."""

from __future__ import annotations

import base64
import sys
import threading
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from security import crypto as crypto_module
from security.crypto import (
    CryptoError,
    DecryptionError,
    ImproperlyConfiguredKeys,
    InMemoryUsageCounter,
    Key,
    KeyExhausted,
    Keyring,
    UnknownKey,
    associated_data,
    blind_index,
    blind_index_key_from_settings,
    decrypt,
    encrypt,
    generate_key_spec,
    key_id_of,
    keyring_from_settings,
    normalise_identifier,
    parse_keyring,
    reset_keyring_cache,
)

K1 = Key("k1", b"\x01" * 32)
K2 = Key("k2", b"\x02" * 32)
AAD = associated_data("liaison_patient", "last_name", "8c1f6d1e-0000-4000-8000-000000000001")
OTHER_ROW = associated_data("liaison_patient", "last_name", "8c1f6d1e-0000-4000-8000-000000000002")
SECRET = "Dupont, diabète de type 2".encode()


class CountingCounter(InMemoryUsageCounter):
    """Usage counter that records how often the shared store would be written."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, int]] = []

    def reserve(self, key_id: str, n: int) -> int:
        self.calls.append((key_id, n))
        return super().reserve(key_id, n)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring([K1])


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("plaintext", [b"", b"x", SECRET, bytes(range(256)) * 40])
def test_it_round_trips_values(keyring: Keyring, plaintext: bytes) -> None:
    token = encrypt(plaintext, aad=AAD, keyring=keyring)
    assert decrypt(token, aad=AAD, keyring=keyring) == plaintext


def test_it_accepts_memoryview_and_bytearray_tokens(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    assert decrypt(memoryview(token), aad=AAD, keyring=keyring) == SECRET
    assert decrypt(bytearray(token), aad=AAD, keyring=keyring) == SECRET


def test_it_stores_the_key_id_and_a_fresh_nonce_in_each_token(keyring: Keyring) -> None:
    first = encrypt(SECRET, aad=AAD, keyring=keyring)
    second = encrypt(SECRET, aad=AAD, keyring=keyring)
    assert first != second
    assert first[:4] == b"\x01\x02k1" == second[:4]
    assert first[4:16] != second[4:16]  # nonces
    assert key_id_of(first) == "k1"
    assert len(first) == 1 + 1 + 2 + 12 + len(SECRET) + 16
    assert SECRET not in first


def test_it_rejects_a_ciphertext_copied_to_another_row(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    with pytest.raises(DecryptionError):
        decrypt(token, aad=OTHER_ROW, keyring=keyring)


def test_it_rejects_a_ciphertext_copied_to_another_column(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    other_column = associated_data(
        "liaison_patient", "first_name", "8c1f6d1e-0000-4000-8000-000000000001"
    )
    with pytest.raises(DecryptionError):
        decrypt(token, aad=other_column, keyring=keyring)


def test_it_encodes_associated_data_unambiguously() -> None:
    assert associated_data("ab", "c", "1") != associated_data("a", "bc", "1")
    assert associated_data("a", "b", "c1") != associated_data("a", "bc", "1")
    assert associated_data("t", "c", "1") == associated_data("t", "c", "1")


def test_it_raises_unknown_key_for_a_key_id_missing_from_the_ring(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=Keyring([K2]))
    with pytest.raises(UnknownKey) as excinfo:
        decrypt(token, aad=AAD, keyring=keyring)
    assert excinfo.value.key_id == "k2"
    assert "k2" in str(excinfo.value)
    with pytest.raises(UnknownKey):
        keyring.get("k2")


def test_it_rejects_wrong_key_material_under_the_same_id(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    impostor = Keyring([Key("k1", b"\x09" * 32)])
    with pytest.raises(DecryptionError) as excinfo:
        decrypt(token, aad=AAD, keyring=impostor)
    assert not isinstance(excinfo.value, UnknownKey)


def test_it_rejects_any_tampered_byte(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    for position in range(len(token)):
        for flip in (0x01, 0x80):
            tampered = bytearray(token)
            tampered[position] ^= flip
            with pytest.raises(DecryptionError):
                decrypt(bytes(tampered), aad=AAD, keyring=keyring)


def test_it_rejects_truncated_or_extended_tokens(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    for length in range(len(token)):
        with pytest.raises(DecryptionError):
            decrypt(token[:length], aad=AAD, keyring=keyring)
    with pytest.raises(DecryptionError):
        decrypt(token + b"\x00", aad=AAD, keyring=keyring)


def test_it_rejects_an_unknown_token_version(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    with pytest.raises(DecryptionError, match="version"):
        decrypt(b"\x02" + token[1:], aad=AAD, keyring=keyring)
    with pytest.raises(DecryptionError):
        key_id_of(b"\x02" + token[1:])


def test_it_makes_every_error_a_crypto_error_without_secrets(keyring: Keyring) -> None:
    token = encrypt(SECRET, aad=AAD, keyring=keyring)
    failures = [
        lambda: decrypt(token, aad=OTHER_ROW, keyring=keyring),
        lambda: decrypt(token[:-1], aad=AAD, keyring=keyring),
        lambda: decrypt(token, aad=AAD, keyring=Keyring([K2])),
        lambda: decrypt(token, aad=AAD, keyring=Keyring([Key("k1", b"\x09" * 32)])),
    ]
    for failure in failures:
        with pytest.raises(CryptoError) as excinfo:
            failure()
        message = str(excinfo.value)
        assert "Dupont" not in message
        assert repr(K1.material) not in message
        assert b64(K1.material) not in message


def test_it_keeps_key_material_out_of_reprs(keyring: Keyring) -> None:
    assert "\\x01" not in repr(K1)
    assert "\\x01" not in repr(keyring)
    assert "k1" in repr(keyring)


# --------------------------------------------------------------------------- rotation


def test_it_decrypts_old_tokens_after_rotation() -> None:
    old_ring = Keyring([K1])
    old_token = encrypt(SECRET, aad=AAD, keyring=old_ring)
    rotated = Keyring([K2, K1])
    assert decrypt(old_token, aad=AAD, keyring=rotated) == SECRET
    new_token = encrypt(SECRET, aad=AAD, keyring=rotated)
    assert key_id_of(new_token) == "k2"
    assert key_id_of(old_token) == "k1"
    assert rotated.primary == K2
    with pytest.raises(UnknownKey):
        decrypt(new_token, aad=AAD, keyring=old_ring)


def test_it_rejects_duplicate_ids_and_bad_keys_in_a_keyring() -> None:
    with pytest.raises(ImproperlyConfiguredKeys, match="Duplicate key id 'k1'"):
        Keyring([K1, Key("k1", b"\x03" * 32)])
    with pytest.raises(ImproperlyConfiguredKeys, match="32 bytes"):
        Key("k3", b"\x03" * 16)
    with pytest.raises(ImproperlyConfiguredKeys, match="key id"):
        Key("bad id!", b"\x03" * 32)
    with pytest.raises(ImproperlyConfiguredKeys, match="empty"):
        Keyring([])
    assert issubclass(ImproperlyConfiguredKeys, ValueError)


# --------------------------------------------------------------------------- parse_keyring


def test_it_parses_a_keyring_spec_newest_first() -> None:
    spec = f" k2:{b64(K2.material)} ,k1:{base64.urlsafe_b64encode(K1.material).decode()},"
    assert parse_keyring(spec) == [K2, K1]


def test_it_generates_fresh_valid_key_specs() -> None:
    first, second = generate_key_spec("2025-01"), generate_key_spec("2025-01")
    assert first != second
    assert first.startswith("2025-01:")
    [key] = parse_keyring(first)
    assert key.id == "2025-01"
    assert len(key.material) == 32
    with pytest.raises(ImproperlyConfiguredKeys):
        generate_key_spec("bad id")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (f"k1:{b64(b'x' * 32)},k2:not*base64", r"entry #2 \(id 'k2'\): key is not valid base64"),
        (f"k1:{b64(b'x' * 16)}", r"entry #1 \(id 'k1'\): key must decode to 32 bytes.*got 16"),
        (f"k1:{b64(b'x' * 32)},k1:{b64(b'y' * 32)}", r"entry #2 \(id 'k1'\): duplicate.*#1"),
        (f"bad id:{b64(b'x' * 32)}", r"entry #1: invalid key id"),
        (f"{'a' * 33}:{b64(b'x' * 32)}", r"entry #1: invalid key id"),
        (f":{b64(b'x' * 32)}", r"entry #1: invalid key id"),
        (b64(b"x" * 32), r"entry #1: expected 'id:base64key'"),
        (" , ", r"empty"),
    ],
)
def test_it_reports_the_faulty_entry_of_a_bad_spec(spec: str, expected: str) -> None:
    with pytest.raises(ImproperlyConfiguredKeys, match=expected) as excinfo:
        parse_keyring(spec)
    message = str(excinfo.value)
    assert b64(b"x" * 32) not in message
    assert b64(b"x" * 16) not in message


def test_it_never_echoes_a_key_pasted_in_place_of_the_id() -> None:
    material = b64(b"z" * 32)
    with pytest.raises(ImproperlyConfiguredKeys) as excinfo:
        parse_keyring(f"{material}:k1")
    assert material not in str(excinfo.value)
    assert material.rstrip("=") not in str(excinfo.value)


# --------------------------------------------------------------------------- nonce budget


def test_it_raises_key_exhausted_past_the_threshold() -> None:
    counter = CountingCounter()
    ring = Keyring([K1], counter=counter, max_encryptions_per_key=10, reservation_block=4)
    for _ in range(10):
        encrypt(b"v", aad=AAD, keyring=ring)
    with pytest.raises(KeyExhausted) as excinfo:
        encrypt(b"v", aad=AAD, keyring=ring)
    message = str(excinfo.value)
    assert "ENCRYPTION_KEYS" in message
    assert "python manage.py rotate_keys" in message
    assert "'k1'" in message
    # Once exhausted, the process stops writing to the shared counter.
    calls = len(counter.calls)
    with pytest.raises(KeyExhausted):
        encrypt(b"v", aad=AAD, keyring=ring)
    assert len(counter.calls) == calls
    # Decryption is not limited by the budget.
    token = encrypt(b"v", aad=AAD, keyring=Keyring([K1]))
    assert decrypt(token, aad=AAD, keyring=ring) == b"v"


def test_it_reserves_the_budget_in_blocks_not_per_call() -> None:
    counter = CountingCounter()
    ring = Keyring([K1], counter=counter)
    for _ in range(2500):
        encrypt(b"v", aad=AAD, keyring=ring)
    assert counter.calls == [("k1", 1024)] * 3
    assert counter.total("k1") == 3072


def test_it_shares_the_budget_between_processes_through_the_counter() -> None:
    counter = InMemoryUsageCounter()
    worker_a = Keyring([K1], counter=counter, max_encryptions_per_key=8, reservation_block=4)
    worker_b = Keyring([K1], counter=counter, max_encryptions_per_key=8, reservation_block=4)
    for _ in range(4):
        encrypt(b"v", aad=AAD, keyring=worker_a)
        encrypt(b"v", aad=AAD, keyring=worker_b)
    with pytest.raises(KeyExhausted):
        encrypt(b"v", aad=AAD, keyring=worker_a)
    with pytest.raises(KeyExhausted):
        encrypt(b"v", aad=AAD, keyring=worker_b)


def test_it_lets_encryption_resume_once_a_new_key_is_added_first() -> None:
    counter = InMemoryUsageCounter()
    ring = Keyring([K1], counter=counter, max_encryptions_per_key=2)
    encrypt(b"v", aad=AAD, keyring=ring)
    old = encrypt(b"v", aad=AAD, keyring=ring)
    with pytest.raises(KeyExhausted):
        encrypt(b"v", aad=AAD, keyring=ring)
    rotated = Keyring([K2, K1], counter=counter, max_encryptions_per_key=2)
    assert key_id_of(encrypt(b"v", aad=AAD, keyring=rotated)) == "k2"
    assert decrypt(old, aad=AAD, keyring=rotated) == b"v"


def test_it_counts_every_encryption_exactly_once_across_threads() -> None:
    counter = InMemoryUsageCounter()
    limit = 4000
    ring = Keyring([K1], counter=counter, max_encryptions_per_key=limit, reservation_block=64)
    successes: list[int] = []
    exhausted: list[int] = []

    def work() -> None:
        done = 0
        for _ in range(600):
            try:
                encrypt(b"v", aad=AAD, keyring=ring)
            except KeyExhausted:
                exhausted.append(1)
            else:
                done += 1
        successes.append(done)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(successes) == limit
    assert len(exhausted) == 8 * 600 - limit


# --------------------------------------------------------------------------- blind indexes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Lefèvre-  Dupont ", "LEFEVRE- DUPONT"),
        ("Éloïse", "ELOISE"),
        ("éloïse", "ELOISE"),
        ("Strauß", "STRAUSS"),
        ("Cœur", "COEUR"),
        ("Lætitia", "LAETITIA"),
        ("D’Artagnan", "D'ARTAGNAN"),
        ("D'Artagnan", "D'ARTAGNAN"),
        ("Jean\u2010Luc", "JEAN-LUC"),
        ("Marie\u00a0\t\nClaire", "MARIE CLAIRE"),
        ("ﬁlou", "FILOU"),
        ("Nguyễn", "NGUYEN"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_it_normalises_identifiers(raw: str, expected: str) -> None:
    assert normalise_identifier(raw) == expected


BLIND_KEY = b"\x10" * 32


def test_it_computes_deterministic_blind_indexes() -> None:
    first = blind_index("Lefèvre", key=BLIND_KEY, purpose="patient.last_name")
    assert first == blind_index("Lefèvre", key=BLIND_KEY, purpose="patient.last_name")
    assert len(first) == 64
    assert int(first, 16) >= 0
    assert first == first.lower()


def test_it_matches_blind_indexes_across_accents_case_and_spacing() -> None:
    expected = blind_index("LEFEVRE", key=BLIND_KEY, purpose="patient.last_name")
    for variant in ("lefèvre", " Lefevre ", "LEFÈVRE", "lefévre"):
        assert blind_index(variant, key=BLIND_KEY, purpose="patient.last_name") == expected


def test_it_separates_blind_indexes_by_purpose_and_key() -> None:
    base = blind_index("Martin", key=BLIND_KEY, purpose="patient.last_name")
    assert base != blind_index("Martin", key=BLIND_KEY, purpose="patient.first_name")
    assert base != blind_index("Martin", key=b"\x11" * 32, purpose="patient.last_name")
    assert base != blind_index("Martins", key=BLIND_KEY, purpose="patient.last_name")
    # Length-prefixed purpose: moving characters between purpose and value changes it.
    assert blind_index("B", key=BLIND_KEY, purpose="A") != blind_index(
        "", key=BLIND_KEY, purpose="AB"
    )


def test_it_rejects_weak_blind_index_keys_and_empty_purposes() -> None:
    with pytest.raises(ImproperlyConfiguredKeys):
        blind_index("x", key=b"short", purpose="p")
    with pytest.raises(ValueError, match="purpose"):
        blind_index("x", key=BLIND_KEY, purpose="")


# --------------------------------------------------------------------------- settings


@pytest.fixture
def fake_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.SimpleNamespace]:
    """Stand in for ``django.conf`` so the test needs no configured Django project."""
    settings = types.SimpleNamespace(
        ENCRYPTION_KEYS=[f"k2:{b64(K2.material)}", f"k1:{b64(K1.material)}"],
        BLIND_INDEX_KEY=BLIND_KEY,
    )
    monkeypatch.setitem(sys.modules, "django.conf", types.SimpleNamespace(settings=settings))
    reset_keyring_cache()
    yield settings
    reset_keyring_cache()


def test_it_builds_and_caches_the_keyring_from_settings(
    fake_settings: types.SimpleNamespace,
) -> None:
    ring = keyring_from_settings()
    assert [key.id for key in ring.keys] == ["k2", "k1"]
    assert ring.max_encryptions_per_key == 2**30
    assert keyring_from_settings() is ring
    reset_keyring_cache()
    assert keyring_from_settings() is not ring


def test_it_rebuilds_the_settings_keyring_when_settings_change(
    fake_settings: types.SimpleNamespace,
) -> None:
    ring = keyring_from_settings()
    fake_settings.ENCRYPTION_MAX_PER_KEY = 5
    rebuilt = keyring_from_settings()
    assert rebuilt is not ring
    assert rebuilt.max_encryptions_per_key == 5


def test_it_reports_bad_settings_keys(fake_settings: types.SimpleNamespace) -> None:
    fake_settings.ENCRYPTION_KEYS = ["k1:short"]
    with pytest.raises(ImproperlyConfiguredKeys, match="entry #1"):
        keyring_from_settings()
    fake_settings.ENCRYPTION_KEYS = None
    with pytest.raises(ImproperlyConfiguredKeys, match="ENCRYPTION_KEYS"):
        keyring_from_settings()


def test_it_reads_the_blind_index_key_from_settings(fake_settings: types.SimpleNamespace) -> None:
    assert blind_index_key_from_settings() == BLIND_KEY
    fake_settings.BLIND_INDEX_KEY = "not-bytes"
    with pytest.raises(ImproperlyConfiguredKeys, match="BLIND_INDEX_KEY"):
        blind_index_key_from_settings()


def test_it_does_not_import_django_at_module_level() -> None:
    source = Path(crypto_module.__file__).read_text(encoding="utf-8")
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in top_level if "django" in line]
