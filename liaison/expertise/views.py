"""French pages of tele-expertise: requester list and form, expert worklist, reading view."""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from directory.models import Member
from directory.permissions import member_page


@member_page
def request_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    return redirect("liaison-sheet", code=code)
