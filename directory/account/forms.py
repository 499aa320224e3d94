"""Forms of the account pages and of the login."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

DEACTIVATED = "deactivated"


class LoginForm(AuthenticationForm):
    """Django's login form, which turns away a deactivated member once the password is right.

    Only after the password: a wrong one says nothing about the account's state.
    """

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        member = getattr(user, "member", None)
        if member is not None and not member.is_active:
            raise forms.ValidationError(_("Ce compte est désactivé."), code=DEACTIVATED)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Langue de l'interface"), choices=settings.LANGUAGES)
