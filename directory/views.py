"""French web pages of the directory: thin, on the same selectors as the API."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from directory import forms, importer, selectors, services
from directory.filters import MemberFilter, OrganisationFilter
from directory.models import Member, Membership, Organisation
from directory.permissions import member_page
from security.exceptions import DomainError, FieldErrors, InvalidTransition, NotFound


@member_page
def directory_search(request: HttpRequest, member: Member) -> HttpResponse:
    """One page to find a colleague or a structure: the query searches both."""
    query = request.GET.get("q", "").strip()
    profession = request.GET.get("profession", "")
    kind = request.GET.get("kind", "")
    # Profession and structure type narrow the professionals together (the nurses of an
    # MSP); the query finds them by their names or their structure's name, accents aside.
    members = MemberFilter(
        {"search": query, "profession": profession, "organisation_kind": kind},
        queryset=selectors.members_visible_to(member),
    ).qs
    organisations = OrganisationFilter(
        {"search": query, "kind": kind}, queryset=selectors.organisations_visible_to(member)
    ).qs
    if profession:
        organisations = organisations.none()
    page = Paginator(members, 25).get_page(request.GET.get("page"))
    coordinator = selectors.is_coordinator(member)
    return render(
        request,
        "directory/search.html",
        {
            "coordinator": coordinator,
            "deactivated": selectors.deactivated_members(member) if coordinator else [],
            "query": query,
            "profession": profession,
            "kind": kind,
            "professions": Member.Profession.choices,
            "kinds": Organisation.Kind.choices,
            "members_page": page,
            "organisations": organisations[:50],
        },
    )


@member_page
def organisation_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    organisation = selectors.access_organisation(member, code)
    members = selectors.members_of(member, organisation)
    services = selectors.services_of(member, organisation)
    return render(
        request,
        "directory/organisation_detail.html",
        {"organisation": organisation, "members": members, "services": services},
    )


def _shown(member: Member, code: UUID) -> Member:
    """The coordination sees deactivated members (to reactivate them); others get 404."""
    if selectors.is_coordinator(member):
        return selectors.access_member_to_keep(member, code)
    return selectors.access_member(member, code)


@member_page
def member_detail(request: HttpRequest, member: Member, code: UUID) -> HttpResponse:
    shown = _shown(member, code)
    return render(
        request,
        "directory/member_detail.html",
        {
            "shown": shown,
            "coordinator": selectors.is_coordinator(member),
            "profession_mismatch": selectors.profession_mismatch_of(shown)
            if selectors.is_coordinator(member)
            else None,
        },
    )


def _field_errors(error: ValidationError | DomainError) -> dict[str, list[str]]:
    if isinstance(error, FieldErrors):
        return error.fields
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return {
            name: [str(message) for error in errors for message in error.messages]
            for name, errors in error.error_dict.items()
        }
    messages_ = error.messages if isinstance(error, ValidationError) else [error.readable()]
    return {"general": [str(m) for m in messages_]}


def _member_form(
    request: HttpRequest,
    *,
    values: dict[str, Any],
    errors: dict[str, list[str]],
    shown: Member | None = None,
    status: int = 200,
    membership_values: dict[str, str] | None = None,
    membership_errors: dict[str, list[str]] | None = None,
) -> HttpResponse:
    if errors or membership_errors:
        messages.error(request, _("Certains champs sont à compléter ou à corriger."))
    organisations = list(selectors.organisations_visible_to(None))
    context: dict[str, Any] = {
        "shown": shown,
        "values": values,
        "errors": errors,
        "professions": Member.Profession.choices,
        "civilities": Member.Civility.choices,
        "roles": Membership.Role.choices,
        "organisations": organisations,
    }
    if shown is not None:
        # The structures and roles: each changed on its own (role, end), one more added.
        memberships = list(selectors.memberships_of(shown))
        held = {membership.organisation_id for membership in memberships}
        context |= {
            "memberships": memberships,
            "addable": [o for o in organisations if o.pk not in held],
            "membership_values": membership_values or {"role": Membership.Role.MEMBER},
            "membership_errors": membership_errors or {},
        }
    return render(request, "directory/member_form.html", context, status=status)


@member_page
def member_create(request: HttpRequest, member: Member) -> HttpResponseBase:
    """The coordinator adds a member: login, RPPS checked, structure, profession and role.

    The form carries a key drawn when it was shown: a double click or a resent form finds
    the member the first submission added (directory.services.create_member).
    """
    if not selectors.is_coordinator(member):
        raise Http404
    if request.method != "POST":
        values = {"key": uuid4().hex, "role": Membership.Role.MEMBER}
        return _member_form(request, values=values, errors={})
    values = {name: request.POST.get(name, "") for name in (*forms.CREATE_FIELDS, "key")}
    kwargs, errors = forms.parse_new_member(request.POST)
    if not errors:
        try:
            created = services.create_member(
                actor=member, creation_key=request.POST.get("key", "")[:64], **kwargs
            )
        except (ValidationError, DomainError) as error:
            errors = _field_errors(error)
        else:
            messages.success(
                request, _("%(name)s a été ajouté à l'annuaire.") % {"name": created.display_name}
            )
            return redirect("member-detail", code=created.code)
    return _member_form(request, values=values, errors=errors, status=400)


@member_page
def member_edit(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    """The coordinator corrects a member's profile; their structures and roles are changed
    by the forms of the same page (member_memberships, membership_role, membership_end)."""
    if not selectors.is_coordinator(member):
        raise Http404
    shown = selectors.access_member_to_keep(member, code)
    if request.method != "POST":
        return _member_form(request, values=forms.values_of(shown), errors={}, shown=shown)
    values = {name: request.POST.get(name, "") for name in forms.PROFILE_FIELDS}
    changes, errors = forms.parse_member_changes(request.POST)
    if not errors:
        try:
            services.update_member(actor=member, member=shown, **changes)
        except (ValidationError, DomainError) as error:
            errors = _field_errors(error)
        else:
            messages.success(request, _("Fiche enregistrée."))
            return redirect("member-detail", code=shown.code)
    shown = selectors.access_member_to_keep(member, code)  # the failed edit left it dirty
    return _member_form(request, values=values, errors=errors, shown=shown, status=400)


def _coordinator_keeping(member: Member, code: UUID) -> Member:
    if not selectors.is_coordinator(member):
        raise Http404
    return selectors.access_member_to_keep(member, code)


@member_page
def member_memberships(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    """Attach the member to one more structure, with a role (directory.services rules)."""
    shown = _coordinator_keeping(member, code)
    if request.method != "POST":
        raise Http404
    values = {name: request.POST.get(name, "") for name in ("organisation", "role")}
    errors: dict[str, list[str]] = {}
    organisation = None
    if not values["organisation"]:
        errors["organisation"] = [_("Choisissez une structure.")]
    else:
        try:
            organisation = selectors.access_organisation(member, values["organisation"])
        except NotFound:
            errors["organisation"] = [_("Structure introuvable.")]
    if organisation is not None:
        try:
            services.add_membership(
                actor=member, member=shown, organisation=organisation, role=values["role"]
            )
        except FieldErrors as error:
            errors = error.fields
        else:
            messages.success(
                request,
                _("%(name)s est rattaché à %(organisation)s.")
                % {"name": shown.display_name, "organisation": organisation.name},
            )
            return redirect("member-edit", code=shown.code)
    return _member_form(
        request,
        values=forms.values_of(shown),
        errors={},
        shown=shown,
        status=400,
        membership_values=values,
        membership_errors=errors,
    )


@member_page
def membership_role(
    request: HttpRequest, member: Member, code: UUID, organisation_code: UUID
) -> HttpResponseBase:
    """Change the member's role in one of their structures."""
    shown = _coordinator_keeping(member, code)
    if request.method != "POST":
        raise Http404
    membership = selectors.access_membership(shown, organisation_code)
    try:
        services.change_membership_role(
            actor=member, membership=membership, role=request.POST.get("role", "")
        )
    except DomainError as error:
        messages.error(request, error.readable())
    else:
        messages.success(
            request,
            _("Rôle dans %(organisation)s : %(role)s.")
            % {
                "organisation": membership.organisation.name,
                "role": membership.get_role_display(),
            },
        )
    return redirect("member-edit", code=shown.code)


