"""The files a sheet and the indicators become: body, media type and name.

The API and the pages answer the same files with `download`, which goes through
config.downloads for the headers; the access check (and its audit entry) comes before, in
the caller.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from uuid import UUID

from django.http.response import HttpResponseBase

from config.downloads import download_response
from liaison.models import LiaisonSheet
from liaison.outputs.fhir import bundle_for
from liaison.outputs.indicators import Indicators, csv_lines
from liaison.outputs.pdf import render_pdf

FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class OutputFile:
    body: bytes
    content_type: str
    filename: str


def download(output: OutputFile) -> HttpResponseBase:
    """The download response of `output` (clinical: never cached)."""
    return download_response(
        output.body, content_type=output.content_type, filename=output.filename
    )


def sheet_filename(code: UUID | str, extension: str) -> str:
    # The patient's name stays out of file names: they show in download lists and logs.
    return f"fiche-liaison-{str(code)[:8]}.{extension}"


def sheet_pdf(sheet: LiaisonSheet) -> OutputFile:
    return OutputFile(render_pdf(sheet), "application/pdf", sheet_filename(sheet.code, "pdf"))


def sheet_fhir(sheet: LiaisonSheet) -> OutputFile:
    if sheet.kind == LiaisonSheet.Kind.EXPERTISE:  # a request and its answer, not a document
        from liaison.expertise.fhir import expertise_bundle  # noqa: PLC0415 (imports outputs)

        bundle = expertise_bundle(sheet)
    else:
        bundle = bundle_for(sheet)
    body = json.dumps(bundle, ensure_ascii=False, indent=1).encode()
    return OutputFile(body, FHIR_JSON, sheet_filename(sheet.code, "json"))


def indicators_csv(indicators: Indicators) -> OutputFile:
    """The table as CSV for a French spreadsheet: ';', decimal comma, UTF-8 with BOM."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, delimiter=";").writerows(csv_lines(indicators))
    filename = f"indicateurs-liaison-{indicators.start:%Y-%m}-{indicators.end:%Y-%m}.csv"
    return OutputFile(buffer.getvalue().encode(), "text/csv; charset=utf-8", filename)
