"""Forms of the account pages and of the login."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

DEACTIVATED = "deactivated"
PSC_ONLY = "psc_only"


def password_login_allowed(member: Any) -> bool:
    """Whether this member may log in with a password (+ TOTP) rather than Pro Santé Connect.

    Always, while the site offers no PSC, and for members without an RPPS (secretaries,
    social workers: PSC cannot identify them). Otherwise unless "password" is left out of
    AUTH_METHODS, or the coordinator unticked it for this member.
    """
    from directory.psc.client import is_configured  # noqa: PLC0415  (it imports the models)

    if member is None or not member.rpps or not is_configured():
        return True
    return "password" in settings.AUTH_METHODS and bool(member.password_login_allowed)


class LoginForm(AuthenticationForm):
    """Django's login form, which turns away a deactivated member once the password is right.

    Only after the password: a wrong one says nothing about the account's state.
    """

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        member = getattr(user, "member", None)
        if member is not None and not member.is_active:
            raise forms.ValidationError(_("Ce compte est désactivé."), code=DEACTIVATED)
        if not password_login_allowed(member):
            raise forms.ValidationError(
                _("Ce compte se connecte avec Pro Santé Connect (e-CPS ou carte CPS)."),
                code=PSC_ONLY,
            )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Langue de l'interface"), choices=settings.LANGUAGES)
