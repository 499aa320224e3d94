"""The PDF of a sheet, drawn with reportlab (pure Python: `pip install` is all it needs).

Layout: the identity line and the document's date on every page (header), the sender and
"n / N" on every page (footer), then the title block, the filled sections in DOMAIN.md's
order (never an empty heading) and the signature block. A heading never ends a page: headings
and table labels are `keepWithNext`, so the page break moves them along with what they head.
Running lines are never cut: a line too wide shrinks a little, then wraps.

Text uses reportlab's standard Helvetica, whose WinAnsi encoding covers French (é, è, ç, œ,
«, », €); symbols outside it (→, ≥) are drawn from the standard Symbol font by reportlab's
own fallback. No font file ships with the service. "N" is known only once every page is
laid out, so the canvas keeps each page's state and writes the numbers at the end
(`NumberedCanvas`, the usual two-pass canvas of reportlab's recipes).
"""

from __future__ import annotations

import io
import re
from typing import Any
from xml.sax.saxutils import escape

from django.utils.translation import gettext as _
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from liaison.models import LiaisonSheet
from liaison.outputs.document import Document, DocumentField, DocumentSection, build_document

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
# Room for an identity line wrapped on two lines, and a sender line wrapped on two lines.
HEADER_HEIGHT = 20 * mm
FOOTER_HEIGHT = 12 * mm
RUNNING_LEADING = 3.6 * mm
INK = colors.HexColor("#1d2433")
MUTED = colors.HexColor("#5c6679")
LINE = colors.HexColor("#b8c0cc")
# Control characters are not text: XML (reportlab's markup) refuses them.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _markup(text: str) -> str:
    """User text as reportlab paragraph markup: escaped, line breaks kept."""
    clean = CONTROL.sub("", text.replace("\r\n", "\n"))
    return escape(clean).replace("\n", "<br/>")


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle(
        "body",
        parent=base["Normal"],
        fontName="Helvetica",
        fontSize=9.5,
        leading=12.5,
        textColor=INK,
    )
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10, textColor=MUTED),
        "label": ParagraphStyle("label", parent=body, fontName="Helvetica-Bold"),
        # The label of a table: kept with its table, never alone at a page's foot.
        "table_label": ParagraphStyle(
            "table_label", parent=body, fontName="Helvetica-Bold", spaceAfter=2, keepWithNext=1
        ),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8.5, leading=10.5),
        "head": ParagraphStyle(
            "head", parent=body, fontName="Helvetica-Bold", fontSize=8.5, leading=10.5
        ),
        "title": ParagraphStyle(
            "title", parent=body, fontName="Helvetica-Bold", fontSize=15, leading=19, spaceAfter=4
        ),
        "section": ParagraphStyle(
            "section",
            parent=body,
            fontName="Helvetica-Bold",
            fontSize=11.5,
            leading=15,
            spaceBefore=10,
            spaceAfter=4,
            textColor=colors.HexColor("#0b5cad"),
            keepWithNext=1,  # a heading goes to the next page with its first line
        ),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
    }


