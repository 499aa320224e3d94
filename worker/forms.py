"""The preferences form of the web page: a channel per event type, and quiet hours."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from worker.events import Channel
from worker.selectors import Preferences


class PreferencesForm(forms.Form):
    quiet_hours_start = forms.TimeField(
        label=_("Début des heures calmes"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    quiet_hours_end = forms.TimeField(
        label=_("Fin des heures calmes"),
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    def __init__(self, *args: Any, preferences: Preferences, **kwargs: Any) -> None:
        kwargs.setdefault(
            "initial",
            {
                "quiet_hours_start": preferences.quiet_hours_start,
                "quiet_hours_end": preferences.quiet_hours_end,
                **{self.field_name(p.event.name): p.channel for p in preferences.events},
            },
        )
        super().__init__(*args, **kwargs)
        self.current = {p.event.name: p.channel for p in preferences.events}
        self.event_names = list(self.current)
        for preference in preferences.events:
            # Not required: an event added since the page was shown keeps its channel.
            self.fields[self.field_name(preference.event.name)] = forms.ChoiceField(
                label=str(preference.event.description), choices=Channel.choices, required=False
            )

    @staticmethod
    def field_name(event: str) -> str:
        return f"event__{event}"

    def event_fields(self) -> list[forms.BoundField]:
        return [self[self.field_name(name)] for name in self.event_names]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise forms.ValidationError(
                _("Indiquez le début et la fin des heures calmes, ou aucun des deux.")
            )
        if start is not None and start == end:
            raise forms.ValidationError(_("Le début et la fin des heures calmes doivent différer."))
        return data

    def to_service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "channels": {
                name: data.get(self.field_name(name)) or self.current[name]
                for name in self.event_names
            },
            "quiet_hours_start": data["quiet_hours_start"],
            "quiet_hours_end": data["quiet_hours_end"],
        }
