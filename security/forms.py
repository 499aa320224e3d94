"""Forms of the two-factor pages: they read a code and ask security.two_factor about it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from security import two_factor

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


def _code_field(label: StrOrPromise) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "none",
                "spellcheck": "false",
                "autofocus": True,
            }
        ),
    )


class VerifyForm(forms.Form):
    """A TOTP code or a recovery code; `device` is the one that accepted it."""

    code = _code_field(_("Code de vérification"))

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.device: Device | None = None

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        self.device = two_factor.verify_code(self.user, code)
        if self.device is None:
            raise forms.ValidationError(
                _(
                    "Code incorrect ou déjà utilisé. Saisissez le code affiché maintenant par "
                    "votre application, ou un code de secours inutilisé."
                ),
                code="invalid_code",
            )
        return code


class EnrolForm(forms.Form):
    """The first code of the newly scanned app; `device` is the device it confirmed."""

    code = _code_field(_("Code à 6 chiffres affiché par l'application"))

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.device: Device | None = None

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        self.device = two_factor.confirm_enrolment(self.user, code)
        if self.device is None:
            raise forms.ValidationError(
                _(
                    "Ce code ne correspond pas. Vérifiez l'heure de votre téléphone et saisissez "
                    "le code affiché maintenant."
                ),
                code="invalid_code",
            )
        return code


class ApiTokenForm(forms.Form):
    """A personal API token to make on the account page."""

    name = forms.CharField(
        label=_("Nom du jeton"),
        max_length=100,
        help_text=_("Le poste ou le script qui l'utilisera, pour le reconnaître plus tard."),
    )
    bind_to_session = forms.BooleanField(
        label=_("Révoquer ce jeton quand je me déconnecte de ce navigateur"),
        required=False,
        initial=True,
    )


class ReauthenticateForm(forms.Form):
    """The password again, and the app's current code when the account has one."""

    password = forms.CharField(
        label=_("Mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    code = forms.CharField(label=_("Code de vérification"), max_length=32, required=False)

    def __init__(self, user: Any, *args: Any, needs_code: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        if needs_code:
            self.fields["code"].required = True
        else:
            del self.fields["code"]

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(_("Mot de passe incorrect."), code="invalid_password")
        return password

    def clean_code(self) -> str:
        code: str = self.cleaned_data.get("code", "")
        if two_factor.verify_code(self.user, code, recovery_codes=False) is None:
            raise forms.ValidationError(
                _("Code incorrect ou déjà utilisé : saisissez le code affiché maintenant."),
                code="invalid_code",
            )
        return code
