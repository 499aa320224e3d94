"""French pages of the outputs: the print view, PDF and FHIR downloads, the indicators.

Same calls as the API (access_sheet audits each read under its own action), rendered as
pages. Anyone who may not see a sheet, or who is not the coordinator for the indicators,
gets the site's 404.
"""

from __future__ import annotations

import csv
import io
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.translation import gettext as _

from directory.models import Member
from directory.permissions import member_page
from events.indicators import event_csv_rows, event_indicators
from liaison import actions, selectors
from liaison.expertise.indicators import expertise_indicators
from liaison.outputs import selectors as output_selectors
from liaison.outputs.chart import liaison_chart
from liaison.outputs.document import build_document
from liaison.outputs.files import OutputFile, download, indicators_csv, sheet_fhir, sheet_pdf
from liaison.outputs.indicators import COLUMN_LABELS, COLUMNS, Indicators, format_cell
from liaison.outputs.serializers import IndicatorsQuery, default_period
from security.exceptions import FieldErrors
from security.reauth import require_recent_authentication


@member_page
def print_sheet(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    sheet = selectors.access_sheet(member, code, audit_action=actions.SHEET_PRINT)
    return render(
        request, "liaison/print.html", {"sheet": sheet, "document": build_document(sheet)}
    )


@member_page
def download_pdf(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    sheet = selectors.access_sheet(member, code, audit_action=actions.SHEET_PDF)
    return download(sheet_pdf(sheet))


@member_page
def download_fhir(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    sheet = selectors.access_sheet(member, code, audit_action=actions.SHEET_FHIR)
    return download(sheet_fhir(sheet))


def _indicators(
    request: HttpRequest, member: Member
) -> tuple[Indicators | None, dict[str, list[str]]]:
    data = {
        key: value
        for key, value in request.GET.items()
        if key in ("from", "to", "organisation") and value
    }
    query = IndicatorsQuery(data=data)
    if not query.is_valid():
        return None, {key: [str(m) for m in messages] for key, messages in query.errors.items()}
    try:
        return output_selectors.access_liaison_indicators(member, **query.validated_data), {}
    except FieldErrors as error:
        return None, error.fields


@member_page
def indicators_page(request: HttpRequest, member: Member) -> HttpResponse:
    output_selectors.require_coordinator(member)
    indicators, errors = _indicators(request, member)
    start, end = default_period()
    rows, total = [], []
    if indicators is not None:
        start, end = indicators.start, indicators.end
        rows = [
            [format_cell(key, getattr(row, key)) for key in COLUMNS] for row in indicators.months
        ]
        if indicators.total is not None:
            total = [format_cell(key, getattr(indicators.total, key)) for key in COLUMNS]
    return render(
        request,
        "indicators/liaison.html",
        {
            "errors": errors,
            "start": request.GET.get("from") or start.isoformat(),
            "end": request.GET.get("to") or end.isoformat(),
            "organisation": request.GET.get("organisation", ""),
            "organisations": output_selectors.organisations_for_filter(member),
            "headers": [COLUMN_LABELS[key] for key in COLUMNS],
            "rows": rows,
            "total": total,
            "chart": liaison_chart(indicators.months) if indicators else None,
            "query": request.GET.urlencode(),
            "title": _("Indicateurs de la boucle ville-hôpital"),
            "expertise": expertise_indicators(start, end) if not errors else [],
            "events": event_indicators(start, end) if not errors else None,
        },
    )


@member_page
@require_recent_authentication  # a bulk export, as the liaison table's
def agenda_indicators_export(request: HttpRequest, member: Member) -> HttpResponseBase:
    """The agenda's indicators of the period as CSV (events/indicators.py)."""
    output_selectors.require_coordinator(member)
    query = IndicatorsQuery(data={k: v for k, v in request.GET.items() if k in ("from", "to")})
    if not query.is_valid():
        body = "\n".join(f"{key} : {' '.join(map(str, messages))}"
                         for key, messages in query.errors.items())  # fmt: skip
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")
    start = query.validated_data.get("start") or default_period()[0]
    end = query.validated_data.get("end") or default_period()[1]
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, delimiter=";").writerows(event_csv_rows(event_indicators(start, end)))
    filename = f"indicateurs-agenda-{start:%Y-%m}-{end:%Y-%m}.csv"
    return download(OutputFile(buffer.getvalue().encode(), "text/csv; charset=utf-8", filename))


@member_page
@require_recent_authentication  # a bulk export: PGSSI-S re-authentication (security.reauth)
def indicators_export(request: HttpRequest, member: Member) -> HttpResponseBase:
    output_selectors.require_coordinator(member)
    indicators, errors = _indicators(request, member)
    if indicators is None:
        body = "\n".join(f"{key} : {' '.join(messages)}" for key, messages in errors.items())
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")
    return download(indicators_csv(indicators))
