"""The printable resource guide as a PDF, generated on the server with reportlab.

reportlab's built-in Helvetica is encoded in WinAnsi, which has every character French needs
(é, è, à, ç, œ, «, », ’): no font file to ship or install. Text goes into reportlab's
paragraph mini-markup, so everything that comes from the database is XML-escaped first.
"""

from __future__ import annotations

import io
from datetime import date
from xml.sax.saxutils import escape

from django.utils.formats import date_format
from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer

from protocols.guide.selectors import GuideEntry, GuideTheme
from protocols.models import OfficeHours


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("GuideTitle", parent=base["Title"], fontSize=18, spaceAfter=4),
        "subtitle": ParagraphStyle(
            "GuideSub", parent=base["Normal"], textColor=colors.grey, alignment=1, spaceAfter=12
        ),
        "theme": ParagraphStyle(
            "GuideTheme",
            parent=base["Heading1"],
            fontSize=15,
            spaceBefore=10,
            textColor=colors.HexColor("#0b5cad"),
        ),
        "commune": ParagraphStyle(
            "GuideCommune", parent=base["Heading2"], fontSize=12, spaceBefore=6
        ),
        "name": ParagraphStyle(
            "GuideName", parent=base["Normal"], fontName="Helvetica-Bold", spaceBefore=4
        ),
        "text": ParagraphStyle(
            "GuideText", parent=base["Normal"], fontSize=9, leading=11.5, leftIndent=8
        ),
    }


def hours_text(hours: OfficeHours) -> str:
    text = f"{hours.get_weekday_display()} {hours.starts_at:%H:%M}–{hours.ends_at:%H:%M}"
    extra = ", ".join(part for part in (hours.location, hours.details) if part)
    return f"{text} ({extra})" if extra else text


def _entry(entry: GuideEntry, styles: dict[str, ParagraphStyle]) -> KeepTogether:
    parts = [Paragraph(escape(entry.name), styles["name"])]
    lines = [entry.role]
    if entry.organisations:
        lines.append(", ".join(entry.organisations))
    if entry.note:
        lines.append(entry.note)
    if entry.contact:
        lines.append(entry.contact)
    if entry.office_hours:
        lines.append(_("Permanences : ") + " ; ".join(hours_text(h) for h in entry.office_hours))
    parts += [Paragraph(escape(line), styles["text"]) for line in lines]
    return KeepTogether(parts)


def render_guide_pdf(sections: list[GuideTheme], *, cpts: str, on: date) -> bytes:
    """The guide as PDF bytes (A4), grouped like the page: theme, then commune."""
    styles = _styles()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=_("Guide des ressources — %(cpts)s") % {"cpts": cpts},
        author=cpts,
    )
    story: list[object] = [
        Paragraph(escape(_("Guide des ressources — %(cpts)s") % {"cpts": cpts}), styles["title"]),
        Paragraph(
            escape(
                _("Qui fait quoi sur le territoire, par thème et par commune. Édition du %(d)s.")
                % {"d": date_format(on, "d/m/Y")}
            ),
            styles["subtitle"],
        ),
    ]
    if not sections:
        story.append(Paragraph(escape(_("Le guide est vide pour le moment.")), styles["text"]))
    for section in sections:
        story.append(Paragraph(escape(section.theme.name), styles["theme"]))
        if section.theme.description:
            story.append(Paragraph(escape(section.theme.description), styles["text"]))
        for commune in section.communes:
            story.append(Paragraph(escape(commune.name), styles["commune"]))
            story += [_entry(entry, styles) for entry in commune.entries]
        story.append(Spacer(1, 4 * mm))
    document.build(story)
    return buffer.getvalue()