@member_page
def membership_end(
    request: HttpRequest, member: Member, code: UUID, organisation_code: UUID
) -> HttpResponseBase:
    """Detach the member from a structure, once confirmed (templates/confirm.html)."""
    shown = _coordinator_keeping(member, code)
    membership = selectors.access_membership(shown, organisation_code)
    back = reverse("member-edit", kwargs={"code": shown.code})
    if request.method != "POST":
        confirm = {
            "title": _("Retirer %(name)s de %(organisation)s ?")
            % {"name": shown.display_name, "organisation": membership.organisation.name},
            "text": _(
                "Ce professionnel n'apparaîtra plus parmi les membres de cette structure et "
                "ne lira plus sa boîte partagée. Ses fiches et messages restent dans "
                "l'historique. Vous pourrez l'y rattacher de nouveau."
            ),
            "button": _("Oui, retirer de cette structure"),
            "url": reverse(
                "membership-end",
                kwargs={"code": shown.code, "organisation_code": membership.organisation.code},
            ),
            "back": back,
            "fields": [],
        }
        return render(request, "confirm.html", {"confirm": confirm})
    try:
        services.end_membership(actor=member, membership=membership)
    except DomainError as error:
        messages.error(request, error.readable())
    else:
        messages.success(
            request,
            _("%(name)s n'est plus rattaché à %(organisation)s.")
            % {"name": shown.display_name, "organisation": membership.organisation.name},
        )
    return redirect(back)


