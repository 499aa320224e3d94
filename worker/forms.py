"""The preferences form of the web page: a channel per event type, by area, and quiet hours.

Each area (liaison, messaging, protocols, the application's events) has a choice and an
"appliquer à tout le groupe" button: that submit sets every event of the area to the chosen
channel, keeps the other areas as shown, and saves.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from worker.events import Channel
from worker.selectors import AreaPreferences, Preferences

GROUP_CHOICES = [("", _("— choisir —")), *Channel.choices]


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
        self.areas: list[AreaPreferences] = preferences.areas
        self.applied_area = ""
        for preference in preferences.events:
            # Not required: an event added since the page was shown keeps its channel.
            self.fields[self.field_name(preference.event.name)] = forms.ChoiceField(
                label=str(preference.event.description), choices=Channel.choices, required=False
            )
        for group in self.areas:
            self.fields[self.area_field_name(group.area.prefix)] = forms.ChoiceField(
                label=_("Pour tout le groupe « %(area)s »") % {"area": group.area.label},
                choices=GROUP_CHOICES,
                required=False,
            )
        if self.data:
            self.applied_area = str(self.data.get("apply_area", ""))

    @staticmethod
    def field_name(event: str) -> str:
        return f"event__{event}"

    @staticmethod
    def area_field_name(prefix: str) -> str:
        return f"area__{prefix}"

    def event_fields(self) -> list[forms.BoundField]:
        return [self[self.field_name(name)] for name in self.event_names]

    def groups(self) -> list[tuple[AreaPreferences, forms.BoundField, list[forms.BoundField]]]:
        """Each area with its group choice and the fields of its events (the page's order)."""
        return [
            (
                group,
                self[self.area_field_name(group.area.prefix)],
                [self[self.field_name(p.event.name)] for p in group.events],
            )
            for group in self.areas
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("quiet_hours_start"), data.get("quiet_hours_end")
        if (start is None) != (end is None):
            raise forms.ValidationError(
                _("Indiquez le début et la fin des heures calmes, ou aucun des deux.")
            )
        if start is not None and start == end:
            raise forms.ValidationError(_("Le début et la fin des heures calmes doivent différer."))
        if self.applied_area:
            prefixes = {group.area.prefix for group in self.areas}
            field = self.area_field_name(self.applied_area)
            if self.applied_area not in prefixes:
                raise forms.ValidationError(_("Groupe de notifications inconnu."))
            if not data.get(field):
                self.add_error(field, _("Choisissez le canal à appliquer à tout le groupe."))
        return data

    def to_service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        channels = {
            name: data.get(self.field_name(name)) or self.current[name] for name in self.event_names
        }
        for group in self.areas:
            if group.area.prefix == self.applied_area:
                chosen = data[self.area_field_name(group.area.prefix)]
                channels.update({p.event.name: chosen for p in group.events})
        return {
            "channels": channels,
            "quiet_hours_start": data["quiet_hours_start"],
            "quiet_hours_end": data["quiet_hours_end"],
        }
