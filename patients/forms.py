"""The patient block of a page form (`patient.<key>` inputs): its fields, their labels, and
the identity read back from a POST. One block for every page that takes an identity (a
conversation's patient, a patient included in a protocol), so the labels and keys agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

PATIENT_KEYS = (
    "identity_status",
    "ins",
    "birth_family_name",
    "used_family_name",
    "given_names",
    "birth_date",
    "sex",
    "birth_place_insee",
)


def patient_from(post: QueryDict) -> dict[str, Any] | None:
    """The patient fields of a form (`patient.<key>`), or None when all are blank."""
    patient = {key: post.get(f"patient.{key}", "").strip() for key in PATIENT_KEYS}
    if not any(value for key, value in patient.items() if key != "identity_status"):
        return None
    return {key: value for key, value in patient.items() if value}


PATIENT_FIELDS = [
    ("birth_family_name", _("Nom de naissance"), "text", None),
    ("used_family_name", _("Nom d'usage"), "text", None),
    ("given_names", _("Prénoms de naissance"), "text", None),
    ("birth_date", _("Date de naissance"), "date", None),
    (
        "sex",
        _("Sexe"),
        "",
        [("", "—"), ("F", _("Féminin")), ("M", _("Masculin")), ("U", _("Inconnu"))],
    ),
    (
        "identity_status",
        _("Statut de l'identité"),
        "",
        [
            ("PROV", _("Provisoire")),
            ("RECUP", _("Récupérée")),
            ("VALI", _("Validée")),
            ("QUAL", _("Qualifiée")),
        ],
    ),
    ("ins", _("INS (identité qualifiée)"), "text", None),
    ("birth_place_insee", _("Lieu de naissance (code INSEE)"), "text", None),
]


def patient_fields(
    post: Mapping[str, Any] | None, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    """The patient block of a form, with the values typed (`patient.<key>`) and their errors."""
    return [
        {
            "key": key,
            "label": label,
            "type": kind,
            "choices": choices,
            "value": post.get(f"patient.{key}", "") if post is not None else "",
            "error": errors.get(f"patient.{key}"),
        }
        for key, label, kind, choices in PATIENT_FIELDS
    ]


def as_posted(identity: Mapping[str, Any]) -> dict[str, str]:
    """An identity (a sheet's patient) as the block's `patient.<key>` values, to prefill it."""
    return {f"patient.{key}": str(identity[key]) for key in PATIENT_KEYS if identity.get(key)}
