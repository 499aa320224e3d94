"""The worklist page's filters: the API's (`ListQuery`), as a French form.

A parameter the page does not know, or a bad value, is a 400 whose message names the
parameter by its French label (a typo in a filter would otherwise answer another question).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.translation import gettext_lazy as _

from liaison.models import LiaisonSheet
from liaison.selectors import WORKLIST_TABS, hospital_services

# Parameters of the page that are not filters: the tab and the page number.
PAGE_PARAMETERS = ("onglet", "page")


def _blank(choices: Any) -> list[tuple[str, str]]:
    return [("", _("Tous")), *choices]


class WorklistSearch(forms.Form):
    ins = forms.CharField(label=_("INS"), required=False, max_length=21)
    family_name = forms.CharField(label=_("Nom de naissance"), required=False, max_length=100)
    birth_date = forms.DateField(
        label=_("Date de naissance"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    status = forms.ChoiceField(
        label=_("État"), required=False, choices=_blank(LiaisonSheet.Status.choices)
    )
    kind = forms.ChoiceField(
        label=_("Document"), required=False, choices=_blank(LiaisonSheet.Kind.choices)
    )
    urgency = forms.ChoiceField(
        label=_("Urgence"), required=False, choices=_blank(LiaisonSheet.Urgency.choices)
    )
    service = forms.ModelChoiceField(
        label=_("Service"),
        required=False,
        queryset=hospital_services(),
        to_field_name="code",
        empty_label=_("Tous"),
    )
    sent_from = forms.DateField(
        label=_("Envoyée depuis le"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    sent_to = forms.DateField(
        label=_("Envoyée jusqu'au"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    unread = forms.BooleanField(label=_("Non lues seulement"), required=False)

    def __init__(self, data: QueryDict, **kwargs: Any) -> None:
        self.unknown = sorted(set(data) - set(self.base_fields) - set(PAGE_PARAMETERS))
        self.tab = data.get("onglet", "a-traiter")
        filters = {key: value for key, value in data.items() if key in self.base_fields}
        super().__init__(filters or None, **kwargs)

    @property
    def is_searching(self) -> bool:
        return self.is_bound

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.unknown:
            # Not a field of the form: said in the summary, naming the parameter as typed.
            raise forms.ValidationError(
                _("Paramètre inconnu : %(names)s.") % {"names": ", ".join(self.unknown)}
            )
        if self.tab not in WORKLIST_TABS:
            raise forms.ValidationError(_("Onglet inconnu."))
        if data.get("family_name") and not data.get("birth_date"):
            self.add_error(
                "birth_date", _("La recherche par nom se fait avec la date de naissance.")
            )
        start, end = data.get("sent_from"), data.get("sent_to")
        if start and end and start > end:
            self.add_error("sent_to", _("La fin de la période précède son début."))
        return data

    def is_valid(self) -> bool:
        if not self.is_bound:  # no filter: only the tab and the page to check
            return not self.unknown and self.tab in WORKLIST_TABS
        return super().is_valid()

    def problems(self) -> list[str]:
        """Each error, prefixed with its field's French label."""
        if not self.is_bound:
            if self.unknown:
                return [
                    str(_("Paramètre inconnu : %(names)s.") % {"names": ", ".join(self.unknown)})
                ]
            return [str(_("Onglet inconnu."))]
        out = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else ""
            out += [
                str(_("%(label)s : %(value)s") % {"label": label, "value": error})
                if label
                else str(error)
                for error in errors
            ]
        return out

    def filters(self) -> dict[str, Any]:
        """The `sheet_list` keyword arguments of what was filled in."""
        if not self.is_bound:
            return {}
        return {
            key: value
            for key, value in self.cleaned_data.items()
            if value not in ("", None) and not (key == "unread" and value is False)
        }