@member_page
def member_deactivate(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    """A page that asks first, then closes the member's access (coordination only)."""
    if not selectors.is_coordinator(member):
        raise Http404
    shown = selectors.access_member_to_keep(member, code)
    if request.method != "POST":
        return render(request, "directory/member_deactivate.html", {"shown": shown})
    try:
        services.deactivate_member(actor=member, member=shown)
    except InvalidTransition as error:
        messages.error(request, error.readable())
        return render(request, "directory/member_deactivate.html", {"shown": shown}, status=409)
    messages.success(
        request,
        _("%(name)s est désactivé : il ne peut plus se connecter.") % {"name": shown.display_name},
    )
    return redirect("member-detail", code=shown.code)


@member_page
def member_reactivate(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    """Give a deactivated member their access back (POST only, coordination only)."""
    if not selectors.is_coordinator(member) or request.method != "POST":
        raise Http404
    shown = selectors.access_member_to_keep(member, code)
    try:
        services.reactivate_member(actor=member, member=shown)
    except InvalidTransition as error:
        messages.error(request, error.readable())
    else:
        messages.success(
            request, _("%(name)s peut de nouveau se connecter.") % {"name": shown.display_name}
        )
    return redirect("member-detail", code=shown.code)


@member_page
def member_login_methods(request: HttpRequest, member: Member, code: UUID) -> HttpResponseBase:
    """Allow or refuse the member's password login (POST only, coordination only)."""
    if not selectors.is_coordinator(member) or request.method != "POST":
        raise Http404
    shown = selectors.access_member_to_keep(member, code)
    allowed = request.POST.get("password_login_allowed") == "1"
    services.set_password_login_allowed(actor=member, member=shown, allowed=allowed)
    if allowed:
        messages.success(request, _("La connexion par mot de passe est autorisée."))
    else:
        messages.success(request, _("Ce membre se connectera avec Pro Santé Connect seulement."))
    return redirect("member-detail", code=shown.code)


@member_page
def import_directory(request: HttpRequest, member: Member) -> HttpResponse:
    """The coordinator's CSV import: a dry run first, then the import."""
    if not selectors.is_coordinator(member):
        raise Http404
    report = None
    status = 200
    existing = request.POST.get("existing", importer.Existing.SKIP)
    if request.method == "POST":
        upload = request.FILES.get("file")
        dry_run = request.POST.get("dry_run") == "on"
        if upload is None:
            messages.error(request, _("Choisissez un fichier CSV."))
            status = 400
        elif not dry_run and request.POST.get("confirm") != "on":
            # A bulk import changes the whole CPTS's directory: said out loud first.
            messages.error(
                request,
                _(
                    "Cochez « Je confirme l'import » pour importer pour de bon, "
                    "ou gardez la simulation."
                ),
            )
            status = 400
        else:
            try:
                report = importer.import_directory(
                    actor=member,
                    fileobj=upload,
                    dry_run=dry_run,
                    skip_invalid=request.POST.get("skip_invalid") == "on",
                    existing=existing,
                )
            except DomainError as error:
                messages.error(request, error.readable())
                status = 400
    return render(
        request,
        "directory/import.html",
        {
            "report": report,
            "columns": importer.column_labels(),
            "existing": existing,
            "existing_choices": importer.Existing.choices,
        },
        status=status,
    )


@member_page
def import_template(request: HttpRequest, member: Member) -> HttpResponse:
    """The model file of the import, with French headers and an example of each row type."""
    if not selectors.is_coordinator(member):
        raise Http404
    response = HttpResponse(
        "\ufeff" + importer.template_csv(), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="modele-annuaire.csv"'
    return response
