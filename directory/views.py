"""French web pages of the directory: thin, on the same selectors as the API."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from directory import importer, selectors
from directory.filters import MemberFilter, OrganisationFilter
from directory.models import Member, Organisation
from directory.permissions import member_page
from security.exceptions import DomainError


@member_page
def directory_search(request: HttpRequest, member: Member) -> HttpResponse:
    """One page to find a colleague or a structure: the query searches both."""
    query = request.GET.get("q", "").strip()
    profession = request.GET.get("profession", "")
    kind = request.GET.get("kind", "")
    members = MemberFilter(
        {"search": query, "profession": profession},
        queryset=selectors.members_visible_to(member),
    ).qs
    organisations = OrganisationFilter(
        {"search": query, "kind": kind}, queryset=selectors.organisations_visible_to(member)
    ).qs
    if profession:
        organisations = organisations.none()
    if kind:
        members = members.none()
    page = Paginator(members, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "directory/search.html",
        {
            "query": query,
            "profession": profession,
            "kind": kind,
            "professions": Member.Profession.choices,
            "kinds": Organisation.Kind.choices,
            "members_page": page,
            "organisations": organisations[:50],
        },
    )


@member_page
def organisation_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    organisation = selectors.access_organisation(member, code)
    members = selectors.members_of(member, organisation)
    services = selectors.services_of(member, organisation)
    return render(
        request,
        "directory/organisation_detail.html",
        {"organisation": organisation, "members": members, "services": services},
    )


@member_page
def member_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    shown = selectors.access_member(member, code)
    return render(request, "directory/member_detail.html", {"shown": shown})


@member_page
def import_directory(request: HttpRequest, member: Member) -> HttpResponse:
    """The coordinator's CSV import: a dry run first, then the import."""
    if not selectors.is_coordinator(member):
        raise Http404
    report = None
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("Choisissez un fichier CSV."))
        else:
            try:
                report = importer.import_directory(
                    actor=member,
                    fileobj=upload,
                    dry_run=request.POST.get("dry_run") == "on",
                    skip_invalid=request.POST.get("skip_invalid") == "on",
                )
            except DomainError as error:
                messages.error(request, error.readable())
    return render(
        request, "directory/import.html", {"report": report, "columns": importer.columns()}
    )
