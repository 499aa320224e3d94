"""When a notification happened, as a person says it: "à l'instant", "il y a 5 minutes"."""

from __future__ import annotations

from datetime import datetime, timedelta

from django import template
from django.utils.timesince import timesince
from django.utils.timezone import now
from django.utils.translation import gettext as _

register = template.Library()

JUST_NOW = timedelta(minutes=1)


@register.filter
def since(moment: datetime | None) -> str:
    """ "à l'instant" under a minute (Django's timesince says "0 minute"), else "il y a …"."""
    if moment is None:
        return ""
    if now() - moment < JUST_NOW:
        return _("à l'instant")
    return _("il y a %(duration)s") % {"duration": timesince(moment, depth=1)}
