"""Check rules of French health identifiers, on DOMAIN.md's vectors and broken ones."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from directory.identifiers import (
    luhn_complete,
    luhn_is_valid,
    nir_key,
    validate_adeli,
    validate_finess,
    validate_nir,
    validate_rpps,
)


@pytest.mark.parametrize(
    "nir",
    [
        "279035121518989",  # the ANS test INS of the CDA examples
        "255081416802538",
        "280052A00412357",  # Corsica 2A
        "180052B03312340",  # Corsica 2B
        "2 79 03 51 215 189 89",  # typed with spaces
        "280052a00412357",  # lower-case Corsica letter
    ],
)
def test_it_accepts_valid_nirs(nir: str) -> None:
    validate_nir(nir)


@pytest.mark.parametrize(
    ("nir", "code"),
    [
        ("255081416802539", "key"),  # wrong key
        ("284058832102530", "key"),  # the CNAM README example whose key is wrong
        ("280052A00412358", "key"),  # Corsica with a wrong key
        ("180052B03312357", "key"),  # 2B body with the 2A key
        ("27903512151898", "length"),  # 14 characters
        ("2790351215189890", "length"),  # 16 characters
        ("27903512151898X", "format"),  # a letter in the key
        ("2790351A1518989", "format"),  # a letter outside the département
        ("580052C00412357", "format"),  # 2C is no département
    ],
)
def test_it_refuses_invalid_nirs(nir: str, code: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_nir(nir)
    assert error.value.code == code


def test_it_computes_the_corsica_key_with_the_substitution() -> None:
    assert nir_key("280052A004123") == 57
    assert nir_key("180052B033123") == 40


@pytest.mark.parametrize("rpps", ["01234567897", "10005173140", "10000000009"])
def test_it_accepts_valid_rpps(rpps: str) -> None:
    validate_rpps(rpps)


@pytest.mark.parametrize(
    ("rpps", "code"),
    [
        ("10101201234", "key"),  # FR Core's fictitious example fails Luhn
        ("01234567898", "key"),
        ("0123456789", "format"),  # 10 digits
        ("012345678970", "format"),  # 12 digits
        ("0123456789A", "format"),
        ("", "format"),
    ],
)
def test_it_refuses_invalid_rpps(rpps: str, code: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_rpps(rpps)
    assert error.value.code == code


def test_it_says_when_the_rpps_key_is_wrong() -> None:
    with pytest.raises(ValidationError) as error:
        validate_rpps("10101201234")
    assert "clé" in str(error.value.message)


@pytest.mark.parametrize("finess", ["750803447", "130000003", "2A0000012", "2b1234567"])
def test_it_accepts_valid_finess(finess: str) -> None:
    validate_finess(finess)


@pytest.mark.parametrize(
    ("finess", "code"),
    [
        ("120456789", "key"),  # the CDA example's fictitious FINESS
        ("750803448", "key"),
        ("75080344", "format"),
        ("7508034470", "format"),
        ("2C0000012", "format"),
        ("75O803447", "format"),  # letter O instead of zero
    ],
)
def test_it_refuses_invalid_finess(finess: str, code: str) -> None:
    with pytest.raises(ValidationError) as error:
        validate_finess(finess)
    assert error.value.code == code


@pytest.mark.parametrize("adeli", ["451234567", "2A1234567"])
def test_it_accepts_adeli_by_format(adeli: str) -> None:
    validate_adeli(adeli)


@pytest.mark.parametrize("adeli", ["45123456", "4512345678", "45123456X"])
def test_it_refuses_malformed_adeli(adeli: str) -> None:
    with pytest.raises(ValidationError):
        validate_adeli(adeli)


def test_luhn_complete_builds_numbers_that_pass() -> None:
    for partial in ("1000000000", "4500001", "123"):
        number = luhn_complete(partial)
        assert number.startswith(partial)
        assert luhn_is_valid(number)
        assert not luhn_is_valid(number[:-1] + str((int(number[-1]) + 1) % 10))
