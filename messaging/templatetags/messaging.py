"""`{% load messaging %}{% sheet_conversations sheet %}`: the conversations about a liaison sheet.

An inclusion tag, so that the sheet's page shows them without its view knowing about
messaging: the tag reads the member from the request and goes through the access rule.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from django import template

from directory.selectors import member_for_user
from messaging.selectors import conversations_about_sheet

if TYPE_CHECKING:
    # Named in annotations only: messaging reaches sheets through liaison.selectors.
    from liaison.models import LiaisonSheet

register = template.Library()


@register.inclusion_tag("messaging/_sheet_conversations.html", takes_context=True)
def sheet_conversations(context: dict[str, Any], sheet: LiaisonSheet) -> dict[str, Any]:
    request = context.get("request")
    member = member_for_user(getattr(request, "user", None))
    found = conversations_about_sheet(member, sheet) if member is not None else []
    return {"sheet": sheet, "conversations": found, "member": member}


@register.filter
def iso_date(value: object) -> str:
    """A stored ISO date ("1979-03-15", as in the encrypted identity) shown the French way."""
    text = str(value or "")
    try:
        return date.fromisoformat(text).strftime("%d/%m/%Y")
    except ValueError:
        return text
