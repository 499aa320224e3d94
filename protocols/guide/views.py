"""French pages of the resource guide: the guide, its PDF, entry editing, themes."""

from __future__ import annotations

from datetime import time
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.timezone import localdate
from django.utils.translation import gettext as _

from directory import selectors as directory_selectors
from directory.models import Member, Organisation
from directory.permissions import member_page
from protocols.downloads import guide_download
from protocols.guide import selectors, services
from protocols.models import OfficeHours
from security.exceptions import DomainError, FieldErrors

HOUR_ROWS = 4


def _filters(request: HttpRequest) -> dict[str, str]:
    return {
        name: request.GET.get(name, "")[:120].replace("\x00", "") for name in ("theme", "commune")
    }


@member_page
def guide(request: HttpRequest, member: Member) -> HttpResponse:
    filters = _filters(request)
    return render(
        request,
        "protocols/guide.html",
        {
            "sections": selectors.guide(**filters),
            "filters": filters,
            "themes": list(selectors.themes()),
            "communes": selectors.guide_communes(),
            "cpts": selectors.cpts_name(),
            "today": localdate(),
            "is_guide_admin": directory_selectors.is_coordinator(member),
            "member": member,
        },
    )


@member_page
def guide_pdf(request: HttpRequest, member: Member) -> HttpResponseBase:
    return guide_download(**_filters(request))


def _parse_time(value: str) -> time | None:
    try:
        return time.fromisoformat(value) if value else None
    except ValueError:
        return None


def _row_indexes(request: HttpRequest) -> list[int]:
    """The form's office-hours rows that have a day chosen (every row the page showed)."""
    count = max(HOUR_ROWS, services.MAX_HOURS + 1)
    return [i for i in range(count) if request.POST.get(f"hours-{i}-weekday", "")]


def _parse_entry(
    request: HttpRequest,
) -> tuple[list[services.ThemeChoice], list[dict[str, Any]], list[int]]:
    """(themes, office hours, the form row of each office hour) from the posted form."""
    chosen, _unknown = selectors.themes_with_slugs(request.POST.getlist("themes"))
    choices = [
        services.ThemeChoice(theme, request.POST.get(f"note-{theme.slug}", "")) for theme in chosen
    ]
    indexes = _row_indexes(request)
    hours = []
    for index in indexes:
        day = request.POST.get(f"hours-{index}-weekday", "")
        hours.append(
            {
                "weekday": int(day) if day.isdigit() else -1,
                "starts_at": _parse_time(request.POST.get(f"hours-{index}-starts_at", "")),
                "ends_at": _parse_time(request.POST.get(f"hours-{index}-ends_at", "")),
                "location": request.POST.get(f"hours-{index}-location", ""),
                "details": request.POST.get(f"hours-{index}-details", ""),
            }
        )
    return choices, hours, indexes


def _hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def _saved_rows(hours: list[OfficeHours]) -> list[dict[str, Any]]:
    rows = [
        {
            "weekday": h.weekday,
            "starts_at": _hhmm(h.starts_at),
            "ends_at": _hhmm(h.ends_at),
            "location": h.location,
            "details": h.details,
        }
        for h in hours
    ]
    return _numbered(rows)


def _posted_rows(request: HttpRequest, row_errors: dict[int, list[str]]) -> list[dict[str, Any]]:
    """The office-hours rows as the person typed them, each with its errors."""
    count = max(HOUR_ROWS, (max(_row_indexes(request), default=-1) + 1))
    rows = []
    for i in range(count):
        day = request.POST.get(f"hours-{i}-weekday", "")
        rows.append(
            {
                "weekday": int(day) if day.isdigit() else None,
                **{
                    name: request.POST.get(f"hours-{i}-{name}", "")
                    for name in ("starts_at", "ends_at", "location", "details")
                },
                "errors": row_errors.get(i, []),
            }
        )
    return _numbered(rows)


def _numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    blank = {"weekday": None, "starts_at": "", "ends_at": "", "location": "", "details": ""}
    rows = rows + [dict(blank) for _ in range(HOUR_ROWS - len(rows))]
    return [{"index": i, "number": i + 1, "errors": [], **row} for i, row in enumerate(rows)]


