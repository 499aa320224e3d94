"""The database usage counter: the nonce budget holds across processes and restarts."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from django.db import connection, connections, transaction
from django.test import override_settings

from security.crypto import (
    Key,
    KeyExhausted,
    Keyring,
    associated_data,
    encrypt,
    keyring_from_settings,
    reset_keyring_cache,
)
from security.keys import DatabaseUsageCounter
from security.models import KeyUsage
from tests.testapp.models import SecretNote

pytestmark = pytest.mark.django_db

KEY = Key("usage-test", b"\x07" * 32)
AAD = associated_data("t", "c", "r")


@pytest.fixture(params=[None, False], ids=["detected", "update-fallback"])
def counter(request: pytest.FixtureRequest) -> DatabaseUsageCounter:
    """The counter as configured (upsert where supported), and its fallback path."""
    return DatabaseUsageCounter(upsert=request.param)


@pytest.fixture
def fresh_keyring_cache() -> Iterator[None]:
    reset_keyring_cache()
    yield
    reset_keyring_cache()


def recorded(key_id: str) -> int:
    return KeyUsage.objects.get(key_id=key_id).encryptions


def test_it_returns_the_new_total(counter: DatabaseUsageCounter) -> None:
    assert counter.reserve("k", 5) == 5
    assert counter.reserve("k", 3) == 8
    assert counter.reserve("other", 1) == 1
    assert recorded("k") == 8


def test_it_rejects_a_non_positive_reservation(counter: DatabaseUsageCounter) -> None:
    with pytest.raises(ValueError, match="positive"):
        counter.reserve("k", 0)


def test_it_counts_across_two_keyrings_sharing_the_database(
    counter: DatabaseUsageCounter,
) -> None:
    # Two keyrings stand for two processes: each reserves its own block of 10.
    first = Keyring([KEY], counter=counter, reservation_block=10)
    second = Keyring([KEY], counter=DatabaseUsageCounter(), reservation_block=10)

    encrypt(b"a", aad=AAD, keyring=first)
    encrypt(b"b", aad=AAD, keyring=second)

    assert recorded(KEY.id) == 20


def test_it_enforces_the_budget_across_keyrings(counter: DatabaseUsageCounter) -> None:
    first = Keyring([KEY], counter=counter, max_encryptions_per_key=25, reservation_block=10)
    second = Keyring([KEY], counter=counter, max_encryptions_per_key=25, reservation_block=10)
    for _ in range(10):
        encrypt(b"a", aad=AAD, keyring=first)
    encrypt(b"b", aad=AAD, keyring=second)  # the counter is now at 20

    # Only 5 of the 25 remain for the first ring, although it asks for a block of 10.
    for _ in range(5):
        encrypt(b"a", aad=AAD, keyring=first)
    with pytest.raises(KeyExhausted):
        encrypt(b"a", aad=AAD, keyring=first)


@pytest.mark.usefixtures("fresh_keyring_cache")
def test_it_raises_key_exhausted_when_the_settings_budget_is_spent() -> None:
    with override_settings(ENCRYPTION_MAX_PER_KEY=3):
        reset_keyring_cache()
        for number in range(3):
            SecretNote.objects.create(body=f"note {number}")
        with pytest.raises(KeyExhausted, match="rotate_keys"), transaction.atomic():
            SecretNote.objects.create(body="one too many")

        # A restarted process sees the spent budget at once: the count is in the database.
        reset_keyring_cache()
        with pytest.raises(KeyExhausted):
            encrypt(b"x", aad=AAD, keyring=keyring_from_settings())


@pytest.mark.django_db(transaction=True)
def test_it_counts_atomically_from_concurrent_connections() -> None:
    threads_count, reservations = 4, 20
    errors: list[BaseException] = []
    start = threading.Barrier(threads_count)

    def reserve_many() -> None:
        try:
            start.wait()
            counter = DatabaseUsageCounter()
            for _ in range(reservations):
                counter.reserve("concurrent", 1)
        except BaseException as error:  # noqa: BLE001 (reported by the main thread)
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve_many) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert recorded("concurrent") == threads_count * reservations
    assert connection.vendor in {"sqlite", "postgresql"}
