"""French web pages of the directory: thin, on the same selectors as the API."""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from directory import selectors
from directory.filters import MemberFilter, OrganisationFilter
from directory.models import Member, Organisation
from security.exceptions import NotFound


def _member_or_404(request: HttpRequest) -> Member:
    member = selectors.member_for_user(request.user)
    if member is None:
        raise Http404
    return member


@login_required
def home(request: HttpRequest) -> HttpResponse:
    member = _member_or_404(request)
    profile = selectors.access_member(member, member.code)
    organisations = [membership.organisation for membership in profile.memberships.all()]
    return render(request, "directory/home.html", {"organisations": organisations})


@login_required
def directory_search(request: HttpRequest) -> HttpResponse:
    """One page to find a colleague or a structure: the query searches both."""
    member = _member_or_404(request)
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


@login_required
def organisation_detail(request: HttpRequest, code: UUID) -> HttpResponse:
    member = _member_or_404(request)
    try:
        organisation = selectors.access_organisation(member, code)
    except NotFound:
        raise Http404 from None
    members = selectors.members_of(member, organisation)
    services = selectors.services_of(member, organisation)
    return render(
        request,
        "directory/organisation_detail.html",
        {"organisation": organisation, "members": members, "services": services},
    )


@login_required
def member_detail(request: HttpRequest, code: UUID) -> HttpResponse:
    member = _member_or_404(request)
    try:
        shown = selectors.access_member(member, code)
    except NotFound:
        raise Http404 from None
    return render(request, "directory/member_detail.html", {"shown": shown})
