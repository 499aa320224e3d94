"""What changed between two versions of a protocol, section by section.

Each section (title, professions, review date, every Markdown section, the training hours
and supervised cases) is compared line by
line with difflib; a section is "unchanged", "changed", "added" (empty before) or "removed"
(empty after). The output is plain data: the API returns it as JSON and the pages render it
with <ins>/<del>, escaping the text like any other.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from directory.models import Member
from protocols.models import SECTIONS, TRAINING_NUMBERS, ProtocolVersion


class SectionStatus(models.TextChoices):
    UNCHANGED = "unchanged"
    CHANGED = "changed"
    ADDED = "added"
    REMOVED = "removed"


class LineOp(models.TextChoices):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


@dataclass(frozen=True)
class Line:
    op: str  # "equal", "insert" or "delete"
    text: str


@dataclass(frozen=True)
class SectionDiff:
    key: str
    title: str
    status: str  # "unchanged", "changed", "added" or "removed"
    lines: list[Line] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.status != "unchanged"


def _professions(values: list[str]) -> str:
    labels = dict(Member.Profession.choices)
    return "\n".join(str(labels.get(value, value)) for value in values)


def comparable_sections(version: ProtocolVersion) -> list[tuple[str, str, str]]:
    """(key, title, text) of every compared part of a version, in reading order."""
    review = date_format(version.review_date, "d/m/Y") if version.review_date else ""
    parts = [
        ("title", _("Titre"), version.title),
        ("legal_reference", _("Référence réglementaire"), version.legal_reference),
        ("review_date", _("Date de révision"), review),
        ("delegant_professions", _("Délégants"), _professions(version.delegant_professions)),
        ("delegate_professions", _("Délégués"), _professions(version.delegate_professions)),
        ("professions", _("Professions concernées"), _professions(version.professions)),
    ]
    parts += [(name, str(title), getattr(version, name)) for name, title in SECTIONS]
    # The training numbers sit right after the training text they quantify.
    at = next(i for i, part in enumerate(parts) if part[0] == "training") + 1
    parts[at:at] = [
        (name, str(title), _number(getattr(version, name))) for name, title in TRAINING_NUMBERS
    ]
    return parts


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.strip().splitlines()] if text.strip() else []


def diff_texts(before: str, after: str) -> list[Line]:
    old, new = _lines(before), _lines(after)
    lines: list[Line] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            lines += [Line("equal", text) for text in old[i1:i2]]
            continue
        lines += [Line("delete", text) for text in old[i1:i2]]
        lines += [Line("insert", text) for text in new[j1:j2]]
    return lines


def diff_versions(old: ProtocolVersion, new: ProtocolVersion) -> list[SectionDiff]:
    """Every section of `new` compared with `old`."""
    result = []
    for (key, title, before), (_key, _title, after) in zip(
        comparable_sections(old), comparable_sections(new), strict=True
    ):
        if before.strip() == after.strip():
            status = "unchanged"
        elif not before.strip():
            status = "added"
        elif not after.strip():
            status = "removed"
        else:
            status = "changed"
        lines = diff_texts(before, after) if status != "unchanged" else []
        result.append(SectionDiff(key=key, title=title, status=status, lines=lines))
    return result


def as_data(sections: list[SectionDiff]) -> list[dict[str, Any]]:
    return [
        {
            "key": section.key,
            "title": section.title,
            "status": section.status,
            "lines": [{"op": line.op, "text": line.text} for line in section.lines],
        }
        for section in sections
    ]
