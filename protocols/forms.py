"""Parsing of the protocol editor and guide forms into the services' arguments.

The pages validate with the same serializers as the API, so the browser and the API accept
exactly the same content.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from directory.models import Member
from protocols.models import (
    PROFESSION_FIELDS,
    SECTION_FIELDS,
    SECTIONS,
    TRAINING_FIELDS,
    TRAINING_NUMBERS,
    ProtocolVersion,
)
from protocols.serializers import ProtocolVersionContentInput

TEXT_FIELDS = ("title", "change_note", "legal_reference", *SECTION_FIELDS)


def parse_content(post: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(content, field errors) from the editor form."""
    data: dict[str, Any] = {name: post.get(name, "") for name in TEXT_FIELDS if name in post}
    data["review_date"] = post.get("review_date") or None
    for name in TRAINING_FIELDS:
        if name in post:
            data[name] = post.get(name, "").strip() or None
    for name in PROFESSION_FIELDS:
        data[name] = post.getlist(name)
    body = ProtocolVersionContentInput(data=data, partial=True)
    if not body.is_valid():
        return data, {name: [str(e) for e in errors] for name, errors in body.errors.items()}
    return dict(body.validated_data), {}


def editor_sections(values: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"name": name, "title": title, "value": values.get(name, ""), "error": errors.get(name)}
        for name, title in SECTIONS
    ]


def training_inputs(values: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The two numbers of the délégués' training, shown under the training section."""
    return [
        {
            "name": name,
            "title": title,
            "value": "" if values.get(name) is None else values[name],
            "error": errors.get(name),
        }
        for name, title in TRAINING_NUMBERS
    ]


def version_values(version: ProtocolVersion | None) -> dict[str, Any]:
    if version is None:
        return {name: [] for name in PROFESSION_FIELDS}
    values = {
        name: getattr(version, name)
        for name in (*TEXT_FIELDS, *PROFESSION_FIELDS, *TRAINING_FIELDS)
    }
    values["review_date"] = version.review_date.isoformat() if version.review_date else ""
    return values


def profession_boxes(values: dict[str, Any], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    """For each profession list of the editor: its checkboxes with their state."""
    titles = {
        "delegant_professions": _("Délégants (professions)"),
        "delegate_professions": _("Délégués (professions)"),
        "professions": _("Professions concernées (protocole pluriprofessionnel)"),
    }
    return [
        {
            "name": name,
            "title": titles[name],
            "error": errors.get(name),
            "choices": [
                {"value": value, "label": label, "checked": value in (values.get(name) or [])}
                for value, label in Member.Profession.choices
            ],
        }
        for name in PROFESSION_FIELDS
    ]
