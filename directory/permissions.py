"""Coarse, role-level API checks. Object rules live in the selectors' access_* functions."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from directory.models import Member
from directory.selectors import member_for_user


class IsActiveMember(BasePermission):
    """Only an active CPTS member may use the API (a bare admin account may not)."""

    message = "Ce compte n'est pas rattaché à un membre actif de la CPTS."

    def has_permission(self, request: Request, view: Any) -> bool:
        return member_for_user(request.user) is not None


def current_member(request: Request) -> Member:
    """The caller's member; IsActiveMember has already made sure there is one."""
    member = member_for_user(request.user)
    if member is None:
        raise PermissionDenied(IsActiveMember.message)
    return member
