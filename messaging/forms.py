"""Forms of the messaging pages: the inbox search, and the parsing of the compose form."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.models import Member
from directory.selectors import members_visible_to


class SearchForm(forms.Form):
    participant = forms.ChoiceField(label=_("Avec"), required=False)
    subject = forms.CharField(label=_("Objet"), required=False, max_length=200)
    ins = forms.CharField(label=_("INS du patient"), required=False, max_length=21)
    family_name = forms.CharField(label=_("Nom du patient"), required=False, max_length=100)
    birth_date = forms.DateField(
        label=_("Né(e) le"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_from = forms.DateField(
        label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    unread = forms.BooleanField(label=_("Non lus"), required=False)
    urgent = forms.BooleanField(label=_("Urgents"), required=False)
    left = forms.BooleanField(label=_("Conversations quittées"), required=False)

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["participant"].choices = [("", "—")] + [
            (str(m.code), m.display_name) for m in members_visible_to(member).exclude(pk=member.pk)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("family_name") and not data.get("birth_date"):
            self.add_error(
                "birth_date", _("La recherche par nom se fait avec la date de naissance.")
            )
        return data

    def filters(self) -> dict[str, Any]:
        """The keyword arguments of messaging.selectors.conversation_list."""
        data = self.cleaned_data
        return {
            "participant": UUID(data["participant"]) if data.get("participant") else None,
            "subject": data.get("subject") or "",
            "ins": data.get("ins") or "",
            "family_name": data.get("family_name") or "",
            "birth_date": data.get("birth_date"),
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "unread": True if data.get("unread") else None,
            "urgent": True if data.get("urgent") else None,
            "left": bool(data.get("left")),
        }


def uuids(values: list[str]) -> list[UUID]:
    """The well-formed ids among `values`; a malformed one is reported as unknown, as UUID text."""
    result = []
    for value in values:
        try:
            result.append(UUID(str(value)))
        except ValueError:
            continue
    return result
