"""French health identifiers and their check rules (DOMAIN.md Part A "Check rules in force").

- NIR / INS: 13 characters + a 2-digit key, key = 97 - (body mod 97), Corsica 2A -> 19,
  2B -> 18. Hard check. The structure is validated leniently (incomplete civil records use
  odd months), the key strictly.
- RPPS: 11 digits (hard) with a Luhn key (refused, with a message that says it is the key).
- FINESS: 9 characters, Luhn key (hard), except Corsica 2A/2B whose key rule is unknown:
  format only.
- ADELI: format only; no key algorithm is published.

Each validator is a plain function raising django.core.exceptions.ValidationError so that
model fields, serializers and forms share it.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

NIR_RE = re.compile(r"^[1-478]\d{4}(\d{2}|2A|2B)\d{6}\d{2}$")
FINESS_RE = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
ADELI_RE = re.compile(r"^(\d{2}|2A|2B)\d{7}$")
RPPS_RE = re.compile(r"^\d{11}$")


def normalise_nir(value: str) -> str:
    """Upper case, spaces removed: how a NIR is typed is not part of the number."""
    return re.sub(r"\s+", "", value).upper()


def nir_key(body13: str) -> int:
    """The NIR control key of a 13-character body (Corsica letters replaced first)."""
    digits = body13.upper().replace("2A", "19").replace("2B", "18")
    return 97 - (int(digits) % 97)


def luhn_is_valid(digits: str) -> bool:
    """Luhn (mod 10) over a string of digits."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_complete(partial: str) -> str:
    """Append the Luhn digit to `partial` (used to build valid demo and test identifiers)."""
    for check in "0123456789":
        if luhn_is_valid(partial + check):
            return partial + check
    raise AssertionError("unreachable: one digit always completes a Luhn number")


def validate_nir(value: str) -> None:
    """Validate a 15-character NIR / matricule INS, key included."""
    nir = normalise_nir(value)
    if len(nir) != 15:
        raise ValidationError(
            _("Le NIR/INS doit compter 15 caractères (13 + clé de 2 chiffres)."), code="length"
        )
    if not NIR_RE.match(nir):
        raise ValidationError(
            _("Le NIR/INS contient des caractères inattendus (chiffres, ou 2A/2B pour la Corse)."),
            code="format",
        )
    if nir_key(nir[:13]) != int(nir[13:]):
        raise ValidationError(_("La clé du NIR/INS est incorrecte."), code="key")


def validate_rpps(value: str) -> None:
    """Validate an RPPS number: 11 digits and its Luhn key."""
    if not RPPS_RE.match(value):
        raise ValidationError(
            _("Le numéro RPPS doit compter exactement 11 chiffres."), code="format"
        )
    if not luhn_is_valid(value):
        raise ValidationError(
            _("La clé de contrôle (Luhn) du numéro RPPS est incorrecte : vérifiez le numéro."),
            code="key",
        )


def validate_finess(value: str) -> None:
    """Validate a FINESS number: 9 characters and a Luhn key (Corsica: format only)."""
    finess = value.upper()
    if not FINESS_RE.match(finess):
        raise ValidationError(
            _("Le numéro FINESS doit compter 9 caractères (département puis 7 chiffres)."),
            code="format",
        )
    if finess[:2] in ("2A", "2B"):
        return  # no published key rule for Corsica: format only (DOMAIN.md B §3.5)
    if not luhn_is_valid(finess):
        raise ValidationError(_("La clé de contrôle du numéro FINESS est incorrecte."), code="key")


def validate_adeli(value: str) -> None:
    """Validate an ADELI number: format only (no published key algorithm)."""
    if not ADELI_RE.match(value.upper()):
        raise ValidationError(
            _("Le numéro ADELI doit compter 9 caractères (département puis 7 chiffres)."),
            code="format",
        )
