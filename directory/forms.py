"""Parsing of the coordinator's member form into the services' arguments.

The pages validate with the API's serializers, so the browser and the API accept exactly the
same members (RPPS with its check digit, a known structure, a profession of the list).
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from directory.models import Member, Membership
from directory.serializers import MemberCreateInput, MemberInput

PROFILE_FIELDS = (
    "civility", "given_name", "family_name", "profession", "specialty", "rpps", "adeli", "phone",
    "email",
)  # fmt: skip
CREATE_FIELDS = ("username", *PROFILE_FIELDS, "organisation", "role")


def values_of(member: Member) -> dict[str, str]:
    """The edit form's initial values."""
    values = {name: str(getattr(member, name, "") or "") for name in PROFILE_FIELDS}
    values["email"] = member.user.email
    return values


def _errors(serializer_errors: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, messages in serializer_errors.items():
        if name == "organisations":
            # [{"id": [...]}] from the nested serializer: said on the structure's field.
            flat = [str(m) for item in messages for ms in item.values() for m in ms]
            errors["organisation"] = flat or [_("Structure inconnue.")]
        else:
            errors[name] = [str(message) for message in messages]
    return errors


def parse_new_member(post: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(service kwargs, field errors) from the add-a-member form."""
    data: dict[str, Any] = {name: post.get(name, "").strip() for name in PROFILE_FIELDS}
    data["username"] = post.get("username", "").strip()
    organisation = post.get("organisation", "").strip()
    if not organisation:
        return {}, {"organisation": [_("Choisissez la structure où ce professionnel exerce.")]}
    data["organisations"] = [
        {"id": organisation, "role": post.get("role") or Membership.Role.MEMBER}
    ]
    body = MemberCreateInput(data=data)
    if not body.is_valid():
        return {}, _errors(body.errors)
    return body.to_service_kwargs(), {}


def parse_member_changes(post: QueryDict) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """(update_member kwargs, field errors) from the edit form."""
    data = {name: post.get(name, "").strip() for name in PROFILE_FIELDS}
    body = MemberInput(data=data)
    if not body.is_valid():
        return {}, _errors(body.errors)
    return dict(body.validated_data), {}
