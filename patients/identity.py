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
import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import Q
from django.utils.timezone import localdate
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from config.serializers import Serializer, StrictSerializer
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

IDENTITY_STATUS_LABELS = {
    "PROV": _("Provisoire"),
    "RECUP": _("Récupérée"),
    "VALI": _("Validée"),
    "QUAL": _("Qualifiée"),
}
# RNIV: a validated or qualified identity carries every strict trait (DOMAIN.md B §3.2).
STRICT_TRAITS = ("birth_family_name", "given_names", "birth_date", "sex", "birth_place_insee")
EARLIEST_BIRTH_DATE = date(1900, 1, 1)
# An INSEE code of a birth place: a commune (department 01-19, 21-95, 2A/2B for Corsica,
# 97x/98x overseas) or a country (99xxx). "20" is gone since 1976 and "00" never existed.
BIRTH_PLACE_RE = re.compile(r"^(0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-9])\d{3}$")
# The sex digit of an INS: 1 man, 2 woman. 3/4 (foreign person being registered) and 7/8
# (temporary number) are not compared: DOMAIN.md C.2 does not say which sex each one means.
INS_SEX = {"1": "M", "2": "F"}


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
    birth_place_insee = _text(max_length=10)  # the shape is judged in identity_errors
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

    def validate_birth_place_insee(self, value: str) -> str:
        return value.strip().upper()  # "2a004" is Ajaccio; its shape is judged with the rest

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The INS travels only with a qualified identity (RNIV, DOMAIN.md B §3.2).
        if attrs.get("ins") and attrs.get("identity_status", "PROV") != "QUAL":
            raise serializers.ValidationError(
                {"ins": [_("L'INS n'est accepté qu'avec une identité qualifiée (QUAL).")]}
            )
        # The coherence of the traits is judged on a whole identity only: nested in a write
        # body (a PATCH may carry one trait), the service checks the merged identity again
        # through validated_patient, where this serializer is the root. Its errors are named
        # `patient.<key>` there, whichever app stores the identity.
        if self.parent is None:
            errors = identity_errors(attrs)
            if errors:
                raise serializers.ValidationError(errors)
        return attrs


def identity_errors(patient: Mapping[str, Any]) -> dict[str, list[str]]:
    """What makes a (shape-valid) identity incoherent, by key: the RNIV rules (DOMAIN.md C.2).

    - a birth date is neither in the future nor before 1900 (a typing slip, not a patient);
    - an INSEE birth place code has the shape of a commune (2A/2B in Corsica, 97x/98x
      overseas) or of a country (99xxx);
    - a validated or qualified identity has every strict trait, and a qualified one an INS;
    - the INS's sex digit agrees with the sex, and its year and month with the birth date
      when its month is a real one (01-12: other values stand for an unknown month).
    """
    errors: dict[str, list[str]] = {}
    birth_date = _as_date(patient.get("birth_date"))
    if birth_date is not None and birth_date > localdate():
        errors["birth_date"] = [_("La date de naissance est dans le futur.")]
    elif birth_date is not None and birth_date < EARLIEST_BIRTH_DATE:
        errors["birth_date"] = [_("La date de naissance est antérieure à 1900.")]
    place = patient.get("birth_place_insee") or ""
    if place and not BIRTH_PLACE_RE.match(place):
        errors["birth_place_insee"] = [
            _(
                "Code INSEE du lieu de naissance invalide : 5 caractères, 2A ou 2B pour la "
                "Corse, 99 suivi du code du pays pour une naissance à l'étranger."
            )
        ]
    status = patient.get("identity_status") or "PROV"
    if status in ("VALI", "QUAL"):
        label = IDENTITY_STATUS_LABELS[status].lower()
        for key in STRICT_TRAITS:
            if not patient.get(key):
                errors[key] = [_("Obligatoire pour une identité %(status)s.") % {"status": label}]
    ins = normalise_nir(patient.get("ins") or "")
    if status == "QUAL" and not ins:
        errors["ins"] = [_("Obligatoire pour une identité qualifiée.")]
    if len(ins) != 15:
        return errors
    sex = patient.get("sex") or ""
    expected_sex = INS_SEX.get(ins[0])
    if expected_sex and sex in ("F", "M") and sex != expected_sex:
        errors.setdefault("sex", []).append(
            _("Ne concorde pas avec l'INS, dont le premier chiffre indique le sexe %(sex)s.")
            % {"sex": _("masculin") if expected_sex == "M" else _("féminin")}
        )
    month = int(ins[3:5])
    born = (birth_date.year % 100, birth_date.month) if birth_date else None
    if born is not None and 1 <= month <= 12 and born != (int(ins[1:3]), month):
        errors.setdefault("birth_date", []).append(
            _("Ne concorde pas avec l'INS, qui indique une naissance en %(month)s/%(year)s.")
            % {"month": ins[3:5], "year": ins[1:3]}
        )
    return errors


