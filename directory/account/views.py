"""The member's account page ("Mon compte"), the login, and the forgotten-password pages.

Thin: security decides what a password change ends (security.passwords) and owns the second
factor and the tokens; directory.account.services stores the account's choices. The pages of
the second factor, the notification preferences and the API tokens stay where they are;
this page gathers them.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from directory import selectors
from directory.account import services
from directory.account.forms import DEACTIVATED, PSC_ONLY, LanguageForm, LoginForm
from directory.models import Member
from directory.permissions import member_page
from security import actions, passwords, two_factor
from security.client_address import client_address


def _with_language(response: HttpResponse, language: str) -> HttpResponse:
    """The answer, carrying the language LocaleMiddleware applies to the next pages."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _account_page(
    request: HttpRequest, member: Member, *, password_form: PasswordChangeForm, status: int = 200
) -> HttpResponse:
    user = request.user
    enrolled = two_factor.has_confirmed_device(user)
    context = {
        "member": member,
        "password_form": password_form,
        "language_form": LanguageForm(initial={"language": getattr(user, "language", "fr")}),
        "two_factor_enrolled": enrolled,
        "two_factor_required": two_factor.two_factor_required_for(user),
        "recovery_codes_left": two_factor.recovery_codes_left(user) if enrolled else 0,
    }
    return render(request, "account/account.html", context, status=status)


@never_cache
@member_page
def account(request: HttpRequest, member: Member) -> HttpResponse:
    """Everything the member manages themselves, on one page."""
    return _account_page(request, member, password_form=PasswordChangeForm(request.user))


@never_cache
@member_page
@require_POST
def change_password(request: HttpRequest, member: Member) -> HttpResponse:
    """A new password, with the current one: ends the other sessions and every API token."""
    form = PasswordChangeForm(request.user, data=request.POST)
    if not form.is_valid():
        return _account_page(request, member, password_form=form, status=400)
    services.change_password(user=request.user, password=form.cleaned_data["new_password1"])  # type: ignore[arg-type]
    # This session stays open; the others were opened with the old password and end.
    update_session_auth_hash(request, request.user)  # type: ignore[arg-type]
    messages.success(
        request,
        gettext(
            "Mot de passe changé. Vos autres sessions sont fermées et vos jetons d'API révoqués."
        ),
    )
    return redirect("account")


@member_page
@require_POST
def change_language(request: HttpRequest, member: Member) -> HttpResponse:
    form = LanguageForm(data=request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Choisissez une langue de la liste."))
        return redirect("account")
    language = form.cleaned_data["language"]
    services.set_language(user=request.user, language=language)  # type: ignore[arg-type]
    translation.activate(language)
    messages.success(request, gettext("Langue enregistrée."))
    return _with_language(redirect("account"), language)


def deactivated_page(request: HttpRequest) -> HttpResponse:
    """A deactivated member is told so, and whom to ask: not a 404 on every page."""
    context = {"coordinators": selectors.coordinators()}
    return render(request, "account/deactivated.html", context, status=403)


class LoginView(auth_views.LoginView):
    """Django's login, telling a deactivated member why, and applying the chosen language."""

    template_name = "registration/login.html"
    authentication_form = LoginForm

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        from directory.psc.client import is_configured  # noqa: PLC0415

        context = super().get_context_data(**kwargs)
        context["psc_enabled"] = is_configured()
        context["password_for_everyone"] = "password" in settings.AUTH_METHODS
        return context

    def form_invalid(self, form: Any) -> HttpResponse:
        if form.has_error("__all__", DEACTIVATED):
            return deactivated_page(self.request)
        if form.has_error("__all__", PSC_ONLY):
            return self.render_to_response(self.get_context_data(form=form, psc_only=True))
        return super().form_invalid(form)

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        language = getattr(form.get_user(), "language", "")
        if language:
            _with_language(response, language)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    """ "Mot de passe oublié": the same answer whether the address is known or not."""

    template_name = "account/password_reset_form.html"
    email_template_name = "account/password_reset_email.txt"
    subject_template_name = "account/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")

    def form_valid(self, form: Any) -> HttpResponse:
        if not passwords.may_send_reset(
            address=client_address(self.request), email=form.cleaned_data["email"]
        ):
            return redirect(self.success_url)  # the same answer, and no e-mail
        return super().form_valid(form)

    @property
    def extra_email_context(self) -> dict[str, Any]:
        return {
            "site_url": settings.SITE_URL,
            "valid_hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
        }


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "account/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The link's page: a new password, which ends every session and token of the account."""

    template_name = "account/password_reset_confirm.html"
    success_url = reverse_lazy("password-reset-complete")

    @transaction.atomic
    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        passwords.password_changed(user=form.user, action=actions.PASSWORD_RESET)
        return response


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "account/password_reset_complete.html"
