"""The patient identity (DOMAIN.md Part A "Patient identity", B §3.2): its validation, its
blind indexes, and the indexes of a search. One module for every app that holds one.

A liaison sheet and a conversation store the identity encrypted, next to three keyed blind
indexes (`INDEX_FIELDS`) so that SQL can find a patient without decrypting anything. An index
is only useful if the value searched goes through exactly the same steps as the value stored:
computing both here is what lets a search in messaging find the INS a liaison sheet stored.

The steps:
- the INS (the NIR) is a number: every kind of space goes and letters are upper-cased
  (`directory.identifiers.normalise_nir`, the same rule that checks its key), when it is
  stored and when it is searched. Typed with non-breaking spaces (pasted from a letter), it
  is the same number;
- names go through `security.crypto.normalise_identifier` inside the blind index (case,
  accents, ligatures, runs of spaces), joined to the birth date: a family name alone is too
  common to identify anyone, so a name is only ever indexed and searched with a birth date.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import StrictSerializer
from directory.identifiers import normalise_nir, validate_nir
from security.exceptions import FieldErrors
from security.fields import compute_blind_index

IDENTITY_STATUSES = ["PROV", "RECUP", "VALI", "QUAL"]
# The blind index columns every model holding an identity declares (BlindIndexField).
INDEX_FIELDS = ("ins_index", "birth_name_index", "used_name_index")
NAME_INDEX_FIELDS = ("birth_name_index", "used_name_index")
# Purposes of the blind indexes: changing one invalidates every stored index.
INS_PURPOSE = "ins"
NAME_PURPOSE = "family_name+birth_date"


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, **kwargs)


class PatientSerializer(StrictSerializer):
    """The identity's keys and their shape; a draft may leave any of them empty."""

    identity_status = serializers.ChoiceField(IDENTITY_STATUSES, default="PROV")
    ins = serializers.CharField(required=False, allow_blank=True, max_length=21)
    birth_family_name = _text(max_length=100)
    used_family_name = _text(max_length=100)
    given_names = _text(max_length=200)
    birth_date = serializers.DateField(required=False, allow_null=True)
    sex = serializers.ChoiceField(["F", "M", "U"], required=False, allow_blank=True)
    birth_place_insee = serializers.RegexField(
        r"^(\d{5}|2[AB]\d{3})$", required=False, allow_blank=True
    )
    address = _text(max_length=300)
    phone = _text(max_length=30)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict) and data.get("identity_status") in ("", None):
            data = {**data, "identity_status": "PROV"}  # not stated = provisional (RNIV)
        return super().to_internal_value(data)

    def validate_ins(self, value: str) -> str:
        if value:
            validate_nir(value)
        # Stored as the number it is, whatever spaces it was typed with (see the module).
        return normalise_nir(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The INS travels only with a qualified identity (RNIV, DOMAIN.md B §3.2).
        if attrs.get("ins") and attrs.get("identity_status", "PROV") != "QUAL":
            raise serializers.ValidationError(
                {"ins": [_("L'INS n'est accepté qu'avec une identité qualifiée (QUAL).")]}
            )
        return attrs


def validated_patient(data: Mapping[str, Any]) -> dict[str, Any]:
    """The identity as it is stored (plain JSON, dates as ISO strings), or FieldErrors.

    Errors are named `patient.<key>`, as the API reports them.
    """
    serializer = PatientSerializer(data=dict(data))
    if not serializer.is_valid():
        raise FieldErrors({f"patient.{key}": value for key, value in serializer.errors.items()})
    return json.loads(json.dumps(serializer.validated_data, cls=DjangoJSONEncoder))


def ins_index(ins: str) -> str:
    """The blind index of an INS, or "" when there is none (no INS, or only spaces)."""
    number = normalise_nir(ins or "")
    return compute_blind_index(INS_PURPOSE, number) if number else ""


def name_index(family_name: str, birth_date: date | str | None) -> str:
    """The blind index of a family name with a birth date, or "" when either is missing."""
    name = (family_name or "").strip()  # " Lefèvre " is Lefèvre: the bar must follow the name
    if not name or not birth_date:
        return ""
    day = birth_date.isoformat() if isinstance(birth_date, date) else str(birth_date)
    return compute_blind_index(NAME_PURPOSE, f"{name}|{day}")


def identity_indexes(patient: Mapping[str, Any]) -> dict[str, str]:
    """The values of `INDEX_FIELDS` for a stored identity: INS, birth name and used name.

    Computed from the identity each time it is stored, never copied from another row, so
    that an index always says what the identity next to it says.
    """
    birth_date = patient.get("birth_date") or None
    return {
        "ins_index": ins_index(patient.get("ins") or ""),
        "birth_name_index": name_index(patient.get("birth_family_name") or "", birth_date),
        "used_name_index": name_index(patient.get("used_family_name") or "", birth_date),
    }


def patient_search(
    *,
    ins: str = "",
    family_name: str = "",
    birth_date: date | None = None,
    through: Sequence[str] = ("",),
) -> Q:
    """The condition "the patient is the one searched for", on rows holding `INDEX_FIELDS`.

    `through` lists where the indexes are, as lookup prefixes: `("",)` for the row's own
    columns, `("", "liaison_sheet__")` for a conversation that may carry the identity
    itself or through its liaison sheet (any of them matching is enough). Nothing searched
    gives `Q()`. A family name without a birth date matches nothing: the name is only
    indexed with the birth date, and a search must never widen to every patient.
    """
    condition = Q()
    if ins and ins.strip():
        index = ins_index(ins)
        condition &= _any_of(through, ("ins_index",), index)
    if family_name and family_name.strip():
        index = name_index(family_name, birth_date)
        if not index:
            return Q(pk__in=[])
        condition &= _any_of(through, NAME_INDEX_FIELDS, index)
    return condition


def _any_of(prefixes: Sequence[str], fields: Sequence[str], index: str) -> Q:
    condition = Q()
    for prefix in prefixes:
        for field in fields:
            condition |= Q(**{f"{prefix}{field}": index})
    return condition
