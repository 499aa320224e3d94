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
from security.exceptions import DomainError

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


def _parse_entry(request: HttpRequest) -> tuple[list[services.ThemeChoice], list[dict[str, Any]]]:
    chosen, _unknown = selectors.themes_with_slugs(request.POST.getlist("themes"))
    choices = [
        services.ThemeChoice(theme, request.POST.get(f"note-{theme.slug}", "")) for theme in chosen
    ]
    hours = []
    for index in range(HOUR_ROWS):
        day = request.POST.get(f"hours-{index}-weekday", "")
        if not day:
            continue
        hours.append(
            {
                "weekday": int(day) if day.isdigit() else -1,
                "starts_at": _parse_time(request.POST.get(f"hours-{index}-starts_at", "")),
                "ends_at": _parse_time(request.POST.get(f"hours-{index}-ends_at", "")),
                "location": request.POST.get(f"hours-{index}-location", ""),
                "details": request.POST.get(f"hours-{index}-details", ""),
            }
        )
    return choices, hours


def _entry_context(title: str, links: list[Any], hours: list[OfficeHours]) -> dict[str, Any]:
    notes = {link.theme_id: link.note for link in links}
    rows = [
        {"index": i, "hours": hours[i] if i < len(hours) else None}
        for i in range(max(HOUR_ROWS, len(hours)))
    ]
    return {
        "title": title,
        "themes": [
            {"theme": t, "checked": t.pk in notes, "note": notes.get(t.pk, "")}
            for t in selectors.themes()
        ],
        "rows": rows,
        "weekdays": OfficeHours.Weekday.choices,
    }


def _edit_entry(
    request: HttpRequest, member: Member, target: Organisation | Member, title: str
) -> HttpResponse:
    if request.method == "POST":
        choices, hours = _parse_entry(request)
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
            messages.error(request, error.readable())
        else:
            messages.success(request, _("Fiche du guide enregistrée."))
            return redirect("guide")
    if isinstance(target, Organisation):
        links, hours_list = selectors.organisation_guide(target)
    else:
        links, hours_list = selectors.member_guide(target)
    return render(request, "protocols/guide_entry.html", _entry_context(title, links, hours_list))


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