def _entry_context(
    title: str, themes: list[dict[str, Any]], rows: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "title": title,
        "themes": themes,
        "rows": rows,
        "weekdays": OfficeHours.Weekday.choices,
    }


def _saved_themes(links: list[Any]) -> list[dict[str, Any]]:
    notes = {link.theme_id: link.note for link in links}
    return [
        {"theme": t, "checked": t.pk in notes, "note": notes.get(t.pk, "")}
        for t in selectors.themes()
    ]


def _posted_themes(request: HttpRequest) -> list[dict[str, Any]]:
    chosen = set(request.POST.getlist("themes"))
    return [
        {
            "theme": t,
            "checked": t.slug in chosen,
            "note": request.POST.get(f"note-{t.slug}", ""),
        }
        for t in selectors.themes()
    ]


def _row_errors(error: DomainError, indexes: list[int]) -> tuple[dict[int, list[str]], list[str]]:
    """The service's errors on office_hours.<n>.<field>, moved to the form rows they concern.

    The service numbers the office hours it was given; the page numbers its rows, blank ones
    included: row 3 of the page may be the service's second office hour.
    """
    by_row: dict[int, list[str]] = {}
    others: list[str] = []
    fields = error.fields if isinstance(error, FieldErrors) else {}
    for key, messages_ in fields.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "office_hours" and parts[1].isdigit():
            position = int(parts[1])
            row = indexes[position] if position < len(indexes) else position
            by_row.setdefault(row, []).extend(str(m) for m in messages_)
        else:
            others.extend(str(m) for m in messages_)
    if not fields:
        others.append(error.readable())
    return by_row, others


def _edit_entry(
    request: HttpRequest, member: Member, target: Organisation | Member, title: str
) -> HttpResponse:
    if request.method == "POST":
        choices, hours, indexes = _parse_entry(request)
        try:
            if isinstance(target, Organisation):
                services.set_organisation_guide(
                    actor=member, organisation=target, themes=choices, office_hours=hours
                )
            else:
                services.set_member_guide(
                    actor=member, member=target, themes=choices, office_hours=hours
                )
        except DomainError as error:
            # Nothing is saved; the page comes back as the person typed it, the rows at
            # fault named.
            by_row, others = _row_errors(error, indexes)
            for row in sorted(by_row):
                others.append(
                    _("Permanence n° %(n)d : %(errors)s")
                    % {"n": row + 1, "errors": " ".join(by_row[row])}
                )
            messages.error(request, " ".join(others))
            context = _entry_context(title, _posted_themes(request), _posted_rows(request, by_row))
            return render(request, "protocols/guide_entry.html", context, status=400)
        messages.success(request, _("Fiche du guide enregistrée."))
        return redirect("guide")
    if isinstance(target, Organisation):
        links, hours_list = selectors.organisation_guide(target)
    else:
        links, hours_list = selectors.member_guide(target)
    context = _entry_context(title, _saved_themes(links), _saved_rows(list(hours_list)))
    return render(request, "protocols/guide_entry.html", context)


@member_page
def edit_organisation_entry(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    organisation = directory_selectors.access_organisation(member, code)
    return _edit_entry(request, member, organisation, organisation.name)


@member_page
def edit_member_entry(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    shown = directory_selectors.access_member(member, code)
    return _edit_entry(request, member, shown, shown.display_name)


@member_page
def manage_themes(request: HttpRequest, member: Member) -> HttpResponse:
    if not directory_selectors.is_coordinator(member):
        raise Http404
    if request.method == "POST":
        try:
            services.create_theme(
                actor=member,
                name=request.POST.get("name", ""),
                description=request.POST.get("description", ""),
            )
        except DomainError as error:
            messages.error(request, error.readable())
        else:
            messages.success(request, _("Thème ajouté."))
            return redirect("guide-themes")
    return render(
        request,
        "protocols/guide_themes.html",
        {
            "themes": list(selectors.themes()),
            "organisations": list(directory_selectors.organisations_visible_to(member)),
        },
    )
