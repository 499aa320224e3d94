"""The French web form of a sheet, described once and used both to render and to parse.

A form spec is a list of sections; each field names its DOMAIN.md key (dots for nested
objects, `rows` for lists). The same spec renders the page and turns the POST back into the
patient and content dictionaries that the services validate, so the form cannot drift from
the data dictionary.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from django.http import QueryDict

# The fields, their labels and choices live in the catalogue (liaison.catalogue): the form,
# the pages, the PDF, the FHIR narrative and the error messages all read the same words.
from liaison.catalogue import (  # noqa: F401  (re-exported: the form's vocabulary)
    ALLERGY_COLUMNS,
    CHANGE,
    DISCHARGE_SECTIONS,
    ENTRY,
    EXIT,
    IDENTITY,
    MEDICATION_COLUMNS,
    PATIENT,
    REFERRAL_SECTIONS,
    SECTIONS,
    SEX,
    URGENCY,
    Column,
    Field,
    Section,
    label_of,
    labelled_message,
    reading_line,
)

ROW_LIMIT = 50


def _get(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _set(document: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    for part in parents:
        document = document.setdefault(part, {})
    document[last] = value


def _parse_rows(data: QueryDict, key: str, columns: list[Column]) -> list[dict[str, Any]]:
    rows = []
    for index in range(ROW_LIMIT):
        row: dict[str, Any] = {
            c.key: data.get(f"{key}-{index}-{c.key}", "").strip() for c in columns
        }
        for column in columns:
            if column.kind == "check":
                row[column.key] = True if row[column.key] else ""
        if any(row.values()):
            rows.append({k: v for k, v in row.items() if v or k == columns[0].key})
    return rows


def parse(kind: str, data: QueryDict) -> tuple[dict[str, Any], dict[str, Any]]:
    """The POSTed form as (patient, content) dictionaries, in DOMAIN.md's keys."""
    document: dict[str, Any] = {}
    for section in SECTIONS[kind]:
        for spec in section.fields:
            raw = data.get(spec.key, "")
            if spec.kind == "rows":
                value: Any = _parse_rows(data, spec.key, spec.columns)
            elif spec.kind == "check":
                value = spec.key in data
            elif spec.kind == "yesno":
                value = {"true": True, "false": False}.get(raw)
            elif spec.kind == "lines":
                value = [line.strip() for line in raw.splitlines() if line.strip()]
            elif spec.kind == "date":
                value = raw or None
            else:
                value = raw.strip()
            _set(document, spec.key, value)
    patient = document.pop("patient", {})
    return patient, document


def _errors_for(kind: str, key: str, errors: dict[str, list[str]]) -> list[str]:
    """Messages about this field: its own key, or a line of it (`medications[0].dose`),
    the line named in words ("Traitement n° 1, dose : obligatoire pour envoyer")."""
    return [
        labelled_message(label_of(kind, path), " ".join(map(str, messages)))
        if path != key
        else " ".join(map(str, messages))
        for path, messages in errors.items()
        if path == key or path.startswith(f"{key}[") or path.startswith(f"{key}.")
    ]


def bound_sections(
    kind: str,
    patient: dict[str, Any],
    content: dict[str, Any],
    errors: dict[str, list[str]] | None = None,
) -> list[dict[str, Any]]:
    """The sections with their current values and error messages, ready for the template."""
    errors = errors or {}
    document = {**content, "patient": patient}
    sections = []
    for section in SECTIONS[kind]:
        fields = []
        for spec in section.fields:
            value = _get(document, spec.key)
            if spec.kind == "rows":
                rows = list(value or [])
                value = [[(c, (row or {}).get(c.key) or "") for c in spec.columns] for row in rows]
            elif spec.kind == "lines":
                value = "\n".join(value or [])
            elif spec.kind == "yesno":
                value = "" if value is None else ("true" if value else "false")
            fields.append({
                "spec": spec,
                "value": value if value is not None else "",
                "errors": _errors_for(kind, spec.key, errors),
            })  # fmt: skip
        sections.append({"title": section.title, "key": section.key, "fields": fields})
    return sections


def french_date(value: str) -> str:
    """2026-11-23 → 23/11/2026 (dates are stored ISO, read the French way)."""
    try:
        return date.fromisoformat(value).strftime("%d/%m/%Y")
    except (TypeError, ValueError):
        return value


def _readable(kind: str, choices: list[tuple[str, Any]], value: Any) -> Any:
    """The label a reader expects instead of the stored code ("scheduled" → "Programmée")."""
    if kind == "select":
        return str(dict(choices).get(value, value))
    if kind == "date":
        return french_date(value)
    return value


def filled_sections(
    kind: str, patient: dict[str, Any], content: dict[str, Any]
) -> list[dict[str, Any]]:
    """Only what was filled, for reading: no empty headings (as on paper), codes as labels."""
    result = []
    for section in bound_sections(kind, patient, content):
        fields = []
        for bound in section["fields"]:
            spec, value = bound["spec"], bound["value"]
            if value in ("", [], False):
                continue
            if spec.kind == "rows":
                # A ticked box reads inside its line (a long-term treatment's duration).
                lines = [reading_line({c.key: v for c, v in row}) for row in value]
                columns = [c for c in spec.columns if c.kind != "check"]
                spec = replace(spec, columns=columns)
                value = [
                    [(c, _readable(c.kind, c.choices, line.get(c.key) or "")) for c in columns]
                    for line in lines
                ]
            else:
                value = _readable(spec.kind, spec.choices, value)
            fields.append({**bound, "spec": spec, "value": value})
        if fields and section["key"] != "patient":
            result.append({**section, "fields": fields})
    return result