class NumberedCanvas(canvas.Canvas):
    """Defers each page until the end, then draws "n / N" on every one of them."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # noqa: N802 (reportlab's API)
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self._draw_page_number(total)
            super().showPage()
        super().save()

    def _draw_page_number(self, total: int) -> None:
        self.setFont("Helvetica", 8)
        self.setFillColor(MUTED)
        self.drawRightString(PAGE_WIDTH - MARGIN, MARGIN - 2 * mm, f"{self._pageNumber} / {total}")


def _on_page(document: Document) -> Any:
    def draw(pdf: canvas.Canvas, _template: Any) -> None:
        pdf.saveState()
        top, width = PAGE_HEIGHT - MARGIN, PAGE_WIDTH - 2 * MARGIN
        pdf.setFillColor(INK)
        size, lines = _running_lines(document.identity, "Helvetica-Bold", 9.5, width)
        pdf.setFont("Helvetica-Bold", size)
        for line in lines:
            pdf.drawString(MARGIN, top, line)
            top -= RUNNING_LEADING
        top -= 1 * mm
        pdf.setFont("Helvetica", 8.5)
        pdf.drawRightString(
            PAGE_WIDTH - MARGIN, top, f"{_('Document du')} {document.document_date}"
        )
        pdf.setFillColor(MUTED)
        pdf.drawString(MARGIN, top, document.title)
        pdf.setStrokeColor(LINE)
        pdf.setLineWidth(0.6)
        pdf.line(MARGIN, top - 2 * mm, PAGE_WIDTH - MARGIN, top - 2 * mm)
        pdf.line(MARGIN, MARGIN + 2 * mm, PAGE_WIDTH - MARGIN, MARGIN + 2 * mm)
        sender = f"{_('Émis par')} {document.sender.name} — {document.sender.details}"
        size, lines = _running_lines(sender, "Helvetica", 8, width - 25 * mm)
        pdf.setFont("Helvetica", size)
        bottom = MARGIN - 2 * mm
        for line in lines:
            pdf.drawString(MARGIN, bottom, line)
            bottom -= RUNNING_LEADING
        pdf.restoreState()

    return draw


def _running_lines(text: str, font: str, size: float, width: float) -> tuple[float, list[str]]:
    """A running line as it fits the page: whole, on every page, never cut.

    The patient's identity is how a loose page is matched to its patient, and the sender is
    who to call: shrink a little first (one line reads best), then wrap onto a second line.
    """
    smallest = size - 1.5
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.5
    return size, simpleSplit(text, font, size, width)


def _field_flowables(
    item: DocumentField, styles: dict[str, ParagraphStyle], width: float
) -> list[Any]:
    if not item.is_table:
        return [
            Table(
                [
                    [
                        Paragraph(_markup(item.label), styles["label"]),
                        Paragraph(_markup(item.text), styles["body"]),
                    ]
                ],
                colWidths=[width * 0.32, width * 0.68],
                style=TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                    ]
                ),
            )
        ]
    header = [Paragraph(_markup(column), styles["head"]) for column in item.columns]
    rows = [[Paragraph(_markup(cell), styles["cell"]) for cell in row] for row in item.rows]
    table = Table(
        [header, *rows],
        colWidths=_column_widths(item.columns, item.rows, width),
        repeatRows=1,  # a long treatment list keeps its column names on the next page
        style=TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -1), 0.4, LINE),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef2f7")),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )
    return [Paragraph(_markup(item.label), styles["table_label"]), table, Spacer(1, 5)]


def _column_widths(columns: list[str], rows: list[list[str]], width: float) -> list[float]:
    """Column widths that never break a word of a header or a date ("Médicamen/t").

    Each column gets at least its longest word (header in bold, cells in the body font);
    what is left goes to the columns with the longest texts (a comment, a reason).
    """
    padding = 6.5  # left + right padding, and a little air

    def words(text: str, font: str, size: float) -> float:
        return max((stringWidth(word, font, size) for word in text.split()), default=0)

    minimum = [
        max(
            words(column, "Helvetica-Bold", 8.5),
            *(words(row[index], "Helvetica", 8.5) for row in rows),
        )
        + padding
        for index, column in enumerate(columns)
    ]
    if sum(minimum) >= width:  # too many columns: share the width as the words ask
        return [width * share / sum(minimum) for share in minimum]
    wish = [
        max((stringWidth(row[index], "Helvetica", 8.5) for row in rows), default=0)
        + padding
        - minimum[index]
        for index in range(len(columns))
    ]
    wish = [max(extra, 0.0) for extra in wish]
    spare = width - sum(minimum)
    if not sum(wish):
        return [share + spare / len(columns) for share in minimum]
    # Fill the narrow wishes first: a column never gets more than its whole text asks.
    widths = list(minimum)
    remaining = [index for index in range(len(columns)) if wish[index] > 0]
    while remaining and spare > 0.01:
        share = spare / len(remaining)
        for index in list(remaining):
            given = min(share, wish[index])
            widths[index] += given
            wish[index] -= given
            spare -= given
            if wish[index] <= 0.01:
                remaining.remove(index)
    return [w + spare / len(columns) for w in widths]


def _section_flowables(
    section: DocumentSection, styles: dict[str, ParagraphStyle], width: float
) -> list[Any]:
    flowables: list[Any] = []
    for item in section.fields:
        field_flowables = _field_flowables(item, styles, width)
        if item.is_table and item.label == section.title:
            field_flowables = field_flowables[1:]  # "Traitements de sortie" twice says nothing
        flowables += field_flowables
    return flowables


def build_story(document: Document, width: float) -> list[Any]:
    styles = _styles()
    story: list[Any] = [Paragraph(_markup(document.title), styles["title"])]
    story.append(Paragraph(_markup(document.identity), styles["label"]))
    story.append(Paragraph(_markup(" · ".join(document.identity_details)), styles["small"]))
    story.append(Spacer(1, 6))
    facts = [
        (_("Émetteur"), f"{document.sender.name} — {document.sender.details}"),
        *document.facts,
    ]
    story.append(
        Table(
            [
                [Paragraph(_markup(k), styles["label"]), Paragraph(_markup(v), styles["body"])]
                for k, v in facts
            ],
            colWidths=[width * 0.25, width * 0.75],
            style=TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 0),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            ),
        )
    )
    for section in document.sections:
        flowables = _section_flowables(section, styles, width)
        if flowables:  # never a heading with nothing under it
            story += [Paragraph(_markup(section.title), styles["section"]), *flowables]
    if document.recipients:
        story.append(Paragraph(_markup(document.recipients_title), styles["section"]))
        story += [
            Paragraph(_markup(f"{person.name} — {person.details}"), styles["body"])
            for person in document.recipients
        ]
    signature = [
        Paragraph(_markup(_("Signature")), styles["section"]),
        Paragraph(
            _markup(
                _("%(label)s : %(value)s")
                % {"label": document.signer.role, "value": document.signer.name}
            ),
            styles["body"],
        ),
        Paragraph(_markup(document.signer.details), styles["small"]),
    ]
    story.append(KeepTogether(signature))
    return story


def render_pdf(sheet: LiaisonSheet) -> bytes:
    """The sheet as PDF bytes. The caller has access-checked and audited the read."""
    document = build_document(sheet)
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER_HEIGHT,
        bottomMargin=MARGIN + FOOTER_HEIGHT,
        # Generic metadata: a file's properties are shown by every file browser.
        title=document.title,
        author="CPTS Liaison",
        subject=document.title,
        creator="CPTS Liaison",
    )
    draw = _on_page(document)
    template.build(
        build_story(document, A4[0] - 2 * MARGIN),
        onFirstPage=draw,
        onLaterPages=draw,
        canvasmaker=NumberedCanvas,
    )
    return buffer.getvalue()
