"""French pages of the outputs: the print view, PDF and FHIR downloads, the indicators.

Same calls as the API (access_sheet audits each read under its own action), rendered as
pages. Anyone who may not see a sheet, or who is not the coordinator for the indicators,
gets the site's 404.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from directory import selectors as directory_selectors
from directory.models import Member
from liaison import actions, selectors
from liaison.models import LiaisonSheet
from liaison.output_apis import download, fhir_document, indicators_csv, sheet_filename
from liaison.outputs import selectors as output_selectors
from liaison.outputs.chart import liaison_chart
from liaison.outputs.document import build_document
from liaison.outputs.fhir import bundle_for
from liaison.outputs.indicators import COLUMN_LABELS, COLUMNS, Indicators, format_cell
from liaison.outputs.pdf import render_pdf
from liaison.outputs.serializers import IndicatorsQuery, default_period
from security.exceptions import FieldErrors, NotFound


def _member(request: HttpRequest) -> Member:
    member = directory_selectors.member_for_user(request.user)
    if member is None:
        raise Http404
    return member


def _sheet(request: HttpRequest, code: UUID, action: str) -> LiaisonSheet:
    try:
        return selectors.access_sheet(_member(request), code, audit_action=action)
    except NotFound:
        raise Http404 from None


@login_required
def print_sheet(request: HttpRequest, code: UUID) -> HttpResponse:
    sheet = _sheet(request, code, actions.SHEET_PRINT)
    return render(
        request, "liaison/print.html", {"sheet": sheet, "document": build_document(sheet)}
    )


@login_required
def download_pdf(request: HttpRequest, code: UUID) -> HttpResponse:
    sheet = _sheet(request, code, actions.SHEET_PDF)
    return download(render_pdf(sheet), "application/pdf", sheet_filename(sheet.code, "pdf"))


@login_required
def download_fhir(request: HttpRequest, code: UUID) -> HttpResponse:
    sheet = _sheet(request, code, actions.SHEET_FHIR)
    return fhir_document(sheet.code, bundle_for(sheet))


def _coordinator(request: HttpRequest) -> Member:
    member = _member(request)
    try:
        output_selectors.require_coordinator(member)
    except NotFound:
        raise Http404 from None
    return member


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


@login_required
def indicators_page(request: HttpRequest) -> HttpResponse:
    member = _coordinator(request)
    indicators, errors = _indicators(request, member)
    start, end = default_period()
    rows = []
    if indicators is not None:
        start, end = indicators.start, indicators.end
        rows = [
            [format_cell(key, getattr(row, key)) for key in COLUMNS] for row in indicators.months
        ]
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
            "chart": liaison_chart(indicators.months) if indicators else None,
            "query": request.GET.urlencode(),
            "title": _("Indicateurs de la boucle ville-hôpital"),
        },
    )


@login_required
def indicators_export(request: HttpRequest) -> HttpResponse:
    member = _coordinator(request)
    indicators, errors = _indicators(request, member)
    if indicators is None:
        body = "\n".join(f"{key} : {' '.join(messages)}" for key, messages in errors.items())
        return HttpResponse(body, status=400, content_type="text/plain; charset=utf-8")
    return indicators_csv(indicators)
