"""Who may use the API and the pages: coarse, role-level checks.

Object rules live in the selectors' access_* functions, which raise NotFound for what the
caller may not see; the API's exception handler and `member_page` both answer it with 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from directory.models import Member
from directory.selectors import member_for_user
from security.exceptions import NotFound

P = ParamSpec("P")


class IsActiveMember(BasePermission):
    """Only an active CPTS member may use the API (a bare admin account may not)."""

    message = _("Ce compte n'est pas rattaché à un membre actif de la CPTS.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return member_for_user(request.user) is not None


def current_member(request: Request) -> Member:
    """The caller's member; IsActiveMember has already made sure there is one."""
    member = member_for_user(request.user)
    if member is None:
        raise PermissionDenied(IsActiveMember.message)
    return member


def member_page(
    view: Callable[Concatenate[HttpRequest, Member, P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, P], HttpResponseBase]:
    """A page for active members; the view receives the caller's member after the request.

    Anonymous visitors go to the login page; a deactivated member is told so and whom to ask
    (deactivated while logged in: the login itself turns them away); an account without a
    member, and any NotFound the view lets through (an access_* miss: missing and forbidden
    alike), get the site's 404. This is the pages' one fetch-or-404 (healthchecks'
    `_get_check_for_user`, here for every object): views call the access_* selectors
    directly and handle only the errors they turn into a message on the page.
    """

    @wraps(view)
    def page(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponseBase:
        member = member_for_user(request.user)
        if member is None:
            if getattr(request.user, "member", None) is not None:
                from directory.account.views import deactivated_page  # noqa: PLC0415

                return deactivated_page(request)
            raise Http404
        try:
            return view(request, member, *args, **kwargs)
        except NotFound:
            raise Http404 from None

    return login_required(page)