def identity_warnings(patient: Mapping[str, Any]) -> list[dict[str, str]]:
    """What the RNIV asks to check without refusing, as `{"field", "message"}` pairs.

    The birth place in the INS (its digits 6-10) may differ from the INSEE code of the
    birth place for good reasons (communes merged or renamed, births in former French
    territories), so a difference is shown, not refused. Computed from the stored identity
    each time it is shown, never stored: the identity stays the contract's keys only.
    """
    ins = normalise_nir(patient.get("ins") or "")
    place = (patient.get("birth_place_insee") or "").upper()
    if len(ins) == 15 and len(place) == 5 and ins[5:10] != place:
        return [
            {
                "field": "patient.birth_place_insee",
                "message": str(
                    _(
                        "À vérifier : le lieu de naissance (%(place)s) diffère de celui "
                        "qu'indique l'INS (%(ins_place)s)."
                    )
                    % {"place": place, "ins_place": ins[5:10]}
                ),
            }
        ]
    return []


def identity_status_label(status: str | None) -> str:
    """The identity status in words (a person never reads the code `PROV`)."""
    return str(IDENTITY_STATUS_LABELS.get(status or "PROV", IDENTITY_STATUS_LABELS["PROV"]))


SEX_LABELS = {"F": _("Féminin"), "M": _("Masculin"), "U": _("Inconnu")}


def identity_display(patient: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a page shows of an identity besides the names: its status in words (never the
    code `PROV`), the sex in words, the INS only when the identity is qualified (RNIV: the
    INS is not shown with a lesser status) and the points to check."""
    patient = patient or {}
    status = patient.get("identity_status") or "PROV"
    sex = patient.get("sex") or ""
    return {
        "status": identity_status_label(status),
        "sex": str(SEX_LABELS[sex]) if sex in SEX_LABELS else "",
        "ins": patient.get("ins") or "" if status == "QUAL" else "",
        "warnings": identity_warnings(patient),
    }


def _as_date(value: date | str | None) -> date | None:
    if isinstance(value, date) or value is None:
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


class IdentityWarningOutput(Serializer):
    """A point to check on the identity (RNIV "à vérifier"): shown, never refused."""

    field = serializers.CharField(help_text=_("The key it is about: patient.birth_place_insee."))
    message = serializers.CharField()


def validated_patient(data: Mapping[str, Any]) -> dict[str, Any]:
    """The identity as it is stored (plain JSON, dates as ISO strings), or FieldErrors.

    Errors are named `patient.<key>`, as the API reports them.
    """
    serializer = PatientSerializer(data=dict(data))
    if not serializer.is_valid():
        raise FieldErrors({f"patient.{key}": value for key, value in serializer.errors.items()})
    return json.loads(json.dumps(serializer.validated_data, cls=DjangoJSONEncoder))


# What identifies a patient outside a liaison sheet's draft (a conversation about a patient, a
# patient included in a protocol): the names and birth date of the RNIV minimum.
IDENTIFYING_TRAITS = ("birth_family_name", "given_names", "birth_date")


def identified_patient(data: Mapping[str, Any], *, required_message: str) -> dict[str, Any]:
    """`validated_patient` that also requires `IDENTIFYING_TRAITS`, or FieldErrors naming
    every problem at once (`patient.<key>`), with `required_message` for a missing trait."""
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    try:
        clean = validated_patient(data)
    except FieldErrors as error:
        errors.update(error.fields)
    source = clean or data
    for key in IDENTIFYING_TRAITS:
        if not source.get(key) and f"patient.{key}" not in errors:
            errors[f"patient.{key}"] = [required_message]
    if errors:
        raise FieldErrors(errors)
    return clean


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
